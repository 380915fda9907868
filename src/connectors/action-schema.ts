import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { JsonSchema } from './connector.js';

/**
 * Compiles the JSON Schemas of connector actions (draft 2020-12). Strict
 * about keywords, so a misspelt keyword (`tyep`) fails when the connector is
 * loaded instead of accepting everything.
 */
let ajv: Ajv2020 | undefined;

function instance(): Ajv2020 {
  ajv ??= new Ajv2020({
    allErrors: true,
    allowUnionTypes: true,
    strictSchema: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
  });
  return ajv;
}

/** Throws an Error saying what is wrong with the schema itself. */
export function compileActionSchema(schema: JsonSchema): ValidateFunction {
  return instance().compile(schema);
}

/**
 * `input.ip must be string; input must NOT have additional properties (foo)`.
 * Values are never quoted, so nothing the caller passed leaks into messages.
 */
export function describeSchemaErrors(errors: readonly ErrorObject[], root: string): string {
  const messages = errors.map((error) => {
    const path = error.instancePath
      .split('/')
      .slice(1)
      .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`))
      .join('');
    // The schema's own words are safe to quote: the field's name, the allowed values.
    const params = error.params as { additionalProperty?: unknown; allowedValues?: unknown[] };
    const extra =
      error.keyword === 'additionalProperties'
        ? ` (${String(params.additionalProperty)})`
        : error.keyword === 'enum' && Array.isArray(params.allowedValues)
          ? ` (${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')})`
          : '';
    return `${root}${path} ${error.message ?? 'is invalid'}${extra}`;
  });
  return [...new Set(messages)].join('; ');
}
