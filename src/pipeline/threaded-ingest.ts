import type { Worker } from 'node:worker_threads';
import type { EncodedAlert } from '../core/alert.js';
import { WardenError, type ErrorCode } from '../core/errors.js';
import type {
  BatchCommitInfo,
  IngestObserver,
  IngestOutcome,
  IngestQueue,
} from './ingest-queue.js';

/** Messages to the writer thread. Alerts travel as JSON text: copying strings is far cheaper than cloning objects. */
export type ToIngestWorker =
  { kind: 'submit'; id: number; docs: string[]; raws: string[] } | { kind: 'close' };

export interface SerializedError {
  message: string;
  code?: ErrorCode;
  status?: number;
  retryable?: boolean;
}

/** Messages from the writer thread. */
export type FromIngestWorker =
  | { kind: 'committed'; id: number; outcomes: IngestOutcome[] }
  | { kind: 'failed'; id: number; error: SerializedError }
  | { kind: 'batch'; info: BatchCommitInfo }
  | { kind: 'closed' };

export interface ThreadedIngestOptions {
  /** Starts the writer thread: a worker running an `IngestPipeline` over its own store connection. */
  spawn: () => Worker;
  observer?: IngestObserver;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof WardenError) {
    return {
      message: error.message,
      code: error.code,
      status: error.status,
      retryable: error.retryable,
    };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

function deserializeError(error: SerializedError): Error {
  if (!error.code) return new Error(error.message);
  return new WardenError(error.code, error.message, {
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.retryable === undefined ? {} : { retryable: error.retryable }),
  });
}

interface Waiting {
  resolve: (outcomes: IngestOutcome[]) => void;
  reject: (error: Error) => void;
}

/**
 * An ingest queue whose store writes run on a worker thread, so the request
 * thread keeps parsing and normalising while the writer commits (the WAL's
 * fdatasync runs on the thread pool, overlapped with the next commit).
 * Batching happens in the worker: submissions that arrive while
 * it commits go into its next transaction together.
 *
 * If the worker dies, the submissions it held fail with `store_unavailable`
 * (none was acknowledged, so senders retry) and the next submission starts a
 * new worker.
 */
export class ThreadedIngest implements IngestQueue {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: ThreadedIngestOptions) {
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = this.options.spawn();
    worker.on('message', (message: FromIngestWorker) => this.onMessage(message));
    worker.on('error', (error) => this.onExit(worker, error));
    worker.on('exit', (code) =>
      this.onExit(worker, new Error(`ingest writer thread exited with code ${code}`)),
    );
    return worker;
  }

  private onMessage(message: FromIngestWorker): void {
    switch (message.kind) {
      case 'committed':
        this.settle(message.id)?.resolve(message.outcomes);
        break;
      case 'failed':
        this.settle(message.id)?.reject(deserializeError(message.error));
        break;
      case 'batch':
        this.options.observer?.batchCommitted(message.info);
        break;
      case 'closed':
        break;
    }
  }

  private settle(id: number): Waiting | undefined {
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    return waiting;
  }

  private onExit(worker: Worker, cause: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const waiting of this.waiting.values()) {
      waiting.reject(
        new WardenError('store_unavailable', 'the ingest writer stopped; retry the request', {
          cause,
        }),
      );
    }
    this.waiting.clear();
  }

  submit(alerts: readonly EncodedAlert[]): Promise<IngestOutcome[]> {
    if (alerts.length === 0) return Promise.resolve([]);
    if (this.closing) {
      return Promise.reject(new WardenError('store_unavailable', 'Warden is shutting down'));
    }
    this.worker ??= this.start();
    const id = this.nextId++;
    const message: ToIngestWorker = {
      kind: 'submit',
      id,
      docs: alerts.map((a) => a.doc),
      raws: alerts.map((a) => a.raw),
    };
    return new Promise<IngestOutcome[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker?.postMessage(message);
    });
  }

  async drain(): Promise<void> {
    while (this.waiting.size > 0) await new Promise((r) => setTimeout(r, 1));
  }

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    await this.drain();
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      worker.on('message', (message: FromIngestWorker) => {
        if (message.kind === 'closed') resolve();
      });
      worker.once('exit', () => resolve());
      worker.postMessage({ kind: 'close' } satisfies ToIngestWorker);
    });
    this.worker = undefined;
    await worker.terminate();
  }
}
