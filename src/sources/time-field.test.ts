import { describe, expect, it } from 'vitest';
import { epochMsOf, epochMsOfText, isoTime } from './time-field.js';

/** Repeatable pseudo-random integers below `n`, so a failure can be replayed. */
function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * n);
  };
}

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

  it('reads the common UTC form on its fast path exactly as the general reader does', () => {
    const random = seededRandom(7);
    const pad = (n: number, width: number): string => String(n).padStart(width, '0');
    const texts: string[] = [
      '2024-02-29T23:59:59.999Z',
      '2023-02-29T00:00:00Z', // no such day
      '2100-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '2026-11-31T00:00:00Z',
      '2026-11-30T24:00:00Z',
      '2026-11-30T23:60:00Z',
      '2026-11-30T23:59:60Z',
      '0999-01-01T00:00:00Z',
      '0050-01-01T00:00:00Z',
      '2026-01-01T00:00:00.Z',
      '2026-01-01T00:00:00.1234567890Z',
      '2026-01-01T00:00:00+00:00',
      '2026-01-01 00:00:00z',
      '2026-01-01t00:00:00.5z',
      '2026-1-01T00:00:00Z',
      '2026-01-01T00:00:0aZ',
    ];
    const alphabet = '0123456789-:.TtZz +x';
    for (let i = 0; i < 20_000; i += 1) {
      const fraction = random(3) === 0 ? '' : `.${pad(random(1e9), 9).slice(0, 1 + random(9))}`;
      const text =
        `${pad(900 + random(9200), 4)}-${pad(random(14), 2)}-${pad(random(33), 2)}` +
        `${'Tt '[random(3)]}${pad(random(25), 2)}:${pad(random(61), 2)}:${pad(random(61), 2)}` +
        `${fraction}${'Zz'[random(2)]}`;
      texts.push(text);
      // And one character changed at random.
      const at = random(text.length);
      texts.push(text.slice(0, at) + alphabet[random(alphabet.length)] + text.slice(at + 1));
    }
    let accepted = 0;
    for (const text of texts) {
      const expected = epochMsOfText(text.trim());
      expect([text, epochMsOf(text)]).toEqual([text, expected]);
      if (expected !== undefined) accepted += 1;
    }
    // Both kinds were tried.
    expect(accepted).toBeGreaterThan(5000);
    expect(texts.length - accepted).toBeGreaterThan(5000);
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
    const random = seededRandom(42);
    const samples = Array.from({ length: 20_000 }, () => random(253402300800000));
    for (const ms of [...edges, ...samples]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
