import { describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { parseByteSize, parseDuration } from './units.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1.5h', 5_400_000],
    [' 24H ', 86_400_000],
    ['3600000', 3_600_000],
    [60_000, 60_000],
  ])('reads %j as %i ms', (input, expected) => {
    expect(parseDuration(input, 'pipeline.dedup_window')).toBe(expected);
  });

  it.each(['', 'soon', '1w', '-5m', '0s', '1h30m', 'h'])('rejects %j', (input) => {
    expect(() => parseDuration(input, 'pipeline.dedup_window')).toThrow(
      /^pipeline\.dedup_window must be a duration/,
    );
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (input) => {
    expect(() => parseDuration(input, 'x')).toThrow(/x must be a duration/);
  });

  it('throws invalid_config naming the field', () => {
    try {
      parseDuration('forever', 'pipeline.correlation_window');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WardenError);
      expect(error).toMatchObject({ code: 'invalid_config', field: 'pipeline.correlation_window' });
      expect((error as Error).message).toContain('(got "forever")');
    }
  });
});

describe('parseByteSize', () => {
  it.each([
    ['1mb', 1024 * 1024],
    ['512kb', 512 * 1024],
    ['10MB', 10 * 1024 * 1024],
    ['10mib', 10 * 1024 * 1024],
    ['1gb', 1024 ** 3],
    ['2048b', 2048],
    ['2048', 2048],
    ['0.5mb', 512 * 1024],
    [4096, 4096],
  ])('reads %j as %i bytes', (input, expected) => {
    expect(parseByteSize(input, 'server.body_limit')).toBe(expected);
  });

  it.each(['', 'big', '1tb', '-1mb', '0kb', 'mb'])('rejects %j', (input) => {
    expect(() => parseByteSize(input, 'server.body_limit')).toThrow(
      /^server\.body_limit must be a size/,
    );
  });

  it.each([0, -10, 1.5e300])('rejects the number %d', (input) => {
    expect(() => parseByteSize(input, 'server.body_limit')).toThrow(WardenError);
  });
});
