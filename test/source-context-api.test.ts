import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedAlert } from '../src/core/alert.js';
import { bearer, startHarness, type Harness } from './support/warden-harness.js';

/** Sender context (`?model=`, `X-Warden-Model`, …) through the HTTP API. */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** A verdict that names no model, session or user. */
function bareVerdict(title: string, overrides: Record<string, unknown> = {}) {
  return {
    type: 'prompt_injection',
    title,
    severity: 'high',
    time: '2026-11-26T10:00:00Z',
    source: { product: 'Detector', vendor: 'Acme' },
    ...overrides,
  };
}

async function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
  return h.app.inject({
    method: 'POST',
    url,
    headers: { ...bearer(h.tokens.analyst), 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(payload),
  });
}

async function storedAlert(response: { statusCode: number; json: () => unknown }) {
  expect(response.statusCode).toBe(202);
  const body = response.json() as { results: { id: string }[] };
  const id = body.results[0]?.id as string;
  const stored = await h.app.inject({
    url: `/api/v1/alerts/${id}`,
    headers: bearer(h.tokens.viewer),
  });
  return stored.json<NormalizedAlert>();
}

function expectBadRequest(
  response: { statusCode: number; json: () => unknown },
  field: string,
): void {
  expect(response.statusCode).toBe(400);
  expect(response.json()).toMatchObject({ code: 'invalid_field', field });
}

describe('POST /api/v1/alerts with sender context', () => {
  it('fills model, session and user from the query string', async () => {
    const alert = await storedAlert(
      await post(
        '/api/v1/alerts?source=native&model=fraud-detection&session=s-9f8e&user=u-42',
        bareVerdict('context from query'),
      ),
    );
    expect(alert.observables).toMatchObject({
      model: { id: 'fraud-detection' },
      sessionIds: ['s-9f8e'],
      users: ['u-42'],
    });
    // The model from the context is enriched from the inventory like any other.
    expect(alert.enrichment.modelId).toBe('fraud-detection');
  });

  it('reads the X-Warden-* headers, the query winning over a header', async () => {
    const alert = await storedAlert(
      await post('/api/v1/alerts?model=customer-churn', bareVerdict('context from headers'), {
        'x-warden-model': 'fraud-detection',
        'x-warden-session': 'hdr-session',
        'x-warden-user': 'hdr-user',
      }),
    );
    expect(alert.observables).toMatchObject({
      model: { id: 'customer-churn' },
      sessionIds: ['hdr-session'],
      users: ['hdr-user'],
    });
  });

  it('keeps what the payload says, and applies the context to every alert of a batch', async () => {
    const response = await post('/api/v1/alerts?model=fraud-detection&user=ctx-user', [
      bareVerdict('payload wins', {
        observables: { model: { id: 'customer-churn' }, users: ['payload-user'] },
      }),
      bareVerdict('batch second'),
    ]);
    expect(response.statusCode).toBe(202);
    const ids = response.json<{ results: { id: string }[] }>().results.map((r) => r.id);
    const [first, second] = await Promise.all(ids.map((id) => h.warden.store.getAlert(id)));
    expect(first?.observables).toMatchObject({
      model: { id: 'customer-churn' },
      users: ['payload-user'],
    });
    expect(second?.observables).toMatchObject({
      model: { id: 'fraud-detection' },
      users: ['ctx-user'],
    });
  });

  it('answers 400 naming the parameter or header for an unusable value', async () => {
    const before = await h.warden.store.counts();
    expectBadRequest(await post('/api/v1/alerts?model=', bareVerdict('x')), 'model');
    expectBadRequest(await post('/api/v1/alerts?session=%20%20', bareVerdict('x')), 'session');
    expectBadRequest(
      await post(`/api/v1/alerts?user=${'u'.repeat(201)}`, bareVerdict('x')),
      'user',
    );
    expectBadRequest(await post('/api/v1/alerts?user=a&user=b', bareVerdict('x')), 'user');
    expectBadRequest(
      await post('/api/v1/alerts', bareVerdict('x'), { 'x-warden-session': 's'.repeat(201) }),
      'x-warden-session',
    );
    // 200 characters is the limit, not over it.
    const ok = await post(`/api/v1/alerts?user=${'u'.repeat(200)}`, bareVerdict('long user'));
    expect(ok.statusCode).toBe(202);
    expect((await h.warden.store.counts()).alerts).toBe(before.alerts + 1);
  });

  it('documents the context parameters in the OpenAPI document', async () => {
    const doc = (
      await h.app.inject({ url: '/api/v1/openapi.json', headers: bearer(h.tokens.viewer) })
    ).json<{
      paths: Record<string, { post?: { parameters: { name: string; in: string }[] } }>;
    }>();
    const params = doc.paths['/api/v1/alerts']?.post?.parameters ?? [];
    expect(params.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining([
        'query:model',
        'query:session',
        'query:user',
        'header:X-Warden-Model',
        'header:X-Warden-Session',
        'header:X-Warden-User',
      ]),
    );
  });
});

describe('business unit in the sender context', () => {
  it('puts a verdict about an unknown model in the named unit, so its case is scoped there', async () => {
    const alert = await storedAlert(
      await post(
        '/api/v1/alerts?business_unit=customer-experience',
        bareVerdict('unit hint', {
          observables: { model: { id: 'shadow-llm' } },
        }),
      ),
    );
    expect(alert.businessUnit).toBe('customer-experience');
    expect(alert.enrichment.businessUnit).toBe('customer-experience');
    const c = await h.warden.store.getCase(alert.caseId ?? '');
    expect(c?.businessUnit).toBe('customer-experience');
  });

  it('is taken from X-Warden-Business-Unit, loses to a model the inventory knows, and ignores a unit it does not know', async () => {
    const fromHeader = await storedAlert(
      await post('/api/v1/alerts', bareVerdict('header hint'), {
        'x-warden-business-unit': 'platform-engineering',
      }),
    );
    expect(fromHeader.enrichment.businessUnit).toBe('platform-engineering');
    const known = await storedAlert(
      await post(
        '/api/v1/alerts?business_unit=platform-engineering',
        bareVerdict('model wins', {
          observables: { model: { id: 'customer-churn' } },
        }),
      ),
    );
    expect(known.enrichment.businessUnit).toBe('retail-banking');
    const unknown = await storedAlert(
      await post('/api/v1/alerts?business_unit=no-such-unit', bareVerdict('unknown unit')),
    );
    expect(unknown.enrichment.businessUnit).toBeUndefined();
  });
});
