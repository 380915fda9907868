import type { Store, StoreTransaction } from '../store/store.js';

interface Queued {
  work: (tx: StoreTransaction) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs many small units of write work in shared transactions: every unit
 * queued while the store is busy goes into the next transaction together,
 * and each caller's promise settles once that transaction has committed.
 * If a shared transaction fails, each of its units is retried on its own, so
 * one bad unit fails alone.
 */
export class GroupCommitter {
  private queue: Queued[] = [];
  private flushing = false;

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

  /** Resolves when everything queued so far has been committed (or has failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setImmediate(r));
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.store.transaction(async (tx) => {
          const values: unknown[] = [];
          for (const unit of batch) values.push(await unit.work(tx));
          return values;
        });
        batch.forEach((unit, i) => unit.resolve(results[i]));
      } catch (error) {
        if (batch.length === 1) {
          batch[0]?.reject(error);
        } else {
          for (const unit of batch) {
            await this.store.transaction((tx) => unit.work(tx)).then(unit.resolve, unit.reject);
          }
        }
      }
    }
    this.flushing = false;
  }
}
