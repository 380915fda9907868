const pause = new Int32Array(new SharedArrayBuffer(4));

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs `work`, and again after a short pause (1, 2, 4 … 50 ms) while SQLite
 * answers SQLITE_BUSY, for up to `retryMs`. The busy timeout covers most
 * contention, but not all: under load, a transaction starting while the
 * checkpointer restarted the WAL was refused with "database is locked" some
 * 70 ms into a 5 s busy timeout, and the ingest request it carried failed.
 * Blocks the thread while it waits, as SQLite's own busy timeout does.
 */
export function retryWhileBusy<T>(work: () => T, retryMs = 10_000): T {
  const deadline = Date.now() + retryMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      return work();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, wait);
    }
  }
}
