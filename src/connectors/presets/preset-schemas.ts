import type { JsonSchema } from '../connector.js';

/** JSON Schema pieces the presets share, so the same field reads the same everywhere. */

/** An object with exactly these properties; `required` lists the ones that must be present. */
export function objectSchema(
  properties: Record<string, JsonSchema>,
  required: readonly string[],
): JsonSchema {
  return { type: 'object', properties, required: [...required], additionalProperties: false };
}

/** An identifier that goes into a URL path: non-empty, no slash (it would change the path). */
export const ID: JsonSchema = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^/]+$' };

/** Why: shown to the platform's operators and kept in their audit log. */
export const REASON: JsonSchema = { type: 'string', minLength: 1, maxLength: 1000 };

/** The Warden case number, so the platform's audit log points back to the case. */
export const CASE_NUMBER: JsonSchema = { type: 'integer', minimum: 1 };

export const SHA256: JsonSchema = { type: 'string', pattern: '^[A-Fa-f0-9]{64}$' };

/** ISO-8601 time, or null when there is none (e.g. never used). */
export const TIME_OR_NULL: JsonSchema = { type: ['string', 'null'] };

export const STRING: JsonSchema = { type: 'string' };
export const BOOLEAN: JsonSchema = { type: 'boolean' };
export const STRINGS: JsonSchema = { type: 'array', items: { type: 'string' } };
