import { describe, expect, it } from 'vitest';
import { ecsField, elasticKibanaFormat } from './elastic-kibana.js';
import { describeSourceFormatContract } from './source-format.contract.js';
import { normalizePayload, normalizePayloads } from './source-registry.js';

/*
 * Payloads written from Elastic's public documentation: the Elastic Security
 * alert schema ("Alert schema": kibana.alert.uuid, kibana.alert.rule.name,
 * kibana.alert.severity, kibana.alert.risk_score, kibana.alert.reason,
 * kibana.alert.rule.threat with the ECS threat.* shape, kibana.alert.start,
 * kibana.alert.original_time), ECS source.ip / user.name / host.name, and the
 * Kibana rule action variables ("Rule action variables": context.alerts).
 * Alert documents are indexed with flattened dotted keys; Kibana's mustache
 * also sees them nested. Values are made up.
 */

const flattenedAlert = {
  '@timestamp': '2026-11-26T10:05:00.000Z',
  'kibana.alert.uuid': '5b6c2e9d0f1a4e3b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b',
  'kibana.alert.start': '2026-11-26T10:04:58.120Z',
  'kibana.alert.original_time': '2026-11-26T10:04:31.000Z',
  'kibana.alert.rule.name': 'LLM gateway: repeated prompt injection markers',
  'kibana.alert.rule.uuid': 'a1e2c3d4-5f60-4718-293a-4b5c6d7e8f90',
  'kibana.alert.rule.description': 'Prompts carrying known injection strings.',
  'kibana.alert.severity': 'high',
  'kibana.alert.risk_score': 73,
  'kibana.alert.reason':
    'event with source 203.0.113.45 by svc-chat on llm-gw-01 created high alert',
  'kibana.alert.workflow_status': 'open',
  'kibana.alert.rule.threat': [
    {
      framework: 'MITRE ATLAS',
      tactic: {
        id: 'AML.TA0005',
        name: 'Execution',
        reference: 'https://atlas.mitre.org/tactics/AML.TA0005',
      },
      technique: [
        {
          id: 'AML.T0051',
          name: 'LLM Prompt Injection',
          reference: 'https://atlas.mitre.org/techniques/AML.T0051',
          subtechnique: [
            {
              id: 'AML.T0051.000',
              name: 'Direct',
              reference: 'https://atlas.mitre.org/techniques/AML.T0051.000',
            },
          ],
        },
      ],
    },
    {
      framework: 'MITRE ATT&CK',
      tactic: {
        id: 'TA0001',
        name: 'Initial Access',
        reference: 'https://attack.mitre.org/tactics/TA0001',
      },
      technique: [
        {
          id: 'T1190',
          name: 'Exploit Public-Facing Application',
          reference: 'https://attack.mitre.org/techniques/T1190',
        },
      ],
    },
  ],
  'source.ip': '203.0.113.45',
  'user.name': 'svc-chat',
  'host.name': 'llm-gw-01',
};

/** The same fields nested, as an action template built from objects renders them. */
const nestedAlert = {
  '@timestamp': '2026-11-26T11:00:00.000Z',
  kibana: {
    alert: {
      uuid: 'c0ffee00-0000-4000-8000-000000000001',
      rule: { name: 'Model registry artifact checksum mismatch', threat: [] },
      risk_score: 90,
    },
  },
  source: { ip: ['198.51.100.7', 'not-an-ip'] },
  user: { name: 'ml-deployer' },
};

const contextBody = {
  rule: { id: 'a1e2c3d4', name: 'LLM gateway rules' },
  date: '2026-11-26T10:05:01.000Z',
  context: { alerts: [flattenedAlert, nestedAlert] },
};

/** The shared template's shape: `alerts` beside `rule`. */
const templateBody = {
  rule: {
    id: 'a1e2c3d4',
    name: 'LLM gateway rules',
    url: 'https://kibana.example.com/app/x',
    tags: 'ai',
    spaceId: 'default',
  },
  date: '2026-11-26T10:05:01.000Z',
  kibanaBaseUrl: 'https://kibana.example.com',
  alerts_count: '1',
  alerts: [
    { 'kibana.alert.rule.name': 'Unusual inference volume', 'kibana.alert.severity': 'low' },
  ],
};

describeSourceFormatContract(elasticKibanaFormat, {
  valid: [flattenedAlert, nestedAlert, contextBody, templateBody],
  invalid: [
    { 'kibana.alert.uuid': 'x-1' },
    { 'kibana.alert.uuid': 'x-1', 'kibana.alert.rule.name': '  ' },
    contextBody,
  ],
  empty: [],
});

describe('ecsField', () => {
  it('reads a dotted field flattened, nested or mixed at any level', () => {
    const path = 'kibana.alert.rule.name';
    expect(ecsField({ [path]: 'flat' }, path)).toBe('flat');
    expect(ecsField({ kibana: { alert: { rule: { name: 'nested' } } } }, path)).toBe('nested');
    expect(ecsField({ kibana: { 'alert.rule.name': 'mixed' } }, path)).toBe('mixed');
    expect(ecsField({ 'kibana.alert': { 'rule.name': 'mixed' } }, path)).toBe('mixed');
    expect(ecsField({ 'kibana.alert.rule': { name: 'mixed' } }, path)).toBe('mixed');
  });

  it('prefers the longest head, falls back to a shorter one, and misses cleanly', () => {
    const path = 'kibana.alert.uuid';
    expect(
      ecsField({ 'kibana.alert': { uuid: 'long' }, kibana: { alert: { uuid: 'short' } } }, path),
    ).toBe('long');
    expect(
      ecsField({ 'kibana.alert': { other: 1 }, kibana: { alert: { uuid: 'short' } } }, path),
    ).toBe('short');
    expect(ecsField({ kibana: { alert: {} } }, path)).toBeUndefined();
    expect(ecsField('kibana', path)).toBeUndefined();
    expect(ecsField({ kibana: 'alert.uuid' }, path)).toBeUndefined();
  });
});

describe('Kibana rule action bodies', () => {
  it('reads a flattened alert document', () => {
    const draft = normalizePayload(flattenedAlert, undefined, { model: 'support-bot' });
    expect(draft).toMatchObject({
      source: {
        format: 'elastic',
        product: 'Kibana',
        vendor: 'Elastic',
        uid: flattenedAlert['kibana.alert.uuid'],
      },
      type: 'prompt_injection',
      title: 'LLM gateway: repeated prompt injection markers',
      severityId: 4,
      // ATLAS ids only; T1190 is ATT&CK.
      atlasTechniques: ['AML.T0051', 'AML.T0051.000'],
      firstSeen: '2026-11-26T10:04:31.000Z',
      lastSeen: '2026-11-26T10:05:00.000Z',
      dedupKey: `elastic:${flattenedAlert['kibana.alert.uuid']}`,
      observables: { ips: ['203.0.113.45'], users: ['svc-chat'], model: { id: 'support-bot' } },
    });
    expect(draft.description).toContain('Host: llm-gw-01.');
    expect(draft.description).toContain('Risk score 73.');
  });

  it('reads a nested alert document; severity from the risk score when no label', () => {
    expect(normalizePayload(nestedAlert)).toMatchObject({
      type: 'model_integrity',
      severityId: 5, // risk 90: Critical (74-100)
      observables: { ips: ['198.51.100.7'], users: ['ml-deployer'] },
    });
  });

  it('expands context.alerts and the template body into one draft per alert', () => {
    const drafts = normalizePayloads(contextBody);
    expect(drafts.map((d) => d.title)).toEqual([
      'LLM gateway: repeated prompt injection markers',
      'Model registry artifact checksum mismatch',
    ]);
    expect(drafts[1]?.raw).toBe(nestedAlert);
    expect(normalizePayloads(templateBody)).toMatchObject([
      { type: 'inference_spike', severityId: 2 },
    ]);
    expect(() => normalizePayload(contextBody)).toThrow(/holds 2 alerts/);
  });

  it('expands an empty context.alerts into none, when named', () => {
    const empty = { context: { alerts: [] } };
    expect(elasticKibanaFormat.detect(empty)).toBe(false);
    expect(normalizePayloads(empty, 'elastic')).toEqual([]);
  });
});
