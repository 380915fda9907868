import type { ConnectorResult, JsonValue, WireExchange } from '../connector.js';
import { TtlCache } from './ttl-cache.js';

/**
 * The answers of a lookup connector (VirusTotal, AbuseIPDB) kept for a
 * while, per instance: a cached answer is the same output with
 * `cached: true` and no exchange (nothing went over the wire); a live one
 * has `cached: false` and its exchange. Only answers are stored: a failed
 * lookup throws before anything is cached, so errors are never served
 * from the cache.
 */

export type JsonObject = { [key: string]: JsonValue };

export interface LookupCacheOptions {
  /** 0 disables the cache. */
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
}

export interface LiveAnswer {
  /** The output without `cached`. */
  readonly output: JsonObject;
  readonly exchange: WireExchange;
}

export class LookupCache {
  private readonly cache: TtlCache<string, JsonObject>;

  constructor(options: LookupCacheOptions) {
    this.cache = new TtlCache({
      ttlMs: options.ttlMs,
      maxEntries: options.maxEntries,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /** The cached answer for `key`, else `fetch`'s (stored when it succeeds). */
  async lookup(key: string, fetch: () => Promise<LiveAnswer>): Promise<ConnectorResult> {
    const cached = this.cache.get(key);
    // A copy, so nothing a caller does to one answer changes the next.
    if (cached !== undefined) return { output: { ...structuredClone(cached), cached: true } };
    const answer = await fetch();
    if (this.cache.enabled) this.cache.set(key, structuredClone(answer.output));
    return { output: { ...answer.output, cached: false }, exchange: answer.exchange };
  }
}
