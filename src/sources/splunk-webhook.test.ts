import { afterEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import { describeSourceFormatContract } from './source-format.contract.js';
import { splunkWebhookFormat } from './splunk-webhook.js';

/*
 * Payloads written from Splunk's public documentation of the webhook alert
 * action ("Use a webhook alert action", Splunk Enterprise Alerting Manual):
 * the POST body holds `result` (the first result row's fields), `sid`,
 * `results_link`, `search_name`, `owner` and `app`. Result field names follow
 * the Splunk Common Information Model (src_ip, user, severity, urgency).
 * Values are made up.
 */

const SID = 'scheduler__admin__search__RMD5f00dfeedc0ffee01_at_1795687200_812';

const toolAbuseAlert = {
  result: {
    _time: '1795687230',
    firstTime: '1795687200',
    src_ip: ['203.0.113.45', '203.0.113.46', 'gateway-3'],
    src: '198.51.100.0/24',
    user: 'svc-agent',
    api_key_id: 'key-7f3a',
    session_id: 'sess-991',
    model: 'support-agent',
    model_version: '4',
    model_endpoint: '/v1/agents/support:invoke',
    tool_name: ['shell_exec', 'shell_exec', 'http_get'],
    url: ['https://attacker.example/payload', 'not a url'],
    alert_type: 'agent_tool_anomaly',
    severity: 'high',
    urgency: 'critical',
    count: '37',
    description: 'Agent invoked shell_exec 37 times in 30 s.',
  },
  sid: SID,
  results_link: `https://splunk.example.com:8000/app/search/@go?sid=${SID}`,
  search_name: 'LLM agent unexpected tool use',
  owner: 'admin',
  app: 'search',
};

/** A search that names no type: it is inferred from the search name. */
const spikeAlert = {
  result: { _time: '2026-11-26T10:00:00.000+00:00', clientip: '2001:db8::45', count: '842' },
  sid: 'rt_md_1795687200.42',
  results_link: 'https://splunk.example.com:8000/app/search/@go?sid=rt_md_1795687200.42',
  search_name: 'Inference request volume above baseline',
  owner: 'nobody',
  app: 'ml_security',
};

/** A search with no results: Splunk still sends the other fields. */
const emptyResultAlert = {
  sid: 'admin__admin__search__search1_1795687200.7',
  results_link:
    'https://splunk.example.com:8000/app/search/@go?sid=admin__admin__search__search1_1795687200.7',
  search_name: 'Prompt injection markers in RAG chunks',
};

function alert(
  result: Record<string, unknown>,
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    sid: 's-1',
    search_name: 'Custom search',
    results_link: 'https://splunk.example.com/x',
    result,
    ...fields,
  };
}

function errorOf(payload: unknown): WardenError {
  try {
    splunkWebhookFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a non-object payload', 'search', 'invalid_field', '(root)'],
  ['no search_name', { sid: 's-1', result: {} }, 'missing_field', 'search_name'],
  ['a blank search_name', alert({}, { search_name: ' ' }), 'invalid_field', 'search_name'],
  ['a result that is a list', alert({}, { result: [{ user: 'x' }] }), 'invalid_field', 'result'],
];

describeSourceFormatContract(splunkWebhookFormat, {
  valid: [toolAbuseAlert, spikeAlert, emptyResultAlert, alert({ type: 'jailbreak' })],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('splunkWebhookFormat.detect', () => {
  it('needs sid, search_name and a result or results link', () => {
    expect(splunkWebhookFormat.detect(spikeAlert)).toBe(true);
    expect(splunkWebhookFormat.detect(emptyResultAlert)).toBe(true);
    expect(splunkWebhookFormat.detect({ sid: 's', search_name: 'x' })).toBe(false);
    expect(splunkWebhookFormat.detect({ search_name: 'x', result: {} })).toBe(false);
    expect(splunkWebhookFormat.detect({ sid: 's', search_name: 7, result: {} })).toBe(false);
  });
});

describe('splunkWebhookFormat.normalize', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('maps result fields by their common names', () => {
    expect(splunkWebhookFormat.normalize(toolAbuseAlert)).toEqual({
      source: { format: 'splunk', product: 'Splunk', vendor: 'Splunk', uid: SID },
      type: 'agent_tool_anomaly',
      title: 'LLM agent unexpected tool use',
      description: 'Agent invoked shell_exec 37 times in 30 s.',
      severityId: 4,
      firstSeen: '2026-11-26T10:00:00.000Z',
      lastSeen: '2026-11-26T10:00:30.000Z',
      count: 1,
      atlasTechniques: ['AML.T0053'],
      observables: {
        ips: ['203.0.113.45', '203.0.113.46'],
        cidrs: ['198.51.100.0/24'],
        users: ['svc-agent'],
        apiKeyIds: ['key-7f3a'],
        sessionIds: ['sess-991'],
        urls: ['https://attacker.example/payload'],
        model: { id: 'support-agent', version: '4', endpoint: '/v1/agents/support:invoke' },
        toolCalls: [{ name: 'shell_exec' }, { name: 'http_get' }],
      },
      raw: toolAbuseAlert,
    });
  });

  it('infers the type from the search name and describes where the alert came from', () => {
    const draft = splunkWebhookFormat.normalize(spikeAlert);
    expect(draft).toMatchObject({
      type: 'inference_spike',
      atlasTechniques: ['AML.T0040', 'AML.T0029'],
      severityId: 3,
      count: 1,
      firstSeen: '2026-11-26T10:00:00.000Z',
      lastSeen: '2026-11-26T10:00:00.000Z',
      observables: { ips: ['2001:db8::45'] },
      description:
        'Splunk alert "Inference request volume above baseline" (app ml_security, owner nobody). ' +
        'Results: https://splunk.example.com:8000/app/search/@go?sid=rt_md_1795687200.42',
    });
    expect(draft.dedupKey).toBeUndefined();
    expect(draft.observables.model).toBeUndefined();
  });

  it('stamps an alert without results with now', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    const draft = splunkWebhookFormat.normalize(emptyResultAlert);
    expect(draft).toMatchObject({
      type: 'prompt_injection',
      firstSeen: '2026-11-26T12:00:00.000Z',
    });
    expect(draft.description).toMatch(
      /^Splunk alert "Prompt injection markers in RAG chunks"\. Results: https:/,
    );
  });

  it('reads ATLAS ids written in a result field, and lets them decide the type', () => {
    const draft = splunkWebhookFormat.normalize(
      alert({
        atlas_techniques: 'AML.T0051.001, AML.T0051.001 | T1059',
        mitre_atlas: ['AML.T0057'],
      }),
    );
    expect(draft.type).toBe('prompt_injection');
    expect(draft.atlasTechniques).toEqual(['AML.T0051.001', 'AML.T0057']);
  });

  it('takes a named type only when it is a Warden alert type', () => {
    const draft = splunkWebhookFormat.normalize(
      alert({ alert_type: 'notable', type: 'data_poisoning' }),
    );
    expect(draft.type).toBe('data_poisoning');
    expect(splunkWebhookFormat.normalize(alert({ type: 'event' })).type).toBe('other');
  });

  it.each([
    [{ severity: 'Critical' }, 5],
    [{ severity: 'informational' }, 1],
    [{ severity: 'info' }, 1],
    [{ severity: 'warning' }, 3],
    [{ severity: 'P1', urgency: 'low' }, 2],
    [{ urgency: 'high' }, 4],
    [{ severity: '5' }, 3],
    [{}, 3],
  ])('reads severity from %j as %d', (result, id) => {
    expect(splunkWebhookFormat.normalize(alert(result)).severityId).toBe(id);
  });

  it('names the model by its endpoint when the search gives no model id', () => {
    const draft = splunkWebhookFormat.normalize(
      alert({ endpoint: 'llm-prod-1', dataset_id: 'ds-faq' }),
    );
    expect(draft.observables.model).toEqual({ id: 'llm-prod-1', endpoint: 'llm-prod-1' });
    expect(draft.observables.dataset).toEqual({ id: 'ds-faq' });
  });

  it('orders first and last times and ignores times it cannot read', () => {
    const draft = splunkWebhookFormat.normalize(
      alert({ firstTime: '1795687300', lastTime: '1795687200', _time: 'yesterday' }),
    );
    expect([draft.firstSeen, draft.lastSeen]).toEqual([
      '2026-11-26T10:00:00.000Z',
      '2026-11-26T10:01:40.000Z',
    ]);
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });
});
