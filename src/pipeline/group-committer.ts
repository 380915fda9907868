import type { Store, StoreTransaction } from '../store/store.js';

/**
 * How long a committer waits for a commit to become durable before it starts
 * the next transaction anyway. A durable commit's callers are told from this
 * thread's event loop, so once the next transaction's synchronous work has
 * begun they wait for it: on a disk that syncs in well under this (0.1–0.2 ms
 * on the benchmark machine) waiting is cheaper; on a slow one the next
 * transaction overlaps the sync.
 */
export const DURABLE_WAIT_MS = 1;

/** Resolves when `durable` settles or after `ms`, whichever is first; never rejects. */
export function waitBriefly(durable: Promise<unknown>, ms = DURABLE_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    durable.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface Queued {
  work: (tx: StoreTransaction) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const succeeded = (promise: Promise<unknown>): Promise<boolean> =>
  promise.then(
    () => true,
    () => false,
  );

/**
 * Runs many small units of write work in shared transactions: every unit
 * queued while the store is busy goes into the next transaction together,
 * and each caller's promise settles once that transaction is durable.
 * If a shared transaction fails, each of its units is retried on its own, so
 * one bad unit fails alone.
 *
 * The next transaction starts as soon as the previous one has committed,
 * while the store makes that one durable; callers still hear in commit order.
 */
export class GroupCommitter {
  private queue: Queued[] = [];
  private flushing = false;
  /** Settles once the callers of every transaction started so far have been told, in order. */
  private settled: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    /** Most units per transaction. @default 1000 */
    private readonly maxBatch = 1000,
  ) {}

  run<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Resolves when everything queued so far has been made durable (or has failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setImmediate(r));
    await this.settled;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const shared = this.store.stagedTransaction(async (tx) => {
        const values: unknown[] = [];
        for (const unit of batch) values.push(await unit.work(tx));
        return values;
      });
      if ((await succeeded(shared.committed)) || batch.length === 1) {
        // Committed (or one unit that failed alone): its callers hear once it is durable.
        this.settle(
          shared.durable,
          (values) => batch.forEach((unit, i) => unit.resolve(values[i])),
          (error) => batch.forEach((unit) => unit.reject(error)),
        );
        await waitBriefly(shared.durable);
        continue;
      }
      // Rolled back: retry unit by unit. (A commit that failed only to become
      // durable is not retried: its work is in the store.)
      for (const unit of batch) {
        const alone = this.store.stagedTransaction((tx) => unit.work(tx));
        this.settle(alone.durable, unit.resolve, unit.reject);
        await succeeded(alone.committed);
      }
    }
    this.flushing = false;
  }

  /** Settles callers once `durable` has, and after the callers of every earlier transaction. */
  private settle<T>(
    durable: Promise<T>,
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
  ): void {
    const outcome = durable.then(
      (value) => () => resolve(value),
      (error: unknown) => () => reject(error),
    );
    this.settled = Promise.all([this.settled, outcome]).then(([, tell]) => tell());
  }
}
