import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeHttpService } from '../../../test/support/fake-http-service.js';
import type { PollerConfig } from '../../config/sources-config.js';
import { CheckpointStore } from './checkpoint-store.js';
import { HttpPoller, compareCursor } from './http-poller.js';
import type { PullOutcome, PulledAlert, Scheduler } from './pull-source.js';

const alert = (title: string, time: string): Record<string, unknown> => ({
  type: 'inference_spike',
  title,
  time,
});

let fake: FakeHttpService;
let dataDir: string;
let committed: PulledAlert[];
let warnings: string[];
let observed: ({ source: string } & PullOutcome)[];

beforeEach(async () => {
  fake = await FakeHttpService.start();
  dataDir = mkdtempSync(join(tmpdir(), 'warden-poller-'));
  committed = [];
  warnings = [];
  observed = [];
});
afterEach(async () => {
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function config(overrides: Partial<PollerConfig> = {}): PollerConfig {
  return {
    name: 'siem',
    url: `${fake.url}/api/alerts?limit=100`,
    intervalMs: 30_000,
    timeoutMs: 5_000,
    headers: { Authorization: 'Bearer s3cret' },
    cursor: { param: 'since', responseField: 'next_cursor' },
    items: 'data.alerts',
    context: { model: 'support-bot' },
    ...overrides,
  };
}

function commit(alerts: readonly PulledAlert[]): Promise<void> {
  committed.push(...alerts);
  return Promise.resolve();
}

function poller(
  overrides: Partial<PollerConfig> = {},
  ingest: (alerts: readonly PulledAlert[]) => Promise<void> = commit,
  full?: PollerConfig,
): HttpPoller {
  return new HttpPoller({
    config: full ?? config(overrides),
    ingest,
    checkpoints: new CheckpointStore(dataDir),
    log: { info: () => undefined, warn: (message) => warnings.push(message) },
    observer: { pulled: (source, outcome) => observed.push({ source, ...outcome }) },
  });
}

describe('HttpPoller', () => {
  it('sends the auth header, normalises the items and passes the cursor on the next request', async () => {
    fake.enqueue(
      { body: { data: { alerts: [alert('one', '2026-11-26T10:00:00Z')] }, next_cursor: 'c-1' } },
      { body: { data: { alerts: [alert('two', '2026-11-26T10:01:00Z')] }, next_cursor: 'c-2' } },
    );
    const p = poller();
    const first = await p.pollOnce();
    expect(first).toEqual({ ok: true, alerts: 1, rejected: 0, nextDelayMs: 30_000 });
    await p.pollOnce();

    expect(fake.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer s3cret',
      'Bearer s3cret',
    ]);
    expect(fake.requests.map((r) => r.query.get('since'))).toEqual([null, 'c-1']);
    expect(fake.requests[1]?.query.get('limit')).toBe('100');
    expect(committed.map((a) => a.draft.title)).toEqual(['one', 'two']);
    expect(committed[0]?.draft.observables.model?.id).toBe('support-bot');
    const saved = JSON.parse(readFileSync(join(dataDir, 'checkpoints', 'siem.json'), 'utf8')) as {
      cursor: string;
    };
    expect(saved.cursor).toBe('c-2');
  });

  it('resumes from the checkpoint after a restart without repeating alerts', async () => {
    fake.enqueue({
      body: { data: { alerts: [alert('one', '2026-11-26T10:00:00Z')] }, next_cursor: 'c-1' },
    });
    await poller().pollOnce();
    fake.route({}, (request) =>
      request.query.get('since') === 'c-1'
        ? { body: { data: { alerts: [] } } }
        : {
            body: { data: { alerts: [alert('one', '2026-11-26T10:00:00Z')] }, next_cursor: 'c-1' },
          },
    );
    const restarted = poller();
    expect(restarted.currentCursor).toBe('c-1');
    const result = await restarted.pollOnce();
    expect(result.alerts).toBe(0);
    expect(committed.map((a) => a.draft.title)).toEqual(['one']);
    // A response without a cursor keeps the one it had.
    expect(restarted.currentCursor).toBe('c-1');
  });

  it('takes the greatest item time as the cursor when told to', async () => {
    fake.enqueue(
      {
        body: [
          alert('late', '2026-11-26T12:00:00+02:00'),
          alert('latest', '2026-11-26T10:30:00Z'),
          alert('early', '2026-11-26T09:00:00Z'),
        ],
      },
      { body: [] },
    );
    const { items: _items, ...bareConfig } = {
      ...config(),
      cursor: { param: 'after', itemField: 'time', start: '2026-11-01T00:00:00Z' },
    };
    const bare = poller({}, commit, bareConfig);
    await bare.pollOnce();
    await bare.pollOnce();
    expect(fake.requests.map((r) => r.query.get('after'))).toEqual([
      '2026-11-01T00:00:00Z',
      '2026-11-26T10:30:00Z',
    ]);
  });

  it('reports a bad item and ingests the rest', async () => {
    fake.enqueue({
      body: { data: { alerts: [{ nothing: 'here' }, alert('ok', '2026-11-26T10:00:00Z')] } },
    });
    const result = await poller().pollOnce();
    expect(result).toMatchObject({ ok: true, alerts: 1, rejected: 1 });
    expect(warnings[0]).toMatch(/^poller siem: item 0 skipped: could not recognise/);
  });

  it('backs off on HTTP errors and failed commits, keeping the checkpoint, and never logs the secret', async () => {
    fake.enqueue(
      { status: 500, body: { error: 'down' } },
      { status: 503, body: 'x' },
      { status: 429, headers: { 'retry-after': '3600' }, body: '' },
      { body: 'not json' },
      { body: { data: { alerts: [alert('one', '2026-11-26T10:00:00Z')] }, next_cursor: 'c-9' } },
      { body: { data: { alerts: [alert('one', '2026-11-26T10:00:00Z')] }, next_cursor: 'c-9' } },
    );
    let failCommit = true;
    const p = poller({}, (alerts) => {
      if (failCommit) {
        failCommit = false;
        return Promise.reject(new Error('store unavailable'));
      }
      return commit(alerts);
    });
    const delays = [];
    for (let i = 0; i < 4; i += 1) delays.push((await p.pollOnce()).nextDelayMs);
    expect(delays).toEqual([60_000, 120_000, 3_600_000, 480_000]);
    // The commit fails: no checkpoint, so the batch is read again.
    expect((await p.pollOnce()).ok).toBe(false);
    expect(p.currentCursor).toBeUndefined();
    const ok = await p.pollOnce();
    expect(ok).toMatchObject({ ok: true, alerts: 1, nextDelayMs: 30_000 });
    expect(p.currentCursor).toBe('c-9');
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toMatch(/HTTP 500; retrying in 60s \(failure 1\)/);
    // The observer (the server's metrics) hears of every poll, failed or not.
    expect(observed.map((o) => o.ok)).toEqual([false, false, false, false, false, true]);
    expect(observed.at(-1)).toEqual({ source: 'siem', ok: true, alerts: 1, rejected: 0 });
    expect(warnings.join('\n')).not.toContain('s3cret');
  });

  it('gives up on a feed that does not answer within its timeout, and backs off', async () => {
    fake.enqueue({ delayMs: 5_000, body: { data: { alerts: [] } } });
    const started = performance.now();
    const result = await poller({ timeoutMs: 150 }).pollOnce();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result).toMatchObject({ ok: false, nextDelayMs: 60_000 });
    expect(warnings[0]).toMatch(/poller siem: .*(timeout|abort)/i);
    expect(committed).toHaveLength(0);
  });

  it('caps the backoff at 15 minutes', async () => {
    fake.otherwise({ status: 502, body: '' });
    const p = poller();
    let last = 0;
    for (let i = 0; i < 8; i += 1) last = (await p.pollOnce()).nextDelayMs;
    expect(last).toBe(15 * 60_000);
  });

  it('polls on its schedule until stopped', async () => {
    fake.otherwise({ body: [] });
    const pending: { run: () => void; delayMs: number }[] = [];
    const scheduler: Scheduler = {
      schedule(run, delayMs) {
        const entry = { run, delayMs };
        pending.push(entry);
        return () => pending.splice(pending.indexOf(entry), 1);
      },
    };
    const p = new HttpPoller({
      config: {
        name: 'tick',
        url: fake.url,
        intervalMs: 1000,
        timeoutMs: 1000,
        headers: {},
        context: {},
      },
      ingest: () => Promise.resolve(),
      checkpoints: new CheckpointStore(dataDir),
      log: { info: () => undefined, warn: () => undefined },
      scheduler,
    });
    p.start();
    expect(pending.map((e) => e.delayMs)).toEqual([0]);
    pending.shift()?.run();
    await expect.poll(() => pending.length).toBe(1);
    expect(pending[0]?.delayMs).toBe(1000);
    expect(fake.requests).toHaveLength(1);
    await p.stop();
    expect(pending).toHaveLength(0);
  });
});

describe('compareCursor', () => {
  it('orders numbers numerically, times by instant, else as text', () => {
    expect(compareCursor('10', '9')).toBeGreaterThan(0);
    expect(compareCursor('2026-11-26T12:00:00+02:00', '2026-11-26T10:30:00Z')).toBeLessThan(0);
    expect(compareCursor('b', 'a')).toBeGreaterThan(0);
  });
});
