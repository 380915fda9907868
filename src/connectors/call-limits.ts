import type { RateLimit } from './connector.js';

/**
 * The two client-side limits a connector declares: how many calls may be in
 * flight (`ConcurrencyLimit`) and how fast requests may start (`TokenBucket`).
 * Waiting for either ends when the call's signal aborts, with the signal's
 * reason thrown.
 */

/** At most `limit` holders at once; waiters are served first come, first served. */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Resolves with a release function once a slot is free. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.active < this.limit) {
      this.active += 1;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', abandon);
        resolve();
      };
      const abandon = (): void => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal.reason as Error);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', abandon, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays as it is.
      if (next) next();
      else this.active -= 1;
    };
  }
}

/**
 * A token bucket holding up to `requests` tokens, refilled at
 * `requests / intervalMs`; each request takes one.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  // Callers queue so that a burst of waiters is spaced out instead of all waking at once.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limit.requests;
    this.updatedAt = this.now();
  }

  /** Resolves when a token was taken. */
  take(signal: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.takeInTurn(signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async takeInTurn(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = ((1 - this.tokens) * this.limit.intervalMs) / this.limit.requests;
      await sleep(Math.ceil(waitMs), signal);
    }
  }

  private refill(): void {
    const now = this.now();
    const added = ((now - this.updatedAt) * this.limit.requests) / this.limit.intervalMs;
    this.tokens = Math.min(this.limit.requests, this.tokens + added);
    this.updatedAt = now;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', abort, { once: true });
  });
}
