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

/** ISO-8601 (UTC, milliseconds) for an epoch-millisecond instant. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
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
