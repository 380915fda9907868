import { missingField } from '../core/errors.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { isoTime } from './time-field.js';

/**
 * Lenient reads of optional fields in vendor payloads: a field of an
 * unexpected shape reads as absent, because vendors fill their optional
 * fields inconsistently and one odd field should not cost the whole alert.
 */

export function objectAt(value: unknown): JsonObject {
  return isJsonObject(value) ? value : {};
}

export function arrayAt(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A non-blank string, else undefined. */
export function textAt(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Vendor ids are often numbers; they are kept as text. */
export function idAt(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return textAt(value);
}

/** A non-blank string or id, else `missing_field` naming `field`. */
export function requiredIdAt(value: unknown, field: string, where: string): string {
  const id = idAt(value);
  if (id === undefined) throw missingField(field, where);
  return id;
}

/** Adds each value to the set when it is non-blank text. */
export function addTexts(set: Set<string>, ...values: unknown[]): void {
  for (const value of values) {
    const text = textAt(value);
    if (text !== undefined) set.add(text);
  }
}

/**
 * First and last seen from a source's own instants (epoch ms, undefined when
 * absent): each falls back to the other, then to the first fallback present,
 * then to now. Producers occasionally swap or skew the two; they are ordered
 * rather than rejected.
 */
export function seenTimes(
  first: number | undefined,
  last: number | undefined,
  ...fallbacks: (number | undefined)[]
): { firstSeen: string; lastSeen: string } {
  const anchor = last ?? first ?? fallbacks.find((ms) => ms !== undefined) ?? Date.now();
  const a = first ?? anchor;
  const b = last ?? anchor;
  return { firstSeen: isoTime(Math.min(a, b)), lastSeen: isoTime(Math.max(a, b)) };
}
