import type { SyncFile } from './wal-sync.js';

/** One call of the WAL sync, held until the test finishes or fails it. */
export interface HeldCall {
  fd: number;
  finish: () => void;
  fail: (error: Error) => void;
}

/**
 * A WAL sync (`SqliteStoreOptions.syncWal`) that does nothing until the test
 * says so, so a test can look at the store while a sync is in flight.
 */
export class HeldSync {
  readonly calls: HeldCall[] = [];

  readonly sync: SyncFile = (fd) =>
    new Promise<void>((resolve, reject) => {
      this.calls.push({ fd, finish: resolve, fail: reject });
    });

  /** The `n`th call (0-based), once it has been made. */
  call(n: number): HeldCall {
    const call = this.calls[n];
    if (!call) throw new Error(`sync call ${n} not made yet (${this.calls.length} made)`);
    return call;
  }
}

/** Tracks whether a promise has settled, and how, without awaiting it. */
export function track<T>(promise: Promise<T>): {
  readonly state: 'pending' | 'fulfilled' | 'rejected';
  readonly error: unknown;
} {
  const tracked = {
    state: 'pending' as 'pending' | 'fulfilled' | 'rejected',
    error: undefined as unknown,
  };
  void promise.then(
    () => {
      tracked.state = 'fulfilled';
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

/** Lets pending I/O callbacks, timers and promise reactions run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 1));
}
