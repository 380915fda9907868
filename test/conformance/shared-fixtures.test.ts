import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAtlasFile, loadImportedAtlas } from '../../src/config/atlas-data.js';
import {
  atlasTactics,
  atlasTechniqueIn,
  shippedAtlasTechniques,
  type AtlasDataSet,
} from '../../src/core/atlas-techniques.js';
import {
  SOURCE_FORMATS,
  detectSourceFormat,
  normalizePayload,
  normalizePayloads,
} from '../../src/sources/source-registry.js';
import { sharedFixtures, sharedResource } from '../support/shared-fixtures.js';

/**
 * Runs the source formats against the shared fixtures when a checkout sits
 * next to ../shared; a user's clone has no such folder, so the suite skips.
 */
const fixtures = sharedFixtures('shared conformance suite');

/** The names of every format that claims the payload: exactly one is expected. */
function claimedBy(payload: unknown): string[] {
  return SOURCE_FORMATS.filter((format) => format.detect(payload)).map((format) => format.name);
}

describe.skipIf(!fixtures.present)('shared fixtures conformance', () => {
  it('reads ocsf_detection_finding.json as an OCSF prompt injection', () => {
    const payload = fixtures.json('ocsf_detection_finding.json');
    expect(detectSourceFormat(payload).name).toBe('ocsf');

    const draft = normalizePayload(payload);
    expect(draft.type).toBe('prompt_injection');
    expect(draft.atlasTechniques).toContain('AML.T0051.001');
    expect(draft.severityId).toBe(4);
    expect(draft.observables.model?.id).toBe('support-bot');
    expect(draft.source.product).toBe('LLM Guard');
    expect(draft.raw).toEqual(payload);
  });

  it('reads guardduty_finding_iam_anomalous_behavior.json as GuardDuty credential misuse', () => {
    const payload = fixtures.json('guardduty_finding_iam_anomalous_behavior.json');
    expect(claimedBy(payload)).toEqual(['guardduty']);

    const draft = normalizePayload(payload);
    expect(draft).toMatchObject({
      source: { format: 'guardduty', product: 'GuardDuty', vendor: 'Amazon' },
      type: 'credential_misuse',
      atlasTechniques: ['AML.T0012'],
      // GuardDuty 5.0 is in its Medium band (4.0-6.9).
      severityId: 3,
      firstSeen: '2026-05-12T09:51:02.000Z',
      lastSeen: '2026-05-12T09:58:44.000Z',
      count: 1,
      observables: {
        ips: ['198.51.100.23'],
        users: ['ml-pipeline-role'],
        apiKeyIds: ['ASIAEXAMPLEKEY000001'],
      },
    });
    expect(draft.source.uid).toBe('a1b2c3d4e5f60718293a4b5c6d7e8f90');
    expect(draft.dedupKey).toMatch(
      /^arn:aws:guardduty:us-east-1:123456789012:detector\/.+\/finding\/a1b2c3d4e5f60718293a4b5c6d7e8f90$/,
    );
    expect(draft.raw).toEqual(payload);
  });

  it('reads splunk_webhook_alert.json as a Splunk inference spike', () => {
    const payload = fixtures.json('splunk_webhook_alert.json');
    expect(claimedBy(payload)).toEqual(['splunk']);

    const draft = normalizePayload(payload);
    expect(draft).toMatchObject({
      source: { format: 'splunk', product: 'Splunk' },
      type: 'inference_spike',
      title: 'Inference API request spike',
      severityId: 3,
      firstSeen: '2026-05-12T11:20:07.000Z',
      // The result's count (842) is the search's event tally, not repeats of the alert.
      count: 1,
      observables: {
        ips: ['203.0.113.45'],
        users: ['svc-inference'],
        model: { id: 'llm-prod-1', endpoint: 'llm-prod-1' },
      },
    });
    expect(draft.source.uid).toMatch(/^scheduler__admin__search__/);
    expect(draft.raw).toEqual(payload);
  });

  it('reads sentinel_securityalert_row.json as a Sentinel prompt injection', () => {
    const payload = fixtures.json('sentinel_securityalert_row.json');
    expect(claimedBy(payload)).toEqual(['sentinel']);

    const draft = normalizePayload(payload);
    expect(draft).toMatchObject({
      source: { format: 'sentinel', product: 'Azure Sentinel', vendor: 'Microsoft' },
      type: 'prompt_injection',
      // Techniques holds only ATT&CK T1190, so the type's ATLAS default applies.
      atlasTechniques: ['AML.T0051'],
      severityId: 3,
      firstSeen: '2026-05-12T11:10:00.000Z',
      lastSeen: '2026-05-12T11:20:00.000Z',
      dedupKey: 'sentinel:7e9a1c3b-5d2f-4a6e-8b0c-9d1e2f3a4b5c',
      observables: { ips: ['203.0.113.45'], users: ['svc-chatbot@contoso.com'] },
    });
    expect(draft.raw).toEqual(payload);
  });

  it('reads llm_guard_analyze_prompt_response.json as an LLM Guard prompt injection', () => {
    const payload = fixtures.json('llm_guard_analyze_prompt_response.json');
    expect(claimedBy(payload)).toEqual(['llm-guard']);

    const draft = normalizePayload(payload, undefined, { model: 'support-bot', user: 'u-42' });
    expect(draft).toMatchObject({
      source: { format: 'llm-guard', product: 'LLM Guard' },
      type: 'prompt_injection',
      atlasTechniques: ['AML.T0051.000'],
      // PromptInjection 1.0 is in the High band (0.8-1); Toxicity -0.9 passed.
      severityId: 4,
      title: 'LLM Guard flagged prompt: PromptInjection',
      observables: { model: { id: 'support-bot' }, users: ['u-42'] },
    });
    expect(draft.raw).toEqual(payload);
  });

  it('reads llm_guard_scan_output_response.json as an LLM Guard data leak in output', () => {
    const payload = fixtures.json('llm_guard_scan_output_response.json');
    expect(claimedBy(payload)).toEqual(['llm-guard']);

    const draft = normalizePayload(payload);
    expect(draft).toMatchObject({
      type: 'data_exfiltration',
      atlasTechniques: ['AML.T0057'],
      // Sensitive 0.8 is in the High band.
      severityId: 4,
      title: 'LLM Guard flagged output: Sensitive',
    });
    expect(draft.raw).toEqual(payload);
  });

  it('reads bedrock_apply_guardrail_response.json as a Bedrock prompt attack', () => {
    const payload = fixtures.json('bedrock_apply_guardrail_response.json');
    expect(claimedBy(payload)).toEqual(['bedrock-guardrails']);

    const draft = normalizePayload(payload, undefined, { session: 's-9f8e' });
    expect(draft).toMatchObject({
      source: { format: 'bedrock-guardrails', product: 'Bedrock Guardrails', vendor: 'Amazon' },
      type: 'prompt_injection',
      atlasTechniques: ['AML.T0051.000'],
      // PROMPT_ATTACK at confidence HIGH.
      severityId: 4,
      title: 'Bedrock guardrail intervened: content PROMPT_ATTACK',
      description: 'Guardrail blocked.',
      observables: { sessionIds: ['s-9f8e'] },
    });
    expect(draft.raw).toEqual(payload);
  });

  it('reads azure_prompt_shields_response.json as direct and indirect prompt injection', () => {
    const payload = fixtures.json('azure_prompt_shields_response.json');
    expect(claimedBy(payload)).toEqual(['azure-content-safety']);

    const draft = normalizePayload(payload, undefined, { model: 'support-bot' });
    expect(draft).toMatchObject({
      source: { format: 'azure-content-safety', vendor: 'Microsoft' },
      type: 'prompt_injection',
      atlasTechniques: ['AML.T0051.000', 'AML.T0051.001'],
      severityId: 4,
      title: 'Azure Prompt Shields: attack in user prompt and documents',
      observables: { model: { id: 'support-bot' } },
    });
    expect(draft.raw).toEqual(payload);
  });

  it('reads azure_content_safety_analyze_text_response.json as a Low policy violation', () => {
    const payload = fixtures.json('azure_content_safety_analyze_text_response.json');
    expect(claimedBy(payload)).toEqual(['azure-content-safety']);

    const draft = normalizePayload(payload);
    expect(draft).toMatchObject({
      type: 'output_policy_violation',
      atlasTechniques: ['AML.T0048'],
      // Violence 2 is in the Low band (1-2).
      severityId: 2,
      title: 'Azure Content Safety: Violence',
    });
    expect(draft.raw).toEqual(payload);
  });

  it('reads rebuff_js_detect_response.json as a Rebuff prompt injection', () => {
    const payload = fixtures.json('rebuff_js_detect_response.json');
    expect(claimedBy(payload)).toEqual(['rebuff']);

    const draft = normalizePayload(payload, undefined, { model: 'support-bot', user: 'u-42' });
    expect(draft).toMatchObject({
      source: { format: 'rebuff', product: 'Rebuff', vendor: 'Protect AI' },
      type: 'prompt_injection',
      atlasTechniques: ['AML.T0051.000'],
      // The highest score, language_model 0.95, is in the High band (0.8 and above).
      severityId: 4,
      // vector_db 0.88 is under its 0.9 threshold, but Rebuff's own `detected` wins.
      title: 'Rebuff detected prompt injection: heuristic, language model, vector DB',
      observables: { model: { id: 'support-bot' }, users: ['u-42'] },
    });
    expect(draft.description).toContain('3 known attacks over the vector threshold');
    expect(draft.dedupKey).toBeUndefined();
    expect(draft.raw).toEqual(payload);
  });

  it('reads rebuff_python_detection_response.json as a Rebuff prompt injection', () => {
    const payload = fixtures.json('rebuff_python_detection_response.json');
    expect(claimedBy(payload)).toEqual(['rebuff']);

    const draft = normalizePayload(payload);
    expect(draft).toMatchObject({
      type: 'prompt_injection',
      atlasTechniques: ['AML.T0051.000'],
      severityId: 4,
      // openai_score is the model score; vector_score 0.88 is under max_vector_score 0.9.
      title: 'Rebuff detected prompt injection: heuristic, language model',
    });
    expect(draft.raw).toEqual(payload);
  });

  it('reads nemo_guardrails_generation_response.json as a blocked input rail', () => {
    const payload = fixtures.json('nemo_guardrails_generation_response.json');
    expect(claimedBy(payload)).toEqual(['nemo-guardrails']);

    const draft = normalizePayload(payload, undefined, { session: 's-9f8e' });
    expect(draft).toMatchObject({
      source: { format: 'nemo-guardrails', product: 'NeMo Guardrails', vendor: 'NVIDIA' },
      // "self check input" names no attack: NeMo refused, but not saying why.
      type: 'other',
      atlasTechniques: [],
      severityId: 3,
      title: 'NeMo Guardrails blocked: self check input (input)',
      // The rail's started_at / finished_at, epoch seconds.
      firstSeen: '2026-05-12T11:20:00.100Z',
      lastSeen: '2026-05-12T11:20:00.670Z',
      observables: { sessionIds: ['s-9f8e'] },
    });
    expect(draft.raw).toEqual(payload);
  });

  it('reads elastic_kibana_webhook_template.json, once rendered, as one alert per context.alerts entry', () => {
    const template = fixtures.json('elastic_kibana_webhook_template.json');
    // Unrendered, `alerts` is the mustache text "{{{context.alerts}}}": no alert.
    expect(claimedBy(template)).toEqual([]);

    // Rendered: the variables filled, `alerts` the action's alert documents.
    const alert = (uuid: string, severity: string): Record<string, unknown> => ({
      '@timestamp': '2026-05-12T11:20:07.000Z',
      'kibana.alert.uuid': uuid,
      'kibana.alert.rule.name': 'LLM prompt injection attempt',
      'kibana.alert.severity': severity,
      'kibana.alert.risk_score': 73,
      'source.ip': '203.0.113.45',
      'user.name': 'svc-chatbot',
    });
    const rendered = {
      ...(template as Record<string, unknown>),
      rule: {
        id: 'r-1',
        name: 'LLM prompt injection attempt',
        url: 'https://kibana.example.com/app/r-1',
        tags: 'ai',
        spaceId: 'default',
      },
      date: '2026-05-12T11:20:08.000Z',
      kibanaBaseUrl: 'https://kibana.example.com',
      alerts_count: '2',
      alerts: [alert('u-1', 'high'), alert('u-2', 'critical')],
    };
    expect(claimedBy(rendered)).toEqual(['elastic']);
    const drafts = normalizePayloads(rendered);
    expect(drafts).toMatchObject([
      {
        type: 'prompt_injection',
        severityId: 4,
        dedupKey: 'elastic:u-1',
        observables: { ips: ['203.0.113.45'], users: ['svc-chatbot'] },
      },
      { severityId: 5, dedupKey: 'elastic:u-2' },
    ]);
    expect(drafts[0]?.raw).toEqual(alert('u-1', 'high'));
  });

  it('reads every line of garak_report_verbatim_quack.report.jsonl as garak, with no finding', () => {
    const lines = fixtures
      .text('garak_report_verbatim_quack.report.jsonl')
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const row = JSON.parse(line) as { entry_type: string };
      expect(claimedBy(row), row.entry_type).toEqual(['garak']);
      // The one eval row passed 1 of 1; the rest record the run.
      expect(normalizePayloads(row, undefined, { model: 'quack' }), row.entry_type).toEqual([]);
    }
  });

  it('reads garak_report_entries.json: the failed eval row is the one finding', () => {
    const rows = fixtures.json<unknown[]>('garak_report_entries.json');
    for (const row of rows) expect(claimedBy(row)).toEqual(['garak']);
    const drafts = rows.flatMap((row) =>
      normalizePayloads(row, undefined, { model: 'gpt-4o-mini' }),
    );
    expect(drafts).toHaveLength(1);
    expect(drafts[0]).toMatchObject({
      source: { format: 'garak', product: 'garak', vendor: 'NVIDIA' },
      type: 'prompt_injection',
      title:
        'garak probe promptinject.HijackHateHumans failed 39 of 100 (detector promptinject.AttackRogueString)',
      // 39% failed: the Medium band (10-50%).
      severityId: 3,
      atlasTechniques: ['AML.T0051'],
      observables: { model: { id: 'gpt-4o-mini' } },
    });
  });

  it('reads garak_hitlog_entry.json as one garak hit', () => {
    const payload = fixtures.json('garak_hitlog_entry.json');
    expect(claimedBy(payload)).toEqual(['garak']);
    expect(normalizePayload(payload)).toMatchObject({
      type: 'prompt_injection',
      severityId: 3,
      dedupKey: 'garak:hit:9d3f2c1b-0a9e-4b8d-7c6f-5e4d3c2b1a0f:promptinject.AttackRogueString',
      source: { uid: '5b1e0a52-2d8c-4f7e-9b0a-6c3d2e1f0a9b' },
      observables: { model: { id: 'gpt-4o-mini' } },
    });
  });

  it('reads evidently_snapshot_dict.json as one Evidently drift alert, and its passing twin as none', () => {
    const payload = fixtures.json<{ tests: { status: string }[] }>('evidently_snapshot_dict.json');
    expect(claimedBy(payload)).toEqual(['evidently']);
    const drafts = normalizePayloads(payload, undefined, { model: 'support-bot' });
    expect(drafts).toHaveLength(1);
    expect(drafts[0]).toMatchObject({
      source: { format: 'evidently', product: 'Evidently', vendor: 'Evidently AI' },
      type: 'model_drift',
      title: 'Evidently: 1 of 1 tests failed (drift)',
      // 1 of 1 FAIL: High (50% and above).
      severityId: 4,
      atlasTechniques: ['AML.T0031'],
      observables: { model: { id: 'support-bot' } },
    });
    expect(drafts[0]?.description).toContain('Share of Drifted Columns: Less 0.5');
    expect(drafts[0]?.raw).toEqual(payload);
    const passing = {
      ...payload,
      tests: payload.tests.map((test) => ({ ...test, status: 'SUCCESS' })),
    };
    expect(claimedBy(passing)).toEqual(['evidently']);
    expect(normalizePayloads(passing)).toEqual([]);
  });

  it('claims no request fixture of an AI detection layer as an alert', () => {
    for (const name of [
      'llm_guard_analyze_prompt_request.json',
      'lakera_guard_v2_request.json',
      'azure_prompt_shields_request.json',
      'nemo_guardrails_server_request.json',
    ]) {
      expect(claimedBy(fixtures.json(name)), name).toEqual([]);
    }
  });
});

/**
 * Imports the public ATLAS data set from ../shared/atlas and holds Warden's
 * shipped table to it; skips like the fixtures suite when the folder is absent.
 */
const atlas = sharedResource('atlas/ATLAS.yaml', 'shared ATLAS import');

describe.skipIf(!atlas.present)('shared ATLAS data set', () => {
  let dataDir: string;
  let dataSet: AtlasDataSet;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'warden-atlas-shared-'));
    dataSet = importAtlasFile(atlas.path, dataDir).dataSet;
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('imports every tactic and technique of ATLAS.yaml', () => {
    expect(dataSet.version).toBe('5.6.0');
    expect(Object.keys(dataSet.tactics)).toHaveLength(16);
    expect(Object.keys(dataSet.techniques)).toHaveLength(170);
    expect(loadImportedAtlas(dataDir)).toEqual(dataSet);
  });

  it('gives AML.T0051.000 a name, a tactic and a description', () => {
    const direct = atlasTechniqueIn(dataSet, 'AML.T0051.000');
    expect(direct).toMatchObject({
      name: 'Direct',
      title: 'LLM Prompt Injection: Direct',
      tactics: [{ id: 'AML.TA0005', name: 'Execution' }],
    });
    expect(direct?.description).toMatch(/\w/);
  });

  it("agrees with Warden's shipped table on every name and tactic", () => {
    for (const shipped of shippedAtlasTechniques()) {
      expect(atlasTechniqueIn(dataSet, shipped.id), shipped.id).toMatchObject({
        name: shipped.name,
        title: shipped.title,
        tactics: shipped.tactics,
      });
    }
    for (const tactic of atlasTactics()) {
      expect(dataSet.tactics[tactic.id]?.name, tactic.id).toBe(tactic.name);
    }
  });

  it('ships every sub-technique of the techniques Warden maps to', () => {
    const shipped = new Set(shippedAtlasTechniques().map((technique) => technique.id));
    const missing = Object.entries(dataSet.techniques)
      .filter(([id, technique]) => {
        const parent = technique.subtechniqueOf;
        return parent !== undefined && shipped.has(parent) && !shipped.has(id);
      })
      .map(([id]) => id);
    expect(missing).toEqual([]);
  });
});
