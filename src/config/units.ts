import { WardenError } from '../core/errors.js';

const DURATION_UNITS_MS = new Map<string, number>([
  ['ms', 1],
  ['s', 1000],
  ['m', 60 * 1000],
  ['h', 60 * 60 * 1000],
  ['d', 24 * 60 * 60 * 1000],
]);

// Binary multiples, as body limits are usually meant ("1mb" = 1 MiB).
const BYTE_UNITS = new Map<string, number>([
  ['b', 1],
  ['kb', 1024],
  ['kib', 1024],
  ['mb', 1024 ** 2],
  ['mib', 1024 ** 2],
  ['gb', 1024 ** 3],
  ['gib', 1024 ** 3],
]);

const AMOUNT_PATTERN = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

function configError(field: string, problem: string): WardenError {
  return new WardenError('invalid_config', `${field} ${problem}`, { field });
}

function describe(value: string | number): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/**
 * Milliseconds from "500ms", "90s", "15m", "1h", "2d" or a plain number of
 * milliseconds. Throws `invalid_config` naming `field` otherwise.
 */
export function parseDuration(text: string | number, field: string): number {
  const problem = `must be a duration such as "90s", "15m", "1h", "2d" or a positive number of milliseconds (got ${describe(text)})`;
  const ms = toAmount(text, DURATION_UNITS_MS, 'ms', Math.round);
  if (ms === undefined) throw configError(field, problem);
  return ms;
}

/**
 * Bytes from "512kb", "1mb", "1gb" (binary multiples) or a plain number of
 * bytes. Throws `invalid_config` naming `field` otherwise.
 */
export function parseByteSize(text: string | number, field: string): number {
  const problem = `must be a size such as "512kb", "1mb" or a positive number of bytes (got ${describe(text)})`;
  const bytes = toAmount(text, BYTE_UNITS, 'b', Math.floor);
  if (bytes === undefined) throw configError(field, problem);
  return bytes;
}

function toAmount(
  text: string | number,
  units: ReadonlyMap<string, number>,
  defaultUnit: string,
  round: (value: number) => number,
): number | undefined {
  let amount: number;
  let factor: number | undefined;
  if (typeof text === 'number') {
    amount = text;
    factor = 1;
  } else {
    const match = AMOUNT_PATTERN.exec(text.trim());
    if (!match) return undefined;
    amount = Number(match[1]);
    factor = units.get((match[2] || defaultUnit).toLowerCase());
  }
  if (factor === undefined || !Number.isFinite(amount)) return undefined;
  const result = round(amount * factor);
  return result >= 1 && Number.isSafeInteger(result) ? result : undefined;
}
