import { describe, expect, it } from 'vitest';
import { uuidv7 } from './ids.js';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function timestampOf(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

describe('uuidv7', () => {
  it('is a version-7, RFC 9562 variant UUID', () => {
    for (let i = 0; i < 200; i++) expect(uuidv7()).toMatch(UUIDV7);
  });

  it('carries the current time in its first 48 bits', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(timestampOf(id)).toBeGreaterThanOrEqual(before);
    // One millisecond of slack: a sequence overflow may borrow the next one.
    expect(timestampOf(id)).toBeLessThanOrEqual(after + 1);
  });

  it('sorts 10,000 ids made in a tight loop in creation order, with no duplicates', () => {
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7());
    for (let i = 1; i < ids.length; i++) {
      if (!((ids[i - 1] ?? '') < (ids[i] ?? ''))) {
        expect.fail(`id ${i} (${ids[i]}) does not sort after id ${i - 1} (${ids[i - 1]})`);
      }
    }
    expect(new Set(ids).size).toBe(10_000);
  });

  it('stays monotonic when the clock steps back', () => {
    const now = Date.now() + 60_000;
    const first = uuidv7(now);
    const second = uuidv7(now - 5_000);
    const third = uuidv7(now - 10_000);
    expect(first < second).toBe(true);
    expect(second < third).toBe(true);
    expect(timestampOf(second)).toBe(now);
  });

  it('stays monotonic through more ids than one millisecond’s counter holds', () => {
    const now = Date.now() + 120_000;
    const ids = Array.from({ length: 5_000 }, () => uuidv7(now));
    for (let i = 1; i < ids.length; i++) {
      if (!((ids[i - 1] ?? '') < (ids[i] ?? ''))) expect.fail(`id ${i} out of order`);
    }
    expect(timestampOf(ids[0] ?? '')).toBe(now);
    // The 12-bit counter overflowed at least once and borrowed the next millisecond.
    expect(timestampOf(ids[ids.length - 1] ?? '')).toBeGreaterThan(now);
  });
});
