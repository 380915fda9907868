import type { AlertDraft } from '../../core/alert.js';

/** One alert a pull source read, normalised, with its text as received. */
export interface PulledAlert {
  readonly draft: AlertDraft;
  readonly rawText: string;
}

/**
 * Prepares and submits alerts; resolves only once they are committed, so the
 * source may then advance its checkpoint. Injected by the entry point.
 *
 * @example (alerts) => warden.ingest.submit(alerts.map((a) => warden.preparer.prepare(a.draft, a.rawText)))
 */
export type IngestPulled = (alerts: readonly PulledAlert[]) => Promise<unknown>;

/** What a pull source reports: a bad item or a failed request, never fatal. A pino logger fits. */
export interface PullLog {
  info(message: string): void;
  warn(message: string): void;
}

/** What one poll or scan of a pull source came to. */
export interface PullOutcome {
  /** False: the request, the listing or a commit failed; the source retries from its checkpoint. */
  ok: boolean;
  /** Alerts submitted and committed (new or duplicate). */
  alerts: number;
  /** Items no format would read, skipped. */
  rejected: number;
}

/** Told of every poll and scan, for metrics; the server's `WardenMetrics` is one. */
export interface PullObserver {
  pulled(source: string, outcome: PullOutcome): void;
}

/** The timer seam: tests drive sources by hand instead of waiting. */
export interface Scheduler {
  schedule(run: () => void, delayMs: number): () => void;
}

export const realScheduler: Scheduler = {
  schedule(run, delayMs) {
    const timer = setTimeout(run, delayMs);
    return () => clearTimeout(timer);
  },
};

/** Alerts are submitted in chunks of this many, each checkpointed once committed. */
export const PULL_CHUNK = 500;

/** The value at a dot path such as `data.alerts`; undefined when any step is missing. */
export function valueAtPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The message of anything thrown, for a log line. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `tick` now and then again each time it returns a delay, until stopped;
 * `stop()` resolves once a tick in progress has finished.
 */
export class TickLoop {
  private cancel: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly tick: () => Promise<number>,
    private readonly scheduler: Scheduler,
  ) {}

  start(): void {
    this.next(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    await this.running;
  }

  private next(delayMs: number): void {
    if (this.stopped) return;
    this.cancel = this.scheduler.schedule(() => {
      this.running = this.tick().then(
        (delay) => this.next(delay),
        // tick reports its own errors; this only keeps the loop alive.
        () => this.next(60_000),
      );
    }, delayMs);
  }
}
