/**
 * A small in-memory cache whose entries expire after a fixed time to live
 * and which, when full, evicts the least recently used entry. Threat
 * intelligence lookups use it so a playbook that asks about the same IP
 * address twenty times spends one request of a rate-limited API quota.
 *
 * A `ttlMs` of 0 disables it: nothing is stored and every `get` misses.
 */

export interface TtlCacheOptions {
  /** How long an entry is served after it was stored, in ms; 0 disables the cache. */
  readonly ttlMs: number;
  /** Most entries held; storing one more evicts the least recently used. */
  readonly maxEntries: number;
  /** The clock, in ms (injected by tests). @default Date.now */
  readonly now?: () => number;
}

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class TtlCache<K, V> {
  // A Map iterates in insertion order; re-inserting on every hit keeps the
  // least recently used entry first, which is what gets evicted.
  private readonly entries = new Map<K, Entry<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: TtlCacheOptions) {
    if (!Number.isFinite(options.ttlMs) || options.ttlMs < 0) {
      throw new RangeError('ttlMs must be a finite number of milliseconds, 0 or more');
    }
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError('maxEntries must be a positive integer');
    }
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries;
    this.now = options.now ?? Date.now;
  }

  /** False when constructed with a `ttlMs` of 0. */
  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.entries.size;
  }

  /** The live value, marking it most recently used; undefined when absent or expired. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` for `ttlMs` from now (nothing when disabled). */
  set(key: K, value: V): void {
    if (!this.enabled) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.evict();
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /**
   * Drops the least recently used entry. Every entry lives equally long, so
   * expired ones are usually among the first; the rest go when next read.
   */
  private evict(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}
