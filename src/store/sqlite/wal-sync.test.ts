import type Database from 'better-sqlite3';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeAlert } from '../../core/alert.js';
import { WardenError } from '../../core/errors.js';
import { makeAlert } from '../store.contract.js';
import type { StoreTransaction } from '../store.js';
import { HeldSync, settle, track } from './held-sync.test-support.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

/** The store's write connection (private), to read its pragmas. */
const writerOf = (store: SqliteStore): Database.Database =>
  (store as unknown as { writer: Database.Database }).writer;

describe('SqliteStore: commits are made durable by a WAL sync after COMMIT', () => {
  let dir: string;
  let held: HeldSync;
  const open: SqliteStore[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'warden-walsync-'));
    held = new HeldSync();
  });

  afterEach(async () => {
    // Let any still-held sync finish so close() can.
    for (const call of held.calls) call.finish();
    for (const store of open.splice(0)) await store.close().catch(() => undefined);
    vi.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function openStore(options: Partial<SqliteStoreOptions> = {}): SqliteStore {
    const store = new SqliteStore({ dataDir: dir, syncWal: held.sync, ...options });
    open.push(store);
    return store;
  }

  const insert = (alert = makeAlert()) => ({
    alert,
    work: (tx: StoreTransaction) => tx.insertAlert(encodeAlert(alert)),
  });

  it('resolves a transaction only once the sync begun after its COMMIT has finished', async () => {
    const store = openStore();
    const a = insert();
    const first = track(store.transaction(a.work));
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));
    await settle();

    // Committed (another connection sees it), not acknowledged.
    expect(await store.getAlert(a.alert.id)).toBeDefined();
    expect(first.state).toBe('pending');

    held.call(0).finish();
    await vi.waitFor(() => expect(first.state).toBe('fulfilled'));
    expect(held.calls).toHaveLength(1);
  });

  it('syncs warden.db-wal by a descriptor opened after the first commit', async () => {
    const store = openStore();
    await settle();
    expect(held.calls).toHaveLength(0);
    const done = store.transaction(insert().work);
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));
    const wal = fs.statSync(`${store.path}-wal`);
    const synced = fs.fstatSync(held.call(0).fd);
    expect([synced.dev, synced.ino]).toEqual([wal.dev, wal.ino]);
    held.call(0).finish();
    await done;
  });

  it('commits the next transaction while the previous one’s sync is in flight', async () => {
    const store = openStore();
    const a = insert();
    const b = insert();
    const first = track(store.transaction(a.work));
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));

    let ran = false;
    const second = store.stagedTransaction(async (tx) => {
      ran = true;
      await b.work(tx);
    });
    await second.committed;
    expect(ran).toBe(true);
    expect(await store.getAlert(b.alert.id)).toBeDefined();
    expect(first.state).toBe('pending');
    expect(held.calls).toHaveLength(1);

    held.call(0).finish();
    await vi.waitFor(() => expect(first.state).toBe('fulfilled'));
    await vi.waitFor(() => expect(held.calls).toHaveLength(2));
    held.call(1).finish();
    await second.durable;
  });

  it('settles commits made during a running sync only with the next sync, shared by all of them', async () => {
    const store = openStore();
    const first = track(store.transaction(insert().work));
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));

    const second = store.stagedTransaction(insert().work);
    const third = store.stagedTransaction(insert().work);
    await third.committed;
    const secondDone = track(second.durable);
    const thirdDone = track(third.durable);

    // The running sync may have begun before their frames were written: it does not count for them.
    held.call(0).finish();
    await vi.waitFor(() => expect(first.state).toBe('fulfilled'));
    await vi.waitFor(() => expect(held.calls).toHaveLength(2));
    await settle();
    expect(secondDone.state).toBe('pending');
    expect(thirdDone.state).toBe('pending');

    held.call(1).finish();
    await vi.waitFor(() => expect(thirdDone.state).toBe('fulfilled'));
    expect(secondDone.state).toBe('fulfilled');
    // One sync for both: at most one runs at a time, and later commits join the next.
    expect(held.calls).toHaveLength(2);
  });

  it('rejects the commits a failed sync covered with a clear error, and refuses later writes', async () => {
    const store = openStore();
    const first = track(store.transaction(insert().work));
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));
    const second = store.stagedTransaction(insert().work);
    await second.committed;
    const secondDone = track(second.durable);

    held.call(0).fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await vi.waitFor(() => expect(first.state).toBe('rejected'));
    await vi.waitFor(() => expect(secondDone.state).toBe('rejected'));

    const error = first.error as WardenError;
    expect(error).toBeInstanceOf(WardenError);
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toMatch(/could not sync the write-ahead log .*warden\.db-wal.*EIO/);
    expect(error.message).toMatch(/may not survive a power loss/);
    expect(secondDone.error).toBe(error);

    // Not retried: a later sync could succeed over pages the kernel dropped.
    let ran = false;
    await expect(
      store.transaction(() => {
        ran = true;
        return Promise.resolve();
      }),
    ).rejects.toBe(error);
    expect(ran).toBe(false);
    expect(held.calls).toHaveLength(1);
    open.splice(0);
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('rejects a transaction whose work throws without syncing, and keeps going', async () => {
    const store = openStore();
    const boom = new Error('boom');
    const failed = store.stagedTransaction(() => Promise.reject(boom));
    await expect(failed.committed).rejects.toBe(boom);
    await expect(failed.durable).rejects.toBe(boom);
    expect(held.calls).toHaveLength(0);

    const next = store.transaction(insert().work);
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));
    held.call(0).finish();
    await next;
  });

  it('close() waits for the sync in flight before closing', async () => {
    const store = openStore();
    const a = insert();
    const committed = track(store.transaction(a.work));
    await vi.waitFor(() => expect(held.calls).toHaveLength(1));

    const closing = track(store.close());
    await settle(10);
    expect(closing.state).toBe('pending');
    expect(committed.state).toBe('pending');
    expect(writerOf(store).open).toBe(true);

    held.call(0).finish();
    await vi.waitFor(() => expect(closing.state).toBe('fulfilled'));
    expect(committed.state).toBe('fulfilled');
    expect(writerOf(store).open).toBe(false);
    open.splice(0);

    const reopened = openStore();
    expect(await reopened.getAlert(a.alert.id)).toBeDefined();
  });

  it('with the default sync, fdatasyncs the WAL after a commit; the writer runs at synchronous NORMAL', async () => {
    const spy = vi.spyOn(fs, 'fdatasync');
    const store = new SqliteStore({ dataDir: dir });
    open.push(store);
    expect(writerOf(store).pragma('synchronous', { simple: true })).toBe(1);
    expect(spy).not.toHaveBeenCalled();

    await store.transaction(insert().work);
    expect(spy).toHaveBeenCalledTimes(1);
    // Still open: the store keeps its descriptor on the WAL until close().
    const synced = fs.fstatSync(spy.mock.calls[0]?.[0] as number);
    const wal = fs.statSync(`${store.path}-wal`);
    expect([synced.dev, synced.ino]).toEqual([wal.dev, wal.ino]);

    await store.transaction(insert().work);
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it('with synchronous NORMAL, resolves at COMMIT and never syncs', async () => {
    const store = openStore({ synchronous: 'NORMAL' });
    expect(writerOf(store).pragma('synchronous', { simple: true })).toBe(1);
    const a = insert();
    await store.transaction(a.work);
    const staged = store.stagedTransaction(insert().work);
    await staged.committed;
    await staged.durable;
    expect(held.calls).toHaveLength(0);
    expect(await store.getAlert(a.alert.id)).toBeDefined();
  });
});
