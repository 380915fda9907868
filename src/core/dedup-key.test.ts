import { describe, expect, it } from 'vitest';
import { emptyObservables, type AlertDraft, type AlertObservables } from './alert.js';
import { dedupKeyOf } from './dedup-key.js';

function draft(
  overrides: Partial<AlertDraft> = {},
  observables: Partial<AlertObservables> = {},
): AlertDraft {
  return {
    source: { format: 'native', product: 'Prompt Shield', vendor: 'Example', uid: 'u-1' },
    type: 'prompt_injection',
    title: 'Injected instructions',
    description: 'first sighting',
    severityId: 3,
    confidence: 70,
    firstSeen: '2026-03-01T12:00:00.000Z',
    lastSeen: '2026-03-01T12:00:00.000Z',
    count: 1,
    observables: {
      ...emptyObservables(),
      ips: ['203.0.113.7', '198.51.100.1'],
      users: ['alice'],
      model: { id: 'churn', endpoint: '/v1/churn' },
      toolCalls: [{ name: 'sql_query', arguments: { q: 'select 1' } }],
      ...observables,
    },
    atlasTechniques: ['AML.T0051'],
    raw: { id: 1 },
    ...overrides,
  };
}

const base = dedupKeyOf(draft());

describe('dedupKeyOf', () => {
  it('is a 40-hex-digit hash', () => {
    expect(base).toMatch(/^[0-9a-f]{40}$/);
  });

  it('stays the same across times, counts, free text and the raw payload', () => {
    expect(
      dedupKeyOf(
        draft({
          firstSeen: '2026-03-02T00:00:00.000Z',
          lastSeen: '2026-03-02T01:00:00.000Z',
          count: 40,
          description: 'seen again',
          confidence: 10,
          raw: { id: 2, extra: true },
          source: { format: 'native', product: 'Prompt Shield', vendor: 'Example', uid: 'u-2' },
        }),
      ),
    ).toBe(base);
  });

  it('ignores the order of addresses and users', () => {
    expect(dedupKeyOf(draft({}, { ips: ['198.51.100.1', '203.0.113.7'] }))).toBe(base);
    expect(dedupKeyOf(draft({}, { users: ['bob', 'alice'] }))).toBe(
      dedupKeyOf(draft({}, { users: ['alice', 'bob'] })),
    );
  });

  it('ignores tool-call arguments', () => {
    expect(dedupKeyOf(draft({}, { toolCalls: [{ name: 'sql_query', arguments: 'other' }] }))).toBe(
      base,
    );
  });

  it.each<[string, AlertDraft]>([
    [
      'source format',
      draft({ source: { format: 'ocsf', product: 'Prompt Shield', vendor: 'Example' } }),
    ],
    [
      'source product',
      draft({ source: { format: 'native', product: 'Other', vendor: 'Example' } }),
    ],
    ['type', draft({ type: 'jailbreak' })],
    ['title', draft({ title: 'Something else' })],
    ['an address', draft({}, { ips: ['203.0.113.8', '198.51.100.1'] })],
    ['an extra address', draft({}, { ips: ['203.0.113.7', '198.51.100.1', '192.0.2.1'] })],
    ['a cidr', draft({}, { cidrs: ['192.0.2.0/24'] })],
    ['a user', draft({}, { users: ['mallory'] })],
    ['an API key', draft({}, { apiKeyIds: ['k-1'] })],
    ['a session', draft({}, { sessionIds: ['s-1'] })],
    ['the model id', draft({}, { model: { id: 'fraud', endpoint: '/v1/churn' } })],
    ['the model endpoint', draft({}, { model: { id: 'churn', endpoint: '/v2/churn' } })],
    ['a dataset', draft({}, { dataset: { id: 'ds-1' } })],
    ['a dataset hash', draft({}, { dataset: { id: 'ds-1', hash: 'sha256:00' } })],
    ['a tool call', draft({}, { toolCalls: [{ name: 'web_search' }] })],
  ])('changes with %s', (_what, changed) => {
    expect(dedupKeyOf(changed)).not.toBe(base);
  });

  it('tells a dataset hash apart from no hash', () => {
    expect(dedupKeyOf(draft({}, { dataset: { id: 'ds-1', hash: 'h' } }))).not.toBe(
      dedupKeyOf(draft({}, { dataset: { id: 'ds-1' } })),
    );
  });

  it('uses the source’s own key when it sent one, whatever else differs', () => {
    expect(dedupKeyOf(draft({ dedupKey: 'vendor-key-1' }))).toBe('vendor-key-1');
    expect(
      dedupKeyOf(
        draft({ dedupKey: 'vendor-key-1', title: 'other', type: 'jailbreak' }, { ips: [] }),
      ),
    ).toBe('vendor-key-1');
  });

  it('computes a key when the source key is empty', () => {
    expect(dedupKeyOf(draft({ dedupKey: '' }))).toBe(base);
  });
});
