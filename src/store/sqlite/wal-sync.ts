import fs from 'node:fs';
import { dirname } from 'node:path';
import { WardenError } from '../../core/errors.js';

/** Flushes the written pages of an open file to disk; rejects when the disk did not take them. */
export type SyncFile = (fd: number) => Promise<void>;

/** `fdatasync(2)` on libuv's thread pool, so the calling thread goes on working meanwhile. */
export const fdatasync: SyncFile = (fd) =>
  new Promise<void>((resolve, reject) => {
    fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const ignore = (): void => undefined;

/** fsync of a directory, so a file created in it keeps its name after a power loss; as SQLite, ignores systems that cannot. */
async function syncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const dir = await fs.promises.open(path, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some systems cannot open or fsync a directory; SQLite ignores that too.
  }
}

/**
 * Makes the writer connection's commits durable off its thread.
 *
 * The writer runs with `synchronous = NORMAL`: in WAL mode a COMMIT then only
 * appends its frames to `warden.db-wal` (into the OS page cache) and returns.
 * After each COMMIT the store calls `afterCommit()`, whose promise settles once
 * an `fdatasync` of the WAL *that began after that call* has finished:
 * fdatasync on any descriptor of the file writes every page of it that was
 * dirty when the call began, so that sync covers this commit and every one
 * before it. At most one sync runs at a time; commits that finish while one
 * runs wait for the next one (it may have begun before their frames were
 * written), which starts as soon as the running one ends, and is shared by
 * all of them.
 *
 * Why this is as durable as `synchronous = FULL` (which fsyncs the WAL inside
 * every COMMIT): a commit is acknowledged only after a sync of the WAL that
 * began after its frames were written, the same bytes on disk as FULL would
 * have waited for; its frames survive power loss, and recovery replays the WAL
 * up to its last valid commit frame. The WAL is only ever rewritten after a
 * checkpoint has copied it into the database, and every connection syncs
 * around checkpoints (the WAL before copying, the database after) and syncs
 * the WAL header when it starts reusing the file, at NORMAL as at FULL, so
 * acknowledged frames are never overwritten before the database holds them
 * durably (the checkpointer's connection runs at NORMAL for this reason, see
 * `wal-checkpointer.ts`). The one thing FULL does that a sync of the file
 * does not is fsync the directory when SQLite created the WAL file; the first
 * sync here does that too. What differs is what other connections see: they
 * may read a commit before its sync has finished (under FULL, only after),
 * but nothing waiting on the transaction hears of it before.
 *
 * A failed sync is not retried: after fsync fails the kernel may have dropped
 * the pages it could not write and call them clean, so a later, successful
 * sync would prove nothing. The commits it covered are rejected, and so is
 * every later commit (the store refuses writes until it is reopened).
 *
 * Only `warden.db-wal` is opened here, never the database or `-shm` file:
 * closing a descriptor drops the process's POSIX locks on that file, and SQLite
 * locks those two (it takes none on the WAL).
 */
export class WalSync {
  private fd: number | undefined;
  /** The sync in flight. */
  private running: Promise<void> | undefined;
  /** Commits made while `running` runs: settled by the sync that starts after it. */
  private queued: Deferred | undefined;
  private failure: WardenError | undefined;
  private closed = false;

  constructor(
    /** `…/warden.db-wal`. */
    private readonly walPath: string,
    private readonly syncFile: SyncFile = fdatasync,
  ) {}

  /** Throws the sync failure that stopped the store, if one did. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Call as soon as a COMMIT has returned: settles once a sync begun after this call has finished. */
  afterCommit(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) {
      return Promise.reject(new WardenError('store_unavailable', 'the store is closed'));
    }
    if (this.running) {
      this.queued ??= deferred();
      return this.queued.promise;
    }
    return this.start();
  }

  /** Waits for the running (and queued) syncs, then closes the WAL descriptor. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running.catch(ignore);
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) {
      await new Promise<void>((resolve, reject) =>
        fs.close(fd, (error) => (error ? reject(error) : resolve())),
      );
    }
  }

  private start(): Promise<void> {
    const running = this.syncOnce().catch((error: unknown) => {
      throw this.fail(error);
    });
    this.running = running;
    void running.then(this.finished, this.finished);
    return running;
  }

  private readonly finished = (): void => {
    this.running = undefined;
    const queued = this.queued;
    this.queued = undefined;
    if (!queued) return;
    if (this.failure) queued.reject(this.failure);
    else this.start().then(queued.resolve, queued.reject);
  };

  private async syncOnce(): Promise<void> {
    if (this.fd === undefined) {
      // Opened at the first sync, after a commit: the file exists for as long as the writer's connection is open.
      this.fd = await new Promise<number>((resolve, reject) =>
        fs.open(this.walPath, 'r+', (error, fd) => (error ? reject(error) : resolve(fd))),
      );
      await syncDirectory(dirname(this.walPath));
    }
    await this.syncFile(this.fd);
  }

  private fail(error: unknown): WardenError {
    const detail = error instanceof Error ? error.message : String(error);
    this.failure ??= new WardenError(
      'store_unavailable',
      `could not sync the write-ahead log ${this.walPath} to disk (${detail}): commits since ` +
        'the last successful sync may not survive a power loss, and the store accepts no more ' +
        'writes until it is reopened (restart Warden)',
      { cause: error },
    );
    return this.failure;
  }
}
