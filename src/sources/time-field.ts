import { invalidField } from '../core/errors.js';

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
  // Some tools (Splunk `_time`) send epoch numbers as strings.
  if (NUMERIC.test(text)) return fromEpochNumber(Number(text));
  if (!ISO_8601.test(text) || !isCalendarDate(text)) return undefined;
  // A date-time without a zone would otherwise be read in the server's local zone.
  const dateTime = text.length > 10 && !HAS_ZONE.test(text) ? `${text}Z` : text;
  const ms = Date.parse(dateTime);
  return Number.isNaN(ms) ? undefined : ms;
}

const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const three = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
/** 10000-01-01T00:00:00.000Z: from here on `toISOString` writes a six-digit year. */
const FOUR_DIGIT_YEARS_END = 253402300800000;

/**
 * ISO-8601 (UTC, milliseconds) for an epoch-millisecond instant, as
 * `Date.prototype.toISOString` writes it. Every alert's times go through
 * here; for instants from 1970 to 9999 the date is computed directly
 * (H. Hinnant's days-to-civil), three times faster than through a `Date`.
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < FOUR_DIGIT_YEARS_END) || !Number.isInteger(ms)) {
    return new Date(ms).toISOString();
  }
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${year}-${two(month)}-${two(day)}T${two(hours)}:${two(minutes)}:${two(seconds)}.${three(rest - seconds * 1000)}Z`;
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
