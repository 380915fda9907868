import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeAlert } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import { HeldSync, settle, track } from '../store/sqlite/held-sync.test-support.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { makeAlert } from '../store/store.contract.js';
import type { StoreTransaction } from '../store/store.js';
import { GroupCommitter, waitBriefly } from './group-committer.js';

describe('GroupCommitter', () => {
  let dir: string;
  let held: HeldSync;
  let store: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-group-'));
    held = new HeldSync();
    store = new SqliteStore({ dataDir: dir, syncWal: held.sync });
  });

  afterEach(async () => {
    for (const call of held.calls) call.finish();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A unit that stores an alert and returns its id, noting when it ran. */
  function unit(name: string, ran: string[]): (tx: StoreTransaction) => Promise<string> {
    const alert = makeAlert({ title: name });
    return async (tx) => {
      ran.push(name);
      await tx.insertAlert(encodeAlert(alert));
      return alert.id;
    };
  }

  it('runs the next transaction once the previous one has committed; callers hear in order once durable', async () => {
    const committer = new GroupCommitter(store);
    const ran: string[] = [];
    const told: string[] = [];
    const run = (name: string): Promise<string> =>
      committer.run(unit(name, ran)).then((id) => {
        told.push(name);
        return id;
      });

    const a = run('a');
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));
    const b = run('b');
    await vi.waitFor(() => expect(ran).toEqual(['a', 'b']));
    const c = run('c');
    await vi.waitFor(() => expect(ran).toEqual(['a', 'b', 'c']));
    await settle();
    expect(told).toEqual([]);

    held.call(0).finish();
    const aId = await a;
    expect(told).toEqual(['a']);
    await vi.waitFor(() => expect(held.calls).toHaveLength(2));
    await settle();
    expect(told).toEqual(['a']);

    held.call(1).finish();
    const ids = [aId, await b, await c];
    expect(told).toEqual(['a', 'b', 'c']);
    for (const id of ids) expect(await store.getAlert(id)).toBeDefined();
  });

  it('retries a failed shared transaction unit by unit: only the bad unit fails, callers hear in order', async () => {
    const committer = new GroupCommitter(store);
    const ran: string[] = [];
    const told: string[] = [];
    const boom = new Error('bad unit');
    const note = <T>(name: string, promise: Promise<T>): Promise<T> =>
      promise.then(
        (value) => {
          told.push(`${name} ok`);
          return value;
        },
        (error: unknown) => {
          told.push(`${name} failed`);
          throw error;
        },
      );
    const good1 = note('good1', committer.run(unit('good1', ran)));
    const bad = note(
      'bad',
      committer.run(async (tx) => {
        await unit('bad', ran)(tx);
        throw boom;
      }),
    );
    const good2 = note('good2', committer.run(unit('good2', ran)));
    const badDone = track(bad);

    // The shared transaction, then each unit alone; syncs are released as they come.
    const releasing = setInterval(() => held.calls.forEach((call) => call.finish()), 2);
    try {
      const ids = [await good1, await good2];
      await vi.waitFor(() => expect(badDone.state).toBe('rejected'));
      expect(badDone.error).toBe(boom);
      expect(ran).toEqual(['good1', 'bad', 'good1', 'bad', 'good2']);
      expect(told).toEqual(['good1 ok', 'bad failed', 'good2 ok']);
      for (const id of ids) expect(await store.getAlert(id)).toBeDefined();
      expect((await store.counts()).alerts).toBe(2);
    } finally {
      clearInterval(releasing);
    }
  });

  it('does not retry units whose transaction committed but could not be made durable', async () => {
    const committer = new GroupCommitter(store);
    const ran: string[] = [];
    const a = track(committer.run(unit('a', ran)));
    const b = track(committer.run(unit('b', ran)));
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));
    held.call(0).fail(new Error('EIO: i/o error, fdatasync'));
    await vi.waitFor(() => expect([a.state, b.state]).toEqual(['rejected', 'rejected']));
    expect(a.error).toBeInstanceOf(WardenError);
    expect((a.error as WardenError).message).toMatch(/could not sync the write-ahead log/);
    expect(b.error).toBe(a.error);
    expect(ran).toEqual(['a', 'b']);
  });

  it('drain() waits until the queued work is durable', async () => {
    const committer = new GroupCommitter(store);
    const done = track(committer.run(unit('a', [])));
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));
    const drained = track(committer.drain());
    await settle();
    expect(drained.state).toBe('pending');
    expect(done.state).toBe('pending');

    held.call(0).finish();
    await vi.waitFor(() => expect(drained.state).toBe('fulfilled'));
    expect(done.state).toBe('fulfilled');
  });
});

describe('waitBriefly', () => {
  it('resolves as soon as the commit is durable, well before the limit', async () => {
    const started = performance.now();
    await waitBriefly(Promise.resolve('durable'), 5_000);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('gives up on a slow sync after the limit, and never rejects', async () => {
    const never = new Promise<never>(() => undefined);
    const started = performance.now();
    await waitBriefly(never, 30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    await expect(waitBriefly(Promise.reject(new Error('sync failed')), 5_000)).resolves.toBe(
      undefined,
    );
  });
});
