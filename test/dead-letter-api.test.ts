import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterRecord } from '../src/store/store.js';
import {
  bearer,
  demoConfigWith,
  spikeAlert,
  startHarness,
  type Harness,
} from './support/warden-harness.js';

let on: Harness;
let off: Harness;
let configDir: string;

beforeAll(async () => {
  configDir = demoConfigWith('ingest:\n  dead_letter: true\n');
  [on, off] = await Promise.all([startHarness({}, 'queue', configDir), startHarness()]);
});
afterAll(async () => {
  await Promise.all([on.close(), off.close()]);
  rmSync(configDir, { recursive: true, force: true });
});

interface Result {
  index: number;
  status: string;
  id?: string;
  deadLetterId?: string;
  error?: { code: string; field?: string };
}

function post(
  h: Harness,
  payload: unknown,
  url = '/api/v1/alerts',
  contentType = 'application/json',
) {
  return h.app.inject({
    method: 'POST',
    url,
    headers: { ...bearer(h.tokens.analyst), 'content-type': contentType },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

function replay(h: Harness, id: string, query = '', secret = h.tokens.admin) {
  return h.app.inject({
    method: 'POST',
    url: `/api/v1/deadletters/${id}/replay${query}`,
    headers: bearer(secret),
  });
}

async function deadLetter(h: Harness, id: string): Promise<DeadLetterRecord | undefined> {
  return h.warden.store.getDeadLetter(id);
}

/** A native alert without its `type`: no format recognises it, native is named with ?source=native. */
function untyped(ip: string): Record<string, unknown> {
  const { type: _type, ...rest } = spikeAlert(ip, { title: `untyped ${ip}` });
  return rest;
}

describe('dead letters on (ingest.dead_letter: true)', () => {
  it('keeps each refused alert of a batch as a dead letter, in the 202 results, and stores only the good ones', async () => {
    const before = await on.warden.store.counts();
    const ndjson = [
      JSON.stringify(spikeAlert('198.51.100.40', { title: 'dl good' })),
      '{not json',
      JSON.stringify({ hello: 'world' }),
      JSON.stringify({ type: 'inference_spike' }),
    ].join('\n');
    const response = await post(on, ndjson, '/api/v1/alerts', 'application/x-ndjson');
    expect(response.statusCode).toBe(202);
    const results = response.json<{ results: Result[] }>().results;
    expect(results.map((r) => [r.status, r.error?.code])).toEqual([
      ['new', undefined],
      ['rejected', 'malformed_json'],
      ['rejected', 'undetected_source_format'],
      ['rejected', 'missing_field'],
    ]);
    expect(results[0]?.deadLetterId).toBeUndefined();
    const [bad, unknown, untitled] = await Promise.all(
      results.slice(1).map((r) => deadLetter(on, r.deadLetterId ?? '')),
    );
    expect(bad).toMatchObject({ reasonCode: 'malformed_json', body: '{not json', source: null });
    expect(unknown).toMatchObject({
      reasonCode: 'undetected_source_format',
      body: '{"hello":"world"}',
      replayedAt: null,
      replayResult: null,
    });
    expect(untitled).toMatchObject({ reasonCode: 'missing_field', field: 'title' });
    // A refused alert is still not an alert.
    expect((await on.warden.store.counts()).alerts).toBe(before.alerts + 1);
  });

  it('answers a lone refused payload with its 422 problem naming the dead letter and the closest format', async () => {
    const response = await post(on, { SystemAlertId: 'sa-1', AlertName: 'x' });
    expect(response.statusCode).toBe(422);
    const problem = response.json<{
      code: string;
      field: string;
      closestFormat: string;
      deadLetterId: string;
      detail: string;
    }>();
    expect(problem).toMatchObject({
      code: 'undetected_source_format',
      field: 'AlertSeverity',
      closestFormat: 'sentinel',
    });
    expect(problem.detail).toContain('closest is sentinel');
    expect(await deadLetter(on, problem.deadLetterId)).toMatchObject({
      reasonCode: 'undetected_source_format',
      field: 'AlertSeverity',
    });
  });

  it('keeps the ?source= asked for, and every refusal of an all-bad batch', async () => {
    const response = await post(
      on,
      [{ title: 'x' }, { type: 'nope', title: 'y' }],
      '/api/v1/alerts?source=native',
    );
    expect(response.statusCode).toBe(422);
    const errors = response.json<{ errors: Result[] }>().errors;
    const stored = await Promise.all(errors.map((e) => deadLetter(on, e.deadLetterId ?? '')));
    expect(stored.map((d) => [d?.source, d?.reasonCode, d?.field])).toEqual([
      ['native', 'missing_field', 'type'],
      ['native', 'invalid_field', 'type'],
    ]);
  });

  it('does not keep refusals of the request itself', async () => {
    const before = (await on.warden.store.listDeadLetters({ limit: 500 })).items.length;
    expect((await post(on, '{"type": ')).statusCode).toBe(400);
    expect(
      (await post(on, spikeAlert('198.51.100.1'), '/api/v1/alerts?source=nope')).statusCode,
    ).toBe(400);
    expect(
      (
        await on.app.inject({
          method: 'POST',
          url: '/api/v1/alerts',
          headers: { ...bearer(on.tokens.viewer), 'content-type': 'application/json' },
          payload: JSON.stringify({ hello: 'world' }),
        })
      ).statusCode,
    ).toBe(403);
    expect((await on.warden.store.listDeadLetters({ limit: 500 })).items).toHaveLength(before);
  });

  it('lists dead letters newest first, paged, for admins only', async () => {
    const first = await on.app.inject({
      url: '/api/v1/deadletters?limit=2',
      headers: bearer(on.tokens.admin),
    });
    expect(first.statusCode).toBe(200);
    const page = first.json<{ items: DeadLetterRecord[]; nextCursor: string | null }>();
    expect(page.items).toHaveLength(2);
    const [newer, older] = page.items.map((d) => d.receivedAt);
    expect((newer ?? '') >= (older ?? '')).toBe(true);
    const next = await on.app.inject({
      url: `/api/v1/deadletters?limit=2&cursor=${page.nextCursor ?? ''}`,
      headers: bearer(on.tokens.admin),
    });
    const ids = next.json<{ items: DeadLetterRecord[] }>().items.map((d) => d.id);
    expect(ids).not.toContain(page.items[0]?.id);
    for (const who of ['viewer', 'analyst', 'responder']) {
      const refused = await on.app.inject({
        url: '/api/v1/deadletters',
        headers: bearer(on.tokens[who]),
      });
      expect(refused.statusCode, who).toBe(403);
    }
    const typo = await on.app.inject({
      url: '/api/v1/deadletters?limt=2',
      headers: bearer(on.tokens.admin),
    });
    expect(typo.json()).toMatchObject({ code: 'invalid_field', field: 'limt' });
  });

  it('a replay refused again stays a dead letter, with the new reason', async () => {
    const problem = (await post(on, untyped('198.51.100.50'))).json<{ deadLetterId: string }>();
    const id = problem.deadLetterId;

    // Detected again, refused again: it stays a dead letter.
    const again = await replay(on, id);
    expect(again.statusCode).toBe(422);
    expect(again.json()).toMatchObject({ code: 'undetected_source_format', deadLetterId: id });
    expect((await deadLetter(on, id))?.replayResult).toMatchObject({ status: 'rejected' });

    // ?source=native: native reads it… and wants a type, the new reason.
    const refused = await replay(on, id, '?source=native');
    expect(refused.json()).toMatchObject({
      code: 'missing_field',
      field: 'type',
      deadLetterId: id,
    });
    expect(await deadLetter(on, id)).toMatchObject({
      reasonCode: 'missing_field',
      field: 'type',
      replayResult: { status: 'rejected', code: 'missing_field', field: 'type' },
    });
  });

  it('replays a payload a named format reads, records the alert, audits it, and refuses a second replay', async () => {
    const payload = { type: 'inference_spike', title: 'only native when named', class_uid: 1 };
    // class_uid keeps detection off native; ?source=native reads it.
    const problem = (await post(on, { ...payload, observables: { ips: ['198.51.100.60'] } })).json<{
      code: string;
      deadLetterId: string;
    }>();
    expect(problem.code).toBe('undetected_source_format');
    const id = problem.deadLetterId;
    const before = await on.warden.store.counts();

    const ok = await replay(on, id, '?source=native&model=customer-churn');
    expect(ok.statusCode).toBe(200);
    const body = ok.json<{
      deadLetter: DeadLetterRecord;
      result: { id: string; status: string };
    }>();
    expect(body.result.status).toBe('new');
    expect(body.deadLetter).toMatchObject({
      id,
      reasonCode: 'undetected_source_format',
      replayResult: { status: 'new', alertId: body.result.id },
    });
    const alert = await on.warden.store.getAlert(body.result.id);
    expect(alert).toMatchObject({
      source: { format: 'native' },
      enrichment: { modelId: 'customer-churn' },
    });
    expect((await on.warden.store.counts()).alerts).toBe(before.alerts + 1);
    const audit = await on.warden.store.readAudit(0, 10_000);
    expect(audit.at(-1)).toMatchObject({
      action: 'deadletter.replayed',
      subject: id,
      actor: expect.any(String) as string,
    });

    const twice = await replay(on, id, '?source=native');
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ code: 'conflict' });
  });

  it('refuses a replay of an unknown dead letter, with an unknown format, or by a non-admin', async () => {
    expect((await replay(on, 'nope')).json()).toMatchObject({ code: 'not_found' });
    const { deadLetterId } = (await post(on, { hello: 'again' })).json<{ deadLetterId: string }>();
    expect((await replay(on, deadLetterId, '?source=splunk-ish')).json()).toMatchObject({
      code: 'unknown_source_format',
      field: 'source',
    });
    expect((await deadLetter(on, deadLetterId))?.replayedAt).toBeNull();
    expect((await replay(on, deadLetterId, '', on.tokens.analyst)).statusCode).toBe(403);
  });
});

describe('replaying every pending dead letter', () => {
  it('replays oldest first in one call, up to the limit; one refused again stays pending', async () => {
    const h = await startHarness({}, 'queue', configDir);
    try {
      const readable = (ip: string) => ({
        type: 'inference_spike',
        title: `native when named ${ip}`,
        class_uid: 1, // keeps detection off native
        observables: { ips: [ip] },
      });
      const ids: string[] = [];
      for (const payload of [readable('198.51.100.81'), { hello: 1 }, readable('198.51.100.82')]) {
        ids.push((await post(h, payload)).json<{ deadLetterId: string }>().deadLetterId);
      }
      const bulk = (query: string, secret = h.tokens.admin) =>
        h.app.inject({
          method: 'POST',
          url: `/api/v1/deadletters/replay${query}`,
          headers: bearer(secret),
        });
      const before = await h.warden.store.counts();

      const first = await bulk('?source=native&model=customer-churn&limit=2');
      expect(first.statusCode).toBe(200);
      const summary = first.json<{
        replayed: number;
        stored: number;
        refused: number;
        remaining: number;
        results: { deadLetterId: string; result: { status: string; alertId?: string } }[];
      }>();
      expect(summary).toMatchObject({ replayed: 2, stored: 1, refused: 1, remaining: 1 });
      expect(summary.results.map((r) => [r.deadLetterId, r.result.status])).toEqual([
        [ids[0], 'new'],
        [ids[1], 'rejected'],
      ]);
      const alert = await h.warden.store.getAlert(summary.results[0]?.result.alertId ?? '');
      expect(alert).toMatchObject({ enrichment: { modelId: 'customer-churn' } });

      // The one refused again is still pending, with the one not reached.
      const second = await bulk('?source=native');
      expect(second.json()).toMatchObject({ replayed: 2, stored: 1, refused: 1, remaining: 0 });
      expect((await h.warden.store.counts()).alerts).toBe(before.alerts + 2);
      expect(await deadLetter(h, ids[2] ?? '')).toMatchObject({
        replayResult: { status: 'new' },
      });
      const audit = (await h.warden.store.readAudit(0, 10_000)).filter(
        (a) => a.action === 'deadletter.replayed',
      );
      expect(audit.map((a) => a.subject)).toEqual([ids[0], ids[1], ids[1], ids[2]]);

      expect((await bulk('?limit=0')).json()).toMatchObject({
        code: 'invalid_field',
        field: 'limit',
      });
      expect((await bulk('?source=nope')).json()).toMatchObject({
        code: 'unknown_source_format',
      });
      expect((await bulk('', h.tokens.analyst)).statusCode).toBe(403);
    } finally {
      await h.close();
    }
  });
});

describe('dead letters off (the default)', () => {
  it('refuses as before and keeps nothing', async () => {
    const response = await post(off, [
      spikeAlert('198.51.100.70', { title: 'off' }),
      { hello: 'world' },
    ]);
    expect(response.statusCode).toBe(202);
    const results = response.json<{ results: Result[] }>().results;
    expect(results[1]).toMatchObject({
      status: 'rejected',
      error: { code: 'undetected_source_format' },
    });
    expect(results[1]?.deadLetterId).toBeUndefined();
    const lone = (await post(off, { hello: 'world' })).json<Record<string, unknown>>();
    expect(lone.deadLetterId).toBeUndefined();
    expect((await off.warden.store.listDeadLetters({ limit: 10 })).items).toEqual([]);
    const listed = await off.app.inject({
      url: '/api/v1/deadletters',
      headers: bearer(off.tokens.admin),
    });
    expect(listed.json()).toEqual({ items: [], nextCursor: null });
  });
});
