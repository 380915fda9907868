import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { bearer, demoConfigWith, startHarness, type Harness } from './support/warden-harness.js';

/** Payloads that hold several alerts (a Kibana action's context.alerts) or none (garak run rows). */

let h: Harness;
let configDir: string;

beforeAll(async () => {
  configDir = demoConfigWith('ingest:\n  dead_letter: true\n');
  h = await startHarness({}, 'queue', configDir);
});
afterAll(async () => {
  await h.close();
  rmSync(configDir, { recursive: true, force: true });
});

interface IngestBody {
  accepted: number;
  new: number;
  duplicates: number;
  rejected: number;
  ignored: number;
  results: {
    index: number;
    part?: number;
    id?: string;
    status: string;
    reason?: string;
    error?: { code: string; field?: string; message: string };
  }[];
}

async function post(payload: unknown, contentType = 'application/json') {
  return h.app.inject({
    method: 'POST',
    url: '/api/v1/alerts?model=support-bot',
    headers: { ...bearer(h.tokens.analyst), 'content-type': contentType },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

const RUN = '7d0e6b0a-1c2f-4a3b-9c8d-0e1f2a3b4c5d';

describe('POST /api/v1/alerts with multi-alert and empty payloads', () => {
  it('answers garak run rows as ignored and stores the failed eval', async () => {
    const before = await h.warden.store.counts();
    const ndjson = [
      { entry_type: 'init', garak_version: '0.14.0', start_time: '2026-11-26T10:00:00', run: RUN },
      {
        entry_type: 'eval',
        probe: 'dan.Dan_11_0',
        detector: 'dan.DAN',
        passed: 2,
        total_evaluated: 10,
        run: RUN,
      },
      { entry_type: 'completion', end_time: '2026-11-26T10:05:00', run: RUN },
    ]
      .map((row) => JSON.stringify(row))
      .join('\n');
    const response = await post(ndjson, 'application/x-ndjson');
    expect(response.statusCode).toBe(202);
    const body = response.json<IngestBody>();
    expect(body).toMatchObject({ accepted: 1, new: 1, rejected: 0, ignored: 2 });
    expect(body.results).toMatchObject([
      { index: 0, status: 'ignored', reason: 'garak payload carries no finding' },
      { index: 1, status: 'new' },
      { index: 2, status: 'ignored' },
    ]);
    expect(body.results[1]).not.toHaveProperty('part');
    expect((await h.warden.store.counts()).alerts).toBe(before.alerts + 1);
    const stored = await h.warden.store.getAlert(body.results[1]?.id as string);
    expect(stored).toMatchObject({
      type: 'jailbreak',
      observables: { model: { id: 'support-bot' } },
    });
  });

  it('answers a lone payload with no finding 202 ignored, not an error', async () => {
    const response = await post({ entry_type: 'init', run: RUN });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      accepted: 0,
      new: 0,
      duplicates: 0,
      rejected: 0,
      ignored: 1,
      results: [{ index: 0, status: 'ignored', reason: 'garak payload carries no finding' }],
    });
  });

  it('expands context.alerts into one result per part, each stored or refused alone', async () => {
    const alert = (uuid: string): Record<string, unknown> => ({
      'kibana.alert.uuid': uuid,
      'kibana.alert.rule.name': 'LLM prompt injection attempt',
      'kibana.alert.severity': 'high',
      'source.ip': '203.0.113.45',
    });
    const payload = {
      rule: { id: 'r-1', name: 'LLM rules' },
      context: { alerts: [alert('m-1'), alert('m-2'), { 'kibana.alert.uuid': 'm-3' }] },
    };
    const response = await post(payload);
    expect(response.statusCode).toBe(202);
    const body = response.json<IngestBody>();
    expect(body).toMatchObject({ accepted: 2, new: 2, rejected: 1, ignored: 0 });
    expect(body.results).toMatchObject([
      { index: 0, part: 0, status: 'new' },
      { index: 0, part: 1, status: 'new' },
      { index: 0, part: 2, status: 'rejected', error: { code: 'missing_field' } },
    ]);
    expect(body.results[2]?.error?.message).toMatch(/^alert \[0\.2\]: /);
    // The refused part is kept alone, so a replay reads that alert alone.
    const deadLetterId = (body.results[2] as { deadLetterId?: string }).deadLetterId as string;
    const deadLetter = await h.warden.store.getDeadLetter(deadLetterId);
    expect(JSON.parse(deadLetter?.body ?? 'null')).toEqual({ 'kibana.alert.uuid': 'm-3' });
    const stored = await h.warden.store.getAlert(body.results[1]?.id as string);
    expect(stored).toMatchObject({ source: { format: 'elastic' }, raw: alert('m-2') });
  });

  it('answers 422 when every part of a multi-alert payload is refused', async () => {
    const payload = { context: { alerts: [{ 'kibana.alert.uuid': 'z-1' }] } };
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/alerts?source=elastic',
      headers: { ...bearer(h.tokens.analyst), 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
    expect(response.statusCode).toBe(422);
    const body = response.json<{ errors: { deadLetterId?: string }[] }>();
    expect(body).toMatchObject({ errors: [{ index: 0, part: 0, status: 'rejected' }] });
    expect(body.errors[0]?.deadLetterId).toMatch(/\w/);
  });
});
