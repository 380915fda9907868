import { describe, expect, it } from 'vitest';
import { ConnectorError, type WireExchange } from '../connector.js';
import { LookupCache } from './lookup-cache.js';
import { TtlCache } from './ttl-cache.js';

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

describe('TtlCache', () => {
  it('serves a value until its time to live has passed', () => {
    const time = clock();
    const cache = new TtlCache<string, number>({ ttlMs: 1000, maxEntries: 10, now: time.now });
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
    time.advance(999);
    expect(cache.get('a')).toBe(1);
    time.advance(1);
    expect(cache.get('a')).toBeUndefined();
    // The expired entry is gone, not just hidden.
    expect(cache.size).toBe(0);
  });

  it('counts the time to live from the last set, not from a hit', () => {
    const time = clock();
    const cache = new TtlCache<string, string>({ ttlMs: 1000, maxEntries: 10, now: time.now });
    cache.set('a', 'first');
    time.advance(800);
    expect(cache.get('a')).toBe('first');
    time.advance(300);
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', 'second');
    time.advance(900);
    expect(cache.get('a')).toBe('second');
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new TtlCache<string, number>({ ttlMs: 60_000, maxEntries: 3 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1); // a is now the most recently used
    cache.set('d', 4);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 3, 4]);
    expect(cache.size).toBe(3);
  });

  it('replaces a value stored again without growing', () => {
    const cache = new TtlCache<string, number>({ ttlMs: 60_000, maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 3);
    expect(cache.size).toBe(2);
    cache.set('c', 4); // b is the least recently used now
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(3);
  });

  it('stores nothing with a time to live of 0', () => {
    const cache = new TtlCache<string, number>({ ttlMs: 0, maxEntries: 10 });
    expect(cache.enabled).toBe(false);
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('deletes and clears', () => {
    const cache = new TtlCache<string, number>({ ttlMs: 60_000, maxEntries: 10 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.delete('a')).toBe(true);
    expect(cache.get('a')).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('refuses nonsensical limits', () => {
    expect(() => new TtlCache({ ttlMs: -1, maxEntries: 1 })).toThrow(RangeError);
    expect(() => new TtlCache({ ttlMs: 1, maxEntries: 0 })).toThrow(RangeError);
    expect(() => new TtlCache({ ttlMs: Number.NaN, maxEntries: 1 })).toThrow(RangeError);
  });
});

describe('LookupCache', () => {
  const exchange: WireExchange = {
    startedAt: '2026-01-01T00:00:00.000Z',
    method: 'GET',
    url: 'https://intel.example/x',
    requestHeaders: {},
    status: 200,
    durationMs: 3,
  };

  it('answers live with cached: false and the exchange, then from the cache with cached: true', async () => {
    const time = clock();
    const cache = new LookupCache({ ttlMs: 1000, maxEntries: 10, now: time.now });
    let fetches = 0;
    const fetch = () => {
      fetches += 1;
      return Promise.resolve({ output: { score: 7, tags: ['a'] }, exchange });
    };
    expect(await cache.lookup('k', fetch)).toEqual({
      output: { score: 7, tags: ['a'], cached: false },
      exchange,
    });
    const hit = await cache.lookup('k', fetch);
    expect(hit).toEqual({ output: { score: 7, tags: ['a'], cached: true } });
    expect(hit.exchange).toBeUndefined();
    expect(fetches).toBe(1);

    time.advance(1000);
    expect((await cache.lookup('k', fetch)).output).toMatchObject({ cached: false });
    expect(fetches).toBe(2);
  });

  it('never caches a failure', async () => {
    const cache = new LookupCache({ ttlMs: 60_000, maxEntries: 10 });
    const failing = () => Promise.reject(new ConnectorError('unavailable', 'down'));
    await expect(cache.lookup('k', failing)).rejects.toThrow('down');
    await expect(cache.lookup('k', failing)).rejects.toThrow('down');
    const result = await cache.lookup('k', () =>
      Promise.resolve({ output: { ok: true }, exchange }),
    );
    expect(result.output).toEqual({ ok: true, cached: false });
  });

  it('hands out copies, so changing one answer does not change the next', async () => {
    const cache = new LookupCache({ ttlMs: 60_000, maxEntries: 10 });
    const fetch = () => Promise.resolve({ output: { tags: ['a'] }, exchange });
    await cache.lookup('k', fetch);
    const first = await cache.lookup('k', fetch);
    (first.output as { tags: string[] }).tags.push('changed');
    expect((await cache.lookup('k', fetch)).output).toEqual({ tags: ['a'], cached: true });
  });

  it('goes to the source every time when disabled', async () => {
    const cache = new LookupCache({ ttlMs: 0, maxEntries: 10 });
    let fetches = 0;
    const fetch = () => {
      fetches += 1;
      return Promise.resolve({ output: {}, exchange });
    };
    await cache.lookup('k', fetch);
    await cache.lookup('k', fetch);
    expect(fetches).toBe(2);
  });
});
