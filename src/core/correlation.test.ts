import { describe, expect, it } from 'vitest';
import { emptyObservables, type AlertObservables, type NormalizedAlert } from './alert.js';
import { correlationKeysOf, withinWindow } from './correlation.js';
import { sourceRangeOf } from './ip-range.js';

function alertWith(
  observables: Partial<AlertObservables>,
  overrides: Partial<NormalizedAlert> = {},
): NormalizedAlert {
  return {
    id: 'a-1',
    dedupKey: 'd-1',
    source: { format: 'native', product: 'p', vendor: 'v' },
    type: 'prompt_injection',
    title: 't',
    severityId: 3,
    severity: 'Medium',
    firstSeen: '2026-03-01T12:00:00.000Z',
    lastSeen: '2026-03-01T12:00:00.000Z',
    count: 1,
    observables: { ...emptyObservables(), ...observables },
    atlasTechniques: [],
    raw: {},
    receivedAt: '2026-03-01T12:00:00.000Z',
    enrichment: { blastRadius: [], allowlisted: [] },
    ...overrides,
  };
}

const enriched = (modelId: string): NormalizedAlert['enrichment'] => ({
  modelId,
  blastRadius: [],
  allowlisted: [],
});

describe('correlationKeysOf', () => {
  it('keys addresses on model and source range', () => {
    const keys = correlationKeysOf(
      alertWith(
        { ips: ['203.0.113.7', '203.0.113.99', '2001:db8:1:2::5'] },
        { enrichment: enriched('churn') },
      ),
    );
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe('range:churn:203.0.113.0/24');
    expect(keys[1]).toBe(`range:churn:${sourceRangeOf('2001:db8:1:2::5')}`);
  });

  it('puts two addresses of one /24 and one model under the same key, and splits on range or model', () => {
    const a = correlationKeysOf(alertWith({ ips: ['203.0.113.7'] }, { enrichment: enriched('m') }));
    const b = correlationKeysOf(
      alertWith({ ips: ['203.0.113.200'] }, { enrichment: enriched('m') }),
    );
    const otherRange = correlationKeysOf(
      alertWith({ ips: ['203.0.114.7'] }, { enrichment: enriched('m') }),
    );
    const otherModel = correlationKeysOf(
      alertWith({ ips: ['203.0.113.7'] }, { enrichment: enriched('n') }),
    );
    expect(a).toEqual(b);
    expect(a.some((k) => otherRange.includes(k))).toBe(false);
    expect(a.some((k) => otherModel.includes(k))).toBe(false);
  });

  it('prefers the inventory model id, then the observed model id, then a wildcard', () => {
    const ips = ['198.18.0.1'];
    expect(
      correlationKeysOf(
        alertWith({ ips, model: { id: 'raw-id' } }, { enrichment: enriched('inv') }),
      ),
    ).toEqual(['range:inv:198.18.0.0/24']);
    expect(correlationKeysOf(alertWith({ ips, model: { id: 'raw-id' } }))).toEqual([
      'range:raw-id:198.18.0.0/24',
    ]);
    expect(correlationKeysOf(alertWith({ ips }))).toEqual(['range:*:198.18.0.0/24']);
  });

  it('keys declared cidrs, users (case-folded), sessions, API keys and datasets', () => {
    const keys = correlationKeysOf(
      alertWith(
        {
          cidrs: ['198.51.100.0/24'],
          users: ['Alice@Example.com'],
          sessionIds: ['Sess-1'],
          apiKeyIds: ['key-9'],
          dataset: { id: 'ds-customers', hash: 'sha256:abc' },
        },
        { enrichment: enriched('m') },
      ),
    );
    expect(keys.sort()).toEqual(
      [
        'range:m:198.51.100.0/24',
        'user:alice@example.com',
        'session:Sess-1',
        'apikey:key-9',
        'dataset:ds-customers',
        'dataset-hash:sha256:abc',
      ].sort(),
    );
  });

  it('adds no dataset-hash key without a hash, and deduplicates repeated values', () => {
    expect(
      correlationKeysOf(
        alertWith({ dataset: { id: 'ds' }, users: ['bob', 'BOB'], ips: ['10.0.0.1', '10.0.0.2'] }),
      ).sort(),
    ).toEqual(['dataset:ds', 'range:*:10.0.0.0/24', 'user:bob']);
  });

  it('skips values that are not addresses', () => {
    expect(correlationKeysOf(alertWith({ ips: ['not-an-ip'], users: ['u'] }))).toEqual(['user:u']);
  });

  it('falls back to model and alert type when the alert names no entity', () => {
    expect(
      correlationKeysOf(alertWith({}, { type: 'model_drift', enrichment: enriched('churn') })),
    ).toEqual(['model:churn:model_drift']);
    expect(correlationKeysOf(alertWith({}, { type: 'model_drift' }))).toEqual([
      'model:*:model_drift',
    ]);
    expect(
      correlationKeysOf(alertWith({ urls: ['https://x'], toolCalls: [{ name: 'sql' }] })),
    ).toEqual(['model:*:prompt_injection']);
  });

  it('shares a key between an alert naming a /24 cidr and one from an address inside it', () => {
    const byCidr = correlationKeysOf(
      alertWith({ cidrs: ['203.0.113.0/24'] }, { enrichment: enriched('m') }),
    );
    const byIp = correlationKeysOf(
      alertWith({ ips: ['203.0.113.9'] }, { enrichment: enriched('m') }),
    );
    expect(byCidr).toEqual(byIp);
  });

  // Bug: sourceRangeOf spells a /64 uncompressed ("2001:db8:0:0::/64"), so an
  // alert naming the same /64 in its canonical form ("2001:db8::/64") never
  // correlates with alerts from addresses inside it (the IPv4 case above does).
  it('shares a key between an alert naming a /64 cidr and one from an address inside it', () => {
    const byCidr = correlationKeysOf(
      alertWith({ cidrs: ['2001:db8::/64'] }, { enrichment: enriched('m') }),
    );
    const byIp = correlationKeysOf(
      alertWith({ ips: ['2001:db8::9'] }, { enrichment: enriched('m') }),
    );
    expect(byCidr).toEqual(byIp);
  });
});

describe('withinWindow', () => {
  const hour = 3_600_000;
  it('accepts an alert up to the window after the case was last seen, inclusive', () => {
    expect(withinWindow('2026-03-01T12:00:00.000Z', '2026-03-01T12:30:00.000Z', hour)).toBe(true);
    expect(withinWindow('2026-03-01T12:00:00.000Z', '2026-03-01T13:00:00.000Z', hour)).toBe(true);
    expect(withinWindow('2026-03-01T12:00:00.000Z', '2026-03-01T13:00:00.001Z', hour)).toBe(false);
  });

  it('accepts an alert older than the case’s last sighting', () => {
    expect(withinWindow('2026-03-01T12:00:00.000Z', '2026-03-01T08:00:00.000Z', hour)).toBe(true);
  });

  it('compares instants, not strings', () => {
    expect(withinWindow('2026-03-01T12:00:00.000Z', '2026-03-01T14:30:00+02:00', hour)).toBe(true);
  });
});
