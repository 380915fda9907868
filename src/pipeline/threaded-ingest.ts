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

/**
 * Messages to the writer thread. The submissions made during one turn of the
 * event loop travel together: `parts` counts each one's alerts, in order.
 */
export type ToIngestWorker =
  ({ kind: 'submit'; id: number; parts: number[] } & AlertTexts) | { kind: 'close' };

/** How one submission of a message ended. */
export type PartResult = { outcomes: IngestOutcome[] } | { error: SerializedError };

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
  | { kind: 'settled'; id: number; results: PartResult[] }
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

interface Buffered extends Waiting {
  alerts: readonly EncodedAlert[];
}

/** Buffered alerts go to the writer at once from this many, else at the end of the turn. */
const SEND_AT_ALERTS = 100;

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
  /** Each message's submissions, in order, until the writer settles them. */
  private readonly waiting = new Map<number, Waiting[]>();
  private buffered: Buffered[] = [];
  private bufferedAlerts = 0;
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
      case 'settled': {
        const parts = this.waiting.get(message.id) ?? [];
        this.waiting.delete(message.id);
        message.results.forEach((result, i) => {
          const part = parts[i];
          if (!part) return;
          if ('error' in result) part.reject(deserializeError(result.error));
          else part.resolve(result.outcomes);
        });
        break;
      }
      case 'batch':
        this.options.observer?.batchCommitted(message.info);
        break;
      case 'closed':
        break;
    }
  }

  private onExit(worker: Worker, cause: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const waiting of [...this.waiting.values()].flat()) {
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
    return new Promise<IngestOutcome[]>((resolve, reject) => {
      this.buffered.push({ alerts, resolve, reject });
      this.bufferedAlerts += alerts.length;
      // One message per turn, not per request: posting and receiving cost per message.
      if (this.bufferedAlerts >= SEND_AT_ALERTS) this.send();
      else if (this.buffered.length === 1) setImmediate(() => this.send());
    });
  }

  private send(): void {
    if (this.buffered.length === 0) return;
    const parts = this.buffered;
    this.buffered = [];
    this.bufferedAlerts = 0;
    this.worker ??= this.start();
    const id = this.nextId++;
    const message: ToIngestWorker = {
      kind: 'submit',
      id,
      parts: parts.map((p) => p.alerts.length),
      ...packAlertTexts(parts.flatMap((p) => p.alerts)),
    };
    // Kept without the alerts: their text is in the message now.
    this.waiting.set(
      id,
      parts.map(({ resolve, reject }) => ({ resolve, reject })),
    );
    this.worker.postMessage(message);
  }

  async drain(): Promise<void> {
    while (this.waiting.size > 0 || this.buffered.length > 0) {
      await new Promise((r) => setTimeout(r, 1));
    }
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
