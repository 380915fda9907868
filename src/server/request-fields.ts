import { WardenError, invalidField, missingField } from '../core/errors.js';

/**
 * Small, explicit readers for request bodies and query strings: every
 * problem names the field, and unknown fields are rejected (typo protection).
 */
export type Fields = Record<string, unknown>;

export function bodyObject(body: unknown, allowed: readonly string[], where: string): Fields {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new WardenError('invalid_field', `${where}: body must be a JSON object`, {
      field: '(body)',
      status: 400,
    });
  }
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw invalidField(
        key,
        `is not a known field (expected one of: ${allowed.join(', ')})`,
        where,
      );
    }
  }
  return body as Fields;
}

export function requiredString(
  fields: Fields,
  name: string,
  where: string,
  maxLength = 10_000,
): string {
  const value = fields[name];
  if (value === undefined || value === null) throw missingField(name, where);
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidField(name, 'must be a non-empty string', where);
  }
  if (value.length > maxLength)
    throw invalidField(name, `must be at most ${maxLength} characters`, where);
  return value;
}

export function optionalString(
  fields: Fields,
  name: string,
  where: string,
  maxLength = 10_000,
): string | undefined {
  return fields[name] === undefined ? undefined : requiredString(fields, name, where, maxLength);
}

export function requiredBoolean(fields: Fields, name: string, where: string): boolean {
  const value = fields[name];
  if (value === undefined || value === null) throw missingField(name, where);
  if (typeof value !== 'boolean') throw invalidField(name, 'must be true or false', where);
  return value;
}

export function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  name: string,
  where: string,
): T {
  if (value === undefined) {
    throw new WardenError(
      'missing_field',
      `${where}: required field "${name}" is missing (one of: ${allowed.join(', ')})`,
      { field: name },
    );
  }
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidField(name, `must be one of: ${allowed.join(', ')}`, where);
  }
  return value as T;
}

/** `?status=open,in_progress` or repeated `?status=open&status=closed`. */
export function queryList(query: Fields, name: string): string[] | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  const list = parts.map((p) => p.trim()).filter((p) => p !== '');
  return list.length > 0 ? list : undefined;
}

export function queryError(field: string, problem: string): WardenError {
  return new WardenError('invalid_field', `query: parameter "${field}" ${problem}`, {
    field,
    status: 400,
  });
}

/** `?limit=` of a list: 1–500, 50 when absent. */
/** `?limit=`: 50 unless given (or `fallback`), an integer from 1 to `max` (500). */
export function limitParam(query: Fields, { fallback = 50, max = 500 } = {}): number {
  if (query.limit === undefined) return fallback;
  const limit = Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw queryError('limit', `must be an integer from 1 to ${max}`);
  }
  return limit;
}
