import { describe, expect, it } from 'vitest';
import { epochMsOf, isoTime } from './time-field.js';

describe('epochMsOf', () => {
  it.each([
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29', Date.UTC(2000, 1, 29)],
    ['2026-12-31T23:59:59.999Z', Date.UTC(2026, 11, 31, 23, 59, 59, 999)],
    ['2026-04-30T10:00:00+02:00', Date.UTC(2026, 3, 30, 8)],
    // A date-time without a zone is UTC, not the server's local time.
    ['2026-01-15T10:00:00', Date.UTC(2026, 0, 15, 10)],
    [' 2026-01-15T10:00:00Z ', Date.UTC(2026, 0, 15, 10)],
  ])('reads the calendar date %s', (text, expected) => {
    expect(epochMsOf(text)).toBe(expected);
  });

  it.each([
    '2026-02-29T00:00:00Z',
    '1900-02-29',
    '2100-02-29',
    '2026-02-30T10:00:00Z',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-01-00',
    '2026-01-32',
    '26-01-15',
    'yesterday',
    '',
  ])('refuses %j', (text) => {
    expect(epochMsOf(text)).toBeUndefined();
  });

  it('takes numbers below 1e11 as epoch seconds, larger ones as milliseconds, numeric strings alike', () => {
    expect(epochMsOf(1_790_000_000)).toBe(1_790_000_000_000);
    expect(epochMsOf(1_790_000_000_123)).toBe(1_790_000_000_123);
    expect(epochMsOf('1790000000.5')).toBe(1_790_000_000_500);
    expect(epochMsOf(-1)).toBeUndefined();
    expect(epochMsOf(Number.NaN)).toBeUndefined();
    expect(epochMsOf(9e15)).toBeUndefined();
    expect(epochMsOf(null)).toBeUndefined();
  });

  it('writes instants back as UTC ISO-8601 with milliseconds', () => {
    expect(isoTime(Date.UTC(2024, 1, 29, 1, 2, 3, 4))).toBe('2024-02-29T01:02:03.004Z');
  });

  it('writes any instant exactly as Date#toISOString does', () => {
    const edges = [
      0,
      1,
      999,
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29),
      Date.UTC(2000, 2, 1),
      Date.UTC(2100, 1, 28, 12),
      Date.UTC(2100, 2, 1),
      Date.UTC(2400, 1, 29),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1), // six-digit year from here
      -1,
      Date.UTC(1969, 6, 20, 20, 17),
      1.5,
      8.64e15,
    ];
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const samples = Array.from({ length: 20_000 }, () => Math.floor(random() * 253402300800000));
    for (const ms of [...edges, ...samples]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
