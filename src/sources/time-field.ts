import { invalidField } from '../core/errors.js';

/** Formats an instant the way every source writes alert times. */
export { isoTime } from '../core/iso-time.js';

/**
 * Timestamps as source formats send them: an ISO-8601 string, epoch
 * milliseconds, or epoch seconds (numbers below 1e11, i.e. before 1973 in ms,
 * are taken as seconds because no alert is that old).
 */
const EPOCH_SECONDS_BELOW = 1e11;
/** The largest instant a JS Date can hold. */
const MAX_EPOCH_MS = 8.64e15;
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;
const HAS_ZONE = /(?:[Zz]|[+-]\d{2}:?\d{2})$/;
const NUMERIC = /^\d+(?:\.\d+)?$/;

function fromEpochNumber(value: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  const ms = value < EPOCH_SECONDS_BELOW ? value * 1000 : value;
  return ms <= MAX_EPOCH_MS ? Math.round(ms) : undefined;
}

// V8's Date.parse rolls 2026-02-30 over to March instead of rejecting it.
function isCalendarDate(text: string): boolean {
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth;
}

/** Epoch milliseconds for a timestamp value, or undefined when it is not one. */
export function epochMsOf(value: unknown): number | undefined {
  if (typeof value === 'number') return fromEpochNumber(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  return utcDateTimeMs(text) ?? epochMsOfText(text);
}

/** The number the `count` characters of `text` from `at` spell, or -1 when one is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i += 1) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (years 1000–9999), the form nearly every
 * source sends, read without regular expressions or `Date.parse`; undefined
 * for anything else, which `epochMsOfText` then reads (and may still accept).
 */
function utcDateTimeMs(text: string): number | undefined {
  const length = text.length;
  if (length < 20 || length > 30) return undefined;
  const zone = text.charCodeAt(length - 1);
  if (zone !== 90 && zone !== 122) return undefined; // Z z
  const separator = text.charCodeAt(10);
  if (separator !== 84 && separator !== 116 && separator !== 32) return undefined; // T t space
  if (
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  ) {
    return undefined;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hours = digitsAt(text, 11, 2);
  const minutes = digitsAt(text, 14, 2);
  const seconds = digitsAt(text, 17, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || seconds < 0 || seconds > 59) {
    return undefined;
  }
  let ms = 0;
  if (length > 20) {
    // A fraction of one digit or more; milliseconds are its first three, as Date.parse reads them.
    if (text.charCodeAt(19) !== 46 || length === 21) return undefined;
    const fraction = digitsAt(text, 20, length - 21);
    if (fraction < 0) return undefined;
    const digits = length - 21;
    ms = digits >= 3 ? Math.floor(fraction / 10 ** (digits - 3)) : fraction * 10 ** (3 - digits);
  }
  return Date.UTC(year, month - 1, day, hours, minutes, seconds, ms);
}

/** `epochMsOf` of a trimmed string: ISO-8601 in all its forms, or an epoch number as text. */
export function epochMsOfText(text: string): number | undefined {
  // Some tools (Splunk `_time`) send epoch numbers as strings.
  if (NUMERIC.test(text)) return fromEpochNumber(Number(text));
  if (!ISO_8601.test(text) || !isCalendarDate(text)) return undefined;
  // A date-time without a zone would otherwise be read in the server's local zone.
  const dateTime = text.length > 10 && !HAS_ZONE.test(text) ? `${text}Z` : text;
  const ms = Date.parse(dateTime);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Reads an optional timestamp field strictly: undefined when absent,
 * epoch milliseconds when valid, `invalid_field` naming `field` otherwise.
 */
export function optionalEpochMsField(
  value: unknown,
  field: string,
  where = 'alert',
): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = epochMsOf(value);
  if (ms === undefined) {
    throw invalidField(
      field,
      'must be an ISO-8601 timestamp or epoch milliseconds (or seconds)',
      where,
    );
  }
  return ms;
}
