import type { Worker } from 'node:worker_threads';
import { textOnlyAlert, type EncodedAlert } from '../core/alert.js';
import { WardenError, type ErrorCode } from '../core/errors.js';
import type {
  BatchCommitInfo,
  IngestObserver,
  IngestOutcome,
  IngestQueue,
} from './ingest-queue.js';

/**
 * Alerts on their way to the writer thread: every alert's document and raw
 * payload, in that order, as one string, and where each piece ends. Copying
 * text is far cheaper than cloning objects, and one large string lands in the
 * receiving heap's large-object space, which the young-generation collector
 * never copies, where thousands of small ones would be copied while they wait
 * for their commit.
 */
export interface AlertTexts {
  text: string;
  /** `ends[2i]` ends alert i's document, `ends[2i + 1]` its raw payload. */
  ends: number[];
}

/** Messages to the writer thread. */
export type ToIngestWorker = ({ kind: 'submit'; id: number } & AlertTexts) | { kind: 'close' };

export function packAlertTexts(alerts: readonly EncodedAlert[]): AlertTexts {
  const pieces: string[] = [];
  const ends: number[] = [];
  let at = 0;
  for (const { doc, raw } of alerts) {
    pieces.push(doc, raw);
    at += doc.length;
    ends.push(at);
    at += raw.length;
    ends.push(at);
  }
  return { text: pieces.join(''), ends };
}

export function unpackAlertTexts({ text, ends }: AlertTexts): EncodedAlert[] {
  const alerts: EncodedAlert[] = [];
  let at = 0;
  for (let i = 0; i + 1 < ends.length; i += 2) {
    const docEnd = ends[i] as number;
    const rawEnd = ends[i + 1] as number;
    alerts.push(textOnlyAlert(text.slice(at, docEnd), text.slice(docEnd, rawEnd)));
    at = rawEnd;
  }
  return alerts;
}

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
    const message: ToIngestWorker = { kind: 'submit', id, ...packAlertTexts(alerts) };
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
