import type { PollerConfig } from '../../config/sources-config.js';
import { withDeadline } from '../../core/deadline.js';
import { normalizePayload } from '../source-registry.js';
import type { CheckpointStore } from './checkpoint-store.js';
import {
  PULL_CHUNK,
  TickLoop,
  errorMessage,
  realScheduler,
  valueAtPath,
  type IngestPulled,
  type PullLog,
  type PullObserver,
  type PulledAlert,
  type Scheduler,
} from './pull-source.js';

/** Backoff never waits longer than this (or the interval, when that is longer). */
export const MAX_POLL_BACKOFF_MS = 15 * 60_000;

export interface HttpPollerOptions {
  config: PollerConfig;
  ingest: IngestPulled;
  checkpoints: CheckpointStore;
  log: PullLog;
  observer?: PullObserver;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  scheduler?: Scheduler;
}

/** What `DATA/checkpoints/<name>.json` holds for a poller. */
export interface PollerCheckpoint {
  cursor?: string;
  polledAt: string;
}

export interface PollResult {
  ok: boolean;
  /** Alerts submitted (new or duplicate). */
  alerts: number;
  /** Items no format would read; reported to the log and skipped. */
  rejected: number;
  /** When the next request is due. */
  nextDelayMs: number;
}

/**
 * Pulls alerts from an HTTP API: one GET per interval, carrying the cursor
 * saved after the last committed batch. A failed request (network error,
 * non-2xx, a body that is not JSON or has no item array) or a failed commit
 * waits interval × 2^failures, at most 15 minutes (or the interval when
 * longer), or a longer `Retry-After`; the checkpoint stays where it was.
 */
export class HttpPoller {
  private readonly loop: TickLoop;
  private readonly fetch: typeof fetch;
  private cursor: string | undefined;
  private failures = 0;

  constructor(private readonly options: HttpPollerOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.loop = new TickLoop(
      async () => (await this.pollOnce()).nextDelayMs,
      options.scheduler ?? realScheduler,
    );
    const saved = options.checkpoints.read(options.config.name) as PollerCheckpoint | undefined;
    this.cursor = typeof saved?.cursor === 'string' ? saved.cursor : options.config.cursor?.start;
  }

  get name(): string {
    return this.options.config.name;
  }

  /** The cursor the next request sends. */
  get currentCursor(): string | undefined {
    return this.cursor;
  }

  /** Polls now, then every interval. */
  start(): void {
    this.loop.start();
  }

  /** Stops polling; resolves once a request in progress is committed or given up. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One request, its alerts committed, then the checkpoint. Never throws. */
  async pollOnce(): Promise<PollResult> {
    const { config, log } = this.options;
    let retryAfterMs = 0;
    try {
      // The deadline covers the answer's body too; it is freed once the body is read.
      const body = await withDeadline<unknown>(config.timeoutMs, async (signal) => {
        const response = await this.fetch(this.requestUrl(), {
          headers: { accept: 'application/json', ...config.headers },
          signal,
        });
        if (!response.ok) {
          retryAfterMs = retryAfter(response.headers.get('retry-after'));
          await response.body?.cancel();
          throw new Error(`answered HTTP ${response.status}`);
        }
        return response.json().catch(() => {
          throw new Error('answered with a body that is not JSON');
        });
      });
      const items = config.items === undefined ? body : valueAtPath(body, config.items);
      if (items !== undefined && items !== null && !Array.isArray(items)) {
        throw new Error(`answered without an array at ${config.items ?? 'the top level'}`);
      }
      const list: unknown[] = items ?? [];
      const { alerts, rejected } = this.normalize(list);
      for (let i = 0; i < alerts.length; i += PULL_CHUNK) {
        await this.options.ingest(alerts.slice(i, i + PULL_CHUNK));
      }
      this.cursor = this.nextCursor(body, list);
      const checkpoint: PollerCheckpoint = {
        ...(this.cursor === undefined ? {} : { cursor: this.cursor }),
        polledAt: new Date().toISOString(),
      };
      this.options.checkpoints.write(config.name, checkpoint);
      this.failures = 0;
      this.options.observer?.pulled(config.name, { ok: true, alerts: alerts.length, rejected });
      return { ok: true, alerts: alerts.length, rejected, nextDelayMs: config.intervalMs };
    } catch (error) {
      this.failures += 1;
      const backoff = Math.min(
        config.intervalMs * 2 ** this.failures,
        Math.max(MAX_POLL_BACKOFF_MS, config.intervalMs),
      );
      const nextDelayMs = Math.max(backoff, retryAfterMs);
      // The URL only: headers carry the secrets.
      log.warn(
        `poller ${config.name}: ${redactUrl(config.url)} ${errorMessage(error)}; ` +
          `retrying in ${Math.round(nextDelayMs / 1000)}s (failure ${this.failures})`,
      );
      this.options.observer?.pulled(config.name, { ok: false, alerts: 0, rejected: 0 });
      return { ok: false, alerts: 0, rejected: 0, nextDelayMs };
    }
  }

  private requestUrl(): URL {
    const url = new URL(this.options.config.url);
    const cursor = this.options.config.cursor;
    if (cursor && this.cursor !== undefined) url.searchParams.set(cursor.param, this.cursor);
    return url;
  }

  private normalize(items: readonly unknown[]): { alerts: PulledAlert[]; rejected: number } {
    const { config, log } = this.options;
    const alerts: PulledAlert[] = [];
    let rejected = 0;
    items.forEach((item, index) => {
      try {
        alerts.push({
          draft: normalizePayload(item, config.source, config.context),
          rawText: JSON.stringify(item),
        });
      } catch (error) {
        rejected += 1;
        log.warn(`poller ${config.name}: item ${index} skipped: ${errorMessage(error)}`);
      }
    });
    return { alerts, rejected };
  }

  /** The cursor after this response; the previous one when the response carries none. */
  private nextCursor(body: unknown, items: readonly unknown[]): string | undefined {
    const cursor = this.options.config.cursor;
    if (!cursor) return undefined;
    if (cursor.responseField !== undefined) {
      const value = valueAtPath(body, cursor.responseField);
      return typeof value === 'string' || typeof value === 'number' ? String(value) : this.cursor;
    }
    let best = this.cursor;
    for (const item of items) {
      const value = valueAtPath(item, cursor.itemField ?? '');
      if (typeof value !== 'string' && typeof value !== 'number') continue;
      if (best === undefined || compareCursor(String(value), best) > 0) best = String(value);
    }
    return best;
  }
}

/** Numbers numerically, times by instant, anything else as text. */
export function compareCursor(a: string, b: string): number {
  const numberA = Number(a);
  const numberB = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(numberA) && Number.isFinite(numberB)) {
    return numberA - numberB;
  }
  const timeA = Date.parse(a);
  const timeB = Date.parse(b);
  if (!Number.isNaN(timeA) && !Number.isNaN(timeB) && timeA !== timeB) return timeA - timeB;
  return a < b ? -1 : a > b ? 1 : 0;
}

function retryAfter(header: string | null): number {
  if (header === null) return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
}

/** Without credentials a URL may carry (user:password@). */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}
