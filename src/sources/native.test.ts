import { afterEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import { nativeFormat } from './native.js';
import { describeSourceFormatContract } from './source-format.contract.js';

const minimalAlert = { type: 'model_drift', title: 'PSI 0.31 on feature tenure_months' };

const fullAlert = {
  type: 'inference_spike',
  title: 'Request volume 6x baseline on churn-predictor',
  description: 'Requests per minute at 6.2x the 7-day baseline from one /24.',
  severity: 'HIGH',
  confidence: 80,
  time: '2026-11-26T10:05:00Z',
  first_seen: '2026-11-26T10:00:00+01:00',
  last_seen: 1795687500000,
  count: 12,
  source: { product: 'Gateway Monitor', vendor: 'Example Corp', uid: 'gm-991' },
  dedup_key: 'churn-spike-2026-11-26',
  atlas_techniques: ['AML.T0040', 'AML.T0029', 'AML.T0040'],
  observables: {
    ips: ['203.0.113.7', '2001:db8::7', '203.0.113.7'],
    cidrs: ['203.0.113.0/24'],
    users: ['alice'],
    api_key_ids: ['key-1'],
    session_ids: ['s-1'],
    urls: ['https://api.example.com/v1/models/churn:predict'],
    model: {
      id: 'churn-predictor',
      version: 7,
      endpoint: '/v1/models/churn:predict',
      hash: '2f92d091338f68643e9dbd65ce1e6df6ae5b986f31cb430436e7c85f66a6460c',
    },
    dataset: { id: 'ds-customers', hash: 'sha256:0f1e2d', feature_store: 'fs-customer' },
    tool_calls: [{ name: 'web_search', arguments: { q: 'churn' } }, { name: 'sql_query' }],
  },
};

function withFields(fields: Record<string, unknown>): Record<string, unknown> {
  return { ...minimalAlert, ...fields };
}

function withObservables(observables: Record<string, unknown>): Record<string, unknown> {
  return withFields({ observables });
}

function errorOf(payload: unknown): WardenError {
  try {
    nativeFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a string payload', 'inference_spike', 'invalid_field', '(root)'],
  ['an array payload', [minimalAlert], 'invalid_field', '(root)'],
  ['a null payload', null, 'invalid_field', '(root)'],
  ['no type', { title: 'x' }, 'missing_field', 'type'],
  ['an unknown type', withFields({ type: 'prompt-injection' }), 'invalid_field', 'type'],
  ['no title', { type: 'jailbreak' }, 'missing_field', 'title'],
  ['an empty title', withFields({ title: '  ' }), 'invalid_field', 'title'],
  ['a numeric title', withFields({ title: 42 }), 'invalid_field', 'title'],
  ['a non-string description', withFields({ description: ['x'] }), 'invalid_field', 'description'],
  ['an unknown severity label', withFields({ severity: 'severe' }), 'invalid_field', 'severity'],
  ['a severity above 6', withFields({ severity: 7 }), 'invalid_field', 'severity'],
  ['a fractional severity', withFields({ severity: 2.5 }), 'invalid_field', 'severity'],
  ['a severity_id above 6', withFields({ severity_id: 99 }), 'invalid_field', 'severity_id'],
  ['a severity_id label', withFields({ severity_id: 'High' }), 'invalid_field', 'severity_id'],
  [
    'a severity contradicting severity_id',
    withFields({ severity: 'low', severity_id: 4 }),
    'invalid_field',
    'severity',
  ],
  ['confidence above 100', withFields({ confidence: 101 }), 'invalid_field', 'confidence'],
  ['negative confidence', withFields({ confidence: -1 }), 'invalid_field', 'confidence'],
  ['confidence as text', withFields({ confidence: '80' }), 'invalid_field', 'confidence'],
  ['an unparseable time', withFields({ time: 'yesterday' }), 'invalid_field', 'time'],
  ['an impossible date', withFields({ time: '2026-02-30T10:00:00Z' }), 'invalid_field', 'time'],
  ['a boolean first_seen', withFields({ first_seen: true }), 'invalid_field', 'first_seen'],
  ['a negative last_seen', withFields({ last_seen: -5 }), 'invalid_field', 'last_seen'],
  [
    'first_seen after last_seen',
    withFields({ first_seen: '2026-11-26T11:00:00Z', last_seen: '2026-11-26T10:00:00Z' }),
    'invalid_field',
    'first_seen',
  ],
  ['a zero count', withFields({ count: 0 }), 'invalid_field', 'count'],
  ['a fractional count', withFields({ count: 1.5 }), 'invalid_field', 'count'],
  ['a count as text', withFields({ count: '2' }), 'invalid_field', 'count'],
  ['a non-object source', withFields({ source: 'gateway' }), 'invalid_field', 'source'],
  ['an empty product', withFields({ source: { product: '' } }), 'invalid_field', 'source.product'],
  ['an object source uid', withFields({ source: { uid: {} } }), 'invalid_field', 'source.uid'],
  ['a numeric dedup_key', withFields({ dedup_key: 42 }), 'invalid_field', 'dedup_key'],
  [
    'atlas_techniques not a list',
    withFields({ atlas_techniques: 'AML.T0040' }),
    'invalid_field',
    'atlas_techniques',
  ],
  [
    'an ATT&CK id among atlas_techniques',
    withFields({ atlas_techniques: ['AML.T0031', 'T1059'] }),
    'invalid_field',
    'atlas_techniques[1]',
  ],
  ['observables as a list', withFields({ observables: [] }), 'invalid_field', 'observables'],
  ['ips not a list', withObservables({ ips: '203.0.113.7' }), 'invalid_field', 'observables.ips'],
  [
    'an entry of ips that is no address',
    withObservables({ ips: ['203.0.113.7', '2001:db8::1', 'gateway-7'] }),
    'invalid_field',
    'observables.ips[2]',
  ],
  [
    'a CIDR with a prefix too long',
    withObservables({ cidrs: ['203.0.113.0/33'] }),
    'invalid_field',
    'observables.cidrs[0]',
  ],
  ['an empty user', withObservables({ users: [''] }), 'invalid_field', 'observables.users[0]'],
  [
    'a numeric api key id',
    withObservables({ api_key_ids: [12] }),
    'invalid_field',
    'observables.api_key_ids[0]',
  ],
  [
    'a relative url',
    withObservables({ urls: ['/v1/predict'] }),
    'invalid_field',
    'observables.urls[0]',
  ],
  ['a model without id', withObservables({ model: {} }), 'missing_field', 'observables.model.id'],
  ['a model as text', withObservables({ model: 'churn' }), 'invalid_field', 'observables.model'],
  [
    'a dataset without id',
    withObservables({ dataset: { hash: 'sha256:00' } }),
    'missing_field',
    'observables.dataset.id',
  ],
  [
    'a tool call without name',
    withObservables({ tool_calls: [{ name: 'ok' }, { arguments: {} }] }),
    'missing_field',
    'observables.tool_calls[1].name',
  ],
  [
    'a tool call as text',
    withObservables({ tool_calls: ['web_search'] }),
    'invalid_field',
    'observables.tool_calls[0]',
  ],
];

describeSourceFormatContract(nativeFormat, {
  valid: [minimalAlert, fullAlert],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('nativeFormat.detect', () => {
  it('claims an object whose type is a Warden alert type', () => {
    expect(nativeFormat.detect({ type: 'jailbreak' })).toBe(true);
  });

  it('leaves OCSF payloads, unknown types and non-objects alone', () => {
    expect(nativeFormat.detect({ type: 'jailbreak', class_uid: 2004 })).toBe(false);
    expect(nativeFormat.detect({ type: 'Detection Finding' })).toBe(false);
    expect(nativeFormat.detect('jailbreak')).toBe(false);
    expect(nativeFormat.detect([{ type: 'jailbreak' }])).toBe(false);
  });
});

describe('nativeFormat.normalize', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('maps every field of a full alert', () => {
    expect(nativeFormat.normalize(fullAlert)).toEqual({
      source: {
        format: 'native',
        product: 'Gateway Monitor',
        vendor: 'Example Corp',
        uid: 'gm-991',
      },
      type: 'inference_spike',
      title: 'Request volume 6x baseline on churn-predictor',
      description: 'Requests per minute at 6.2x the 7-day baseline from one /24.',
      severityId: 4,
      confidence: 80,
      firstSeen: '2026-11-26T09:00:00.000Z',
      lastSeen: '2026-11-26T10:05:00.000Z',
      count: 12,
      dedupKey: 'churn-spike-2026-11-26',
      atlasTechniques: ['AML.T0040', 'AML.T0029'],
      observables: {
        ips: ['203.0.113.7', '2001:db8::7'],
        cidrs: ['203.0.113.0/24'],
        users: ['alice'],
        apiKeyIds: ['key-1'],
        sessionIds: ['s-1'],
        urls: ['https://api.example.com/v1/models/churn:predict'],
        model: {
          id: 'churn-predictor',
          version: '7',
          endpoint: '/v1/models/churn:predict',
          hash: '2f92d091338f68643e9dbd65ce1e6df6ae5b986f31cb430436e7c85f66a6460c',
        },
        dataset: { id: 'ds-customers', hash: 'sha256:0f1e2d', featureStore: 'fs-customer' },
        toolCalls: [{ name: 'web_search', arguments: { q: 'churn' } }, { name: 'sql_query' }],
      },
      raw: fullAlert,
    });
  });

  it('keeps the payload object itself as raw', () => {
    expect(nativeFormat.normalize(fullAlert).raw).toBe(fullAlert);
  });

  it('defaults a minimal alert: Medium, now, count 1, unknown source, type techniques', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    const draft = nativeFormat.normalize(minimalAlert);
    expect(draft).toEqual({
      source: { format: 'native', product: 'unknown', vendor: 'unknown' },
      type: 'model_drift',
      title: 'PSI 0.31 on feature tenure_months',
      severityId: 3,
      firstSeen: '2026-11-26T12:00:00.000Z',
      lastSeen: '2026-11-26T12:00:00.000Z',
      count: 1,
      observables: {
        ips: [],
        cidrs: [],
        users: [],
        apiKeyIds: [],
        sessionIds: [],
        urls: [],
        toolCalls: [],
      },
      atlasTechniques: ['AML.T0031'],
      raw: minimalAlert,
    });
    expect(Object.keys(draft)).not.toContain('description');
  });

  it.each([
    [{ severity: 'Critical' }, 5],
    [{ severity: 'informational' }, 1],
    [{ severity: 0 }, 0],
    [{ severity_id: 6 }, 6],
    [{ severity: 'high', severity_id: 4 }, 4],
    [{ severity: null }, 3],
  ])('reads severity from %j as %i', (fields, severityId) => {
    expect(nativeFormat.normalize(withFields(fields)).severityId).toBe(severityId);
  });

  it.each([
    ['epoch milliseconds', 1795687200000, '2026-11-26T10:00:00.000Z'],
    ['epoch seconds', 1795687200, '2026-11-26T10:00:00.000Z'],
    ['ISO with offset', '2026-11-26T12:00:00+02:00', '2026-11-26T10:00:00.000Z'],
    ['ISO with fraction', '2026-11-26T10:00:00.250Z', '2026-11-26T10:00:00.250Z'],
    ['ISO without zone (UTC)', '2026-11-26T10:00:00', '2026-11-26T10:00:00.000Z'],
  ])('reads time given as %s', (_label, time, iso) => {
    const draft = nativeFormat.normalize(withFields({ time }));
    expect(draft.firstSeen).toBe(iso);
    expect(draft.lastSeen).toBe(iso);
  });

  it('spans first_seen to last_seen when only those are given', () => {
    const draft = nativeFormat.normalize(
      withFields({ first_seen: '2026-11-26T09:00:00Z', last_seen: '2026-11-26T09:30:00Z' }),
    );
    expect([draft.firstSeen, draft.lastSeen]).toEqual([
      '2026-11-26T09:00:00.000Z',
      '2026-11-26T09:30:00.000Z',
    ]);
  });

  it('uses the type defaults for an empty atlas_techniques list', () => {
    const draft = nativeFormat.normalize(
      withFields({ type: 'data_exfiltration', atlas_techniques: [] }),
    );
    expect(draft.atlasTechniques).toEqual(['AML.T0024', 'AML.T0057']);
  });

  it('accepts CIDRs of both families and a bare address as a /32', () => {
    const draft = nativeFormat.normalize(
      withObservables({ cidrs: ['2001:db8::/32', '198.51.100.0/24', '192.0.2.1'] }),
    );
    expect(draft.observables.cidrs).toEqual(['2001:db8::/32', '198.51.100.0/24', '192.0.2.1']);
  });

  it('ignores fields it does not know', () => {
    const draft = nativeFormat.normalize(
      withFields({ tenant: 'acme', observables: { hosts: [] } }),
    );
    expect(draft.type).toBe('model_drift');
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message).toContain(`"${field}"`);
  });

  it('lists the known types when the type is unknown', () => {
    expect(errorOf(withFields({ type: 'spike' })).message).toContain('inference_spike');
  });
});
