import { describe, expect, it } from 'vitest';
import { isBusy, retryWhileBusy } from './busy-retry.js';

const busy = (code = 'SQLITE_BUSY'): Error =>
  Object.assign(new Error('database is locked'), { code });

describe('retryWhileBusy', () => {
  it('tries again while SQLite answers busy, and returns what the work returns', () => {
    let calls = 0;
    const result = retryWhileBusy(() => {
      calls += 1;
      if (calls < 3) throw busy(calls === 1 ? 'SQLITE_BUSY' : 'SQLITE_BUSY_SNAPSHOT');
      return 'done';
    });
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('throws any other error at once', () => {
    let calls = 0;
    const constraint = Object.assign(new Error('UNIQUE constraint failed'), {
      code: 'SQLITE_CONSTRAINT_UNIQUE',
    });
    expect(() =>
      retryWhileBusy(() => {
        calls += 1;
        throw constraint;
      }),
    ).toThrow(constraint);
    expect(calls).toBe(1);
  });

  it('gives up with the busy error once its time is up', () => {
    const started = Date.now();
    let calls = 0;
    expect(() =>
      retryWhileBusy(() => {
        calls += 1;
        throw busy();
      }, 60),
    ).toThrow('database is locked');
    expect(calls).toBeGreaterThan(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
  });

  it('knows a busy error by its code', () => {
    expect(isBusy(busy())).toBe(true);
    expect(isBusy(busy('SQLITE_BUSY_RECOVERY'))).toBe(true);
    expect(isBusy(new Error('database is locked'))).toBe(false);
    expect(isBusy(null)).toBe(false);
  });
});
