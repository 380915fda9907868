import { afterEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import { ocsfDetectionFindingFormat } from './ocsf-detection-finding.js';
import { describeSourceFormatContract } from './source-format.contract.js';

/** A jailbreak finding written from the OCSF 1.x Detection Finding schema. */
const jailbreakFinding = {
  class_uid: 2004,
  class_name: 'Detection Finding',
  category_uid: 2,
  activity_id: 1,
  type_uid: 200401,
  severity_id: 5,
  severity: 'Critical',
  confidence_score: 88,
  time: 1795687260000,
  start_time: 1795687000000,
  end_time: 1795687100000,
  count: 3,
  message: 'Jailbreak attempt blocked on assistant-v2',
  metadata: {
    version: '1.3.0',
    uid: 'evt-5521',
    product: { name: 'Example Guardrail', vendor_name: 'Example AI Security' },
  },
  finding_info: {
    uid: 'gr-2026-11-26-0042',
    title: 'Role-play jailbreak against system prompt',
    desc: 'The user asked the model to ignore its instructions while acting as another persona.',
    types: ['LLM Jailbreak'],
    first_seen_time: 1795687200000,
    last_seen_time: 1795687230000,
    analytic: { name: 'PersonaOverride', type_id: 1, type: 'Rule' },
    attacks: [
      { technique: { uid: 'T1059', name: 'Command and Scripting Interpreter' } },
      {
        tactic: { uid: 'AML.TA0012', name: 'Privilege Escalation' },
        technique: { uid: 'AML.T0054', name: 'LLM Jailbreak' },
      },
    ],
  },
  src_endpoint: { ip: '198.51.100.23' },
  actor: { user: { name: 'mallory', uid: 'u-7731' }, session: { uid: 'sess-88' } },
  observables: [
    { name: 'src_endpoint.ip', type_id: 2, value: '198.51.100.23' },
    { name: 'client.ip', type_id: 2, value: '2001:db8::23' },
    { name: 'actor.user.name', type_id: 4, value: 'mallory' },
    { name: 'referrer', type_id: 6, value: 'https://chat.example.com/c/42' },
    { name: 'device.hostname', type_id: 1, value: 'edge-7' },
  ],
  evidences: [
    {
      url: { url_string: 'https://docs.example.com/persona.txt' },
      data: { tool: { name: 'fetch_url', arguments: { url: 'https://docs.example.com' } } },
    },
    { data: { tool: 'code_interpreter' } },
  ],
  resources: [
    { uid: 'ds-chat-logs', name: 'chat logs', type: 'Training Dataset' },
    { uid: 'assistant-v2', name: 'Assistant', type: 'LLM Model', version: '2.1' },
    { uid: 'assistant-v1', type: 'LLM Model' },
  ],
};

/** The least OCSF Warden accepts: the class, a severity and a message. */
const messageOnlyFinding = {
  class_uid: 2004,
  severity_id: 99,
  time: 1795687200,
  message: 'Toxicity policy violation in model output',
};

function finding(fields: Record<string, unknown>): Record<string, unknown> {
  return { class_uid: 2004, severity_id: 3, time: 1795687200000, ...fields };
}

function withTechniques(...uids: string[]): Record<string, unknown> {
  return finding({
    finding_info: {
      title: 'Finding',
      attacks: uids.map((uid) => ({ technique: { uid } })),
    },
  });
}

function errorOf(payload: unknown): WardenError {
  try {
    ocsfDetectionFindingFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a non-object payload', 2004, 'invalid_field', '(root)'],
  ['no class_uid', { severity_id: 3, message: 'x' }, 'missing_field', 'class_uid'],
  ['another OCSF class', finding({ class_uid: 2001, message: 'x' }), 'invalid_field', 'class_uid'],
  ['no severity_id', { class_uid: 2004, message: 'x' }, 'missing_field', 'severity_id'],
  ['severity_id 7', finding({ severity_id: 7, message: 'x' }), 'invalid_field', 'severity_id'],
  [
    'severity_id as text',
    finding({ severity_id: '4', message: 'x' }),
    'invalid_field',
    'severity_id',
  ],
  [
    'neither title nor message',
    finding({ finding_info: {} }),
    'missing_field',
    'finding_info.title',
  ],
  ['a blank message only', finding({ message: ' ' }), 'missing_field', 'finding_info.title'],
];

describeSourceFormatContract(ocsfDetectionFindingFormat, {
  // The third sample carries a Warden type too: native must still leave it to OCSF.
  valid: [jailbreakFinding, messageOnlyFinding, { ...messageOnlyFinding, type: 'jailbreak' }],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('ocsfDetectionFindingFormat.detect', () => {
  it('claims Detection Findings only', () => {
    expect(ocsfDetectionFindingFormat.detect({ class_uid: 2004 })).toBe(true);
    expect(ocsfDetectionFindingFormat.detect({ class_uid: 2001 })).toBe(false);
    expect(ocsfDetectionFindingFormat.detect({ class_uid: '2004' })).toBe(false);
    expect(ocsfDetectionFindingFormat.detect({ type: 'jailbreak' })).toBe(false);
  });
});

describe('ocsfDetectionFindingFormat.normalize', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('maps a full finding', () => {
    expect(ocsfDetectionFindingFormat.normalize(jailbreakFinding)).toEqual({
      source: {
        format: 'ocsf',
        product: 'Example Guardrail',
        vendor: 'Example AI Security',
        uid: 'gr-2026-11-26-0042',
      },
      type: 'jailbreak',
      title: 'Role-play jailbreak against system prompt',
      description:
        'The user asked the model to ignore its instructions while acting as another persona.',
      severityId: 5,
      confidence: 88,
      firstSeen: '2026-11-26T10:00:00.000Z',
      lastSeen: '2026-11-26T10:00:30.000Z',
      count: 3,
      atlasTechniques: ['AML.T0054'],
      observables: {
        ips: ['198.51.100.23', '2001:db8::23'],
        cidrs: [],
        users: ['mallory'],
        apiKeyIds: [],
        sessionIds: ['sess-88'],
        urls: ['https://chat.example.com/c/42', 'https://docs.example.com/persona.txt'],
        model: { id: 'assistant-v2', version: '2.1' },
        dataset: { id: 'ds-chat-logs' },
        toolCalls: [
          { name: 'fetch_url', arguments: { url: 'https://docs.example.com' } },
          { name: 'code_interpreter' },
        ],
      },
      raw: jailbreakFinding,
    });
  });

  it('falls back to message, severity Other → Unknown, epoch seconds, type defaults', () => {
    const draft = ocsfDetectionFindingFormat.normalize(messageOnlyFinding);
    expect(draft).toMatchObject({
      source: { format: 'ocsf', product: 'unknown', vendor: 'unknown' },
      type: 'output_policy_violation',
      title: 'Toxicity policy violation in model output',
      description: 'Toxicity policy violation in model output',
      severityId: 0,
      firstSeen: '2026-11-26T10:00:00.000Z',
      lastSeen: '2026-11-26T10:00:00.000Z',
      count: 1,
      atlasTechniques: ['AML.T0048'],
    });
    expect(draft.source.uid).toBeUndefined();
    expect(draft.confidence).toBeUndefined();
  });

  it('uses metadata.uid when the finding has no uid of its own', () => {
    const draft = ocsfDetectionFindingFormat.normalize(
      finding({ message: 'x', metadata: { uid: 'evt-1' } }),
    );
    expect(draft.source.uid).toBe('evt-1');
  });

  it('uses start_time/end_time when finding_info has no first/last seen times', () => {
    const draft = ocsfDetectionFindingFormat.normalize(
      finding({ message: 'x', start_time: 1795687000000, end_time: 1795687100000 }),
    );
    expect([draft.firstSeen, draft.lastSeen]).toEqual([
      '2026-11-26T09:56:40.000Z',
      '2026-11-26T09:58:20.000Z',
    ]);
  });

  it('orders first/last seen times a producer swapped', () => {
    const draft = ocsfDetectionFindingFormat.normalize(
      finding({
        finding_info: { title: 'x', first_seen_time: 1795687100000, last_seen_time: 1795687000000 },
      }),
    );
    expect(draft.firstSeen < draft.lastSeen).toBe(true);
  });

  it('stamps a finding without any time with now', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    const draft = ocsfDetectionFindingFormat.normalize({
      class_uid: 2004,
      severity_id: 2,
      message: 'x',
    });
    expect(draft.firstSeen).toBe('2026-11-26T12:00:00.000Z');
  });

  it('keeps sub-technique ids and only ATLAS ids', () => {
    const draft = ocsfDetectionFindingFormat.normalize(
      finding({
        finding_info: {
          title: 'x',
          attacks: [
            {
              technique: { uid: 'AML.T0051' },
              sub_technique: { uid: 'AML.T0051.000' },
            },
            { technique: { uid: 'T1566' }, sub_technique: { uid: 'T1566.001' } },
          ],
        },
      }),
    );
    expect(draft.type).toBe('prompt_injection');
    expect(draft.atlasTechniques).toEqual(['AML.T0051', 'AML.T0051.000']);
  });

  it('ignores optional fields of an unexpected shape', () => {
    const draft = ocsfDetectionFindingFormat.normalize(
      finding({
        message: 'x',
        time: 'not a time',
        count: -2,
        confidence_score: 150,
        metadata: 'llm-guard',
        finding_info: { title: 7, types: 'drift', attacks: [null, { technique: 5 }] },
        src_endpoint: { ip: 'gateway' },
        actor: 'mallory',
        observables: [null, { type_id: 2, value: 'not-an-ip' }, { type_id: 6, value: 9 }],
        evidences: { url: 'x' },
        resources: [{ type: 'AI Model' }, 'model', { uid: 'm', type: 7 }],
        unmapped: ['x'],
      }),
    );
    expect(draft).toMatchObject({
      source: { product: 'unknown', vendor: 'unknown' },
      type: 'other',
      title: 'x',
      count: 1,
      atlasTechniques: [],
    });
    expect(draft.confidence).toBeUndefined();
    expect(draft.observables).toEqual({
      ips: [],
      cidrs: [],
      users: [],
      apiKeyIds: [],
      sessionIds: [],
      urls: [],
      toolCalls: [],
    });
  });

  it('falls back to the actor uid when the user has no name', () => {
    const draft = ocsfDetectionFindingFormat.normalize(
      finding({ message: 'x', actor: { user: { uid: 'u-1' } } }),
    );
    expect(draft.observables.users).toEqual(['u-1']);
  });

  it('reads an AI agent or model endpoint resource as the model', () => {
    for (const type of ['AI Agent', 'Model Endpoint']) {
      const draft = ocsfDetectionFindingFormat.normalize(
        finding({ message: 'x', resources: [{ name: 'support-agent', type }] }),
      );
      expect(draft.observables.model).toEqual({ id: 'support-agent' });
    }
  });

  it.each([
    [['AML.T0051.001'], 'prompt_injection'],
    [['AML.T0054'], 'jailbreak'],
    [['AML.T0020'], 'data_poisoning'],
    [['AML.T0070'], 'data_poisoning'],
    [['AML.T0010.002'], 'data_poisoning'],
    [['AML.T0018.000'], 'model_integrity'],
    [['AML.T0010.003'], 'model_integrity'],
    [['AML.T0076'], 'model_integrity'],
    [['AML.T0024.002'], 'data_exfiltration'],
    [['AML.T0056'], 'data_exfiltration'],
    [['AML.T0086'], 'data_exfiltration'],
    [['AML.T0034.000'], 'cost_harvesting'],
    [['AML.T0029'], 'inference_spike'],
    [['AML.T0040'], 'inference_spike'],
    [['AML.T0053'], 'agent_tool_anomaly'],
    [['AML.T0110'], 'agent_tool_anomaly'],
    [['AML.T0031'], 'model_drift'],
    [['AML.T0012'], 'credential_misuse'],
    [['AML.T0083'], 'credential_misuse'],
    [['AML.T0010'], 'other'],
    // The more specific technique wins over generic API access.
    [['AML.T0040', 'AML.T0024'], 'data_exfiltration'],
    [['AML.T0053', 'AML.T0051.001'], 'prompt_injection'],
  ])('infers from techniques %j the type %s', (uids, type) => {
    expect(ocsfDetectionFindingFormat.normalize(withTechniques(...uids)).type).toBe(type);
  });

  it.each([
    [{ finding_info: { title: 'x', types: ['AI/Model Drift'] } }, 'model_drift'],
    [{ finding_info: { title: 'x', analytic: { name: 'HashMismatch' } } }, 'model_integrity'],
    [{ finding_info: { title: 'Possible prompt_injection in RAG chunk' } }, 'prompt_injection'],
    [{ finding_info: { title: 'Jailbroken response detected' } }, 'jailbreak'],
    [{ finding_info: { title: 'Poisoned samples in batch 12' } }, 'data_poisoning'],
    [{ finding_info: { title: 'PII exfiltration via embeddings' } }, 'data_exfiltration'],
    [{ finding_info: { title: 'Token cost 40x budget' } }, 'cost_harvesting'],
    [{ finding_info: { title: 'Credential stuffing on gateway' } }, 'credential_misuse'],
    [{ finding_info: { title: 'Unexpected tool invocation by agent' } }, 'agent_tool_anomaly'],
    [{ finding_info: { title: 'Request rate above baseline' } }, 'inference_spike'],
    [{ finding_info: { title: 'Query volume spike' } }, 'inference_spike'],
    [{ finding_info: { title: 'Toxic output blocked' } }, 'output_policy_violation'],
    [
      { finding_info: { title: 'Training pipeline run failed checks' } },
      'training_pipeline_anomaly',
    ],
    // "rate" inside a word is no keyword.
    [{ finding_info: { title: 'Moderated generated content' } }, 'other'],
    // types[] is read before the title.
    [{ finding_info: { title: 'Tool output flagged', types: ['Jailbreak'] } }, 'jailbreak'],
  ])('infers from keywords in %j the type %s', (fields, type) => {
    expect(ocsfDetectionFindingFormat.normalize(finding(fields)).type).toBe(type);
  });

  it('lets unmapped["warden.alert_type"] override inference when it is a valid type', () => {
    const overridden = {
      ...withTechniques('AML.T0054'),
      unmapped: { 'warden.alert_type': 'model_drift' },
    };
    expect(ocsfDetectionFindingFormat.normalize(overridden).type).toBe('model_drift');
    const bogus = { ...withTechniques('AML.T0054'), unmapped: { 'warden.alert_type': 'drift' } };
    expect(ocsfDetectionFindingFormat.normalize(bogus).type).toBe('jailbreak');
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });
});
