import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { JsonValue, Step } from '../playbooks/playbook.js';
import { compileActionSchema, describeSchemaErrors } from './action-schema.js';
import type { JsonSchema } from './connector.js';

/**
 * What can be known about a step's connector input before any alert
 * arrives: fields the action does not have (where its schema closes the
 * object), required fields not written, and values written literally that
 * the action's schema refuses (`severity: Critical` where PagerDuty wants
 * `critical`). Values with `${{ }}` are checked when the step runs.
 */

const EXPRESSION = '${{';

function hasExpression(value: JsonValue): boolean {
  if (typeof value === 'string') return value.includes(EXPRESSION);
  if (Array.isArray(value)) return value.some(hasExpression);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasExpression);
  return false;
}

type ObjectSchema = {
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: unknown;
};

const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function validatorFor(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = compileActionSchema(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * The problems of one enrich or act step's written input against the
 * action's input schema, each starting `input…`; empty when none is known.
 */
export function writtenInputProblems(
  step: Extract<Step, { kind: 'enrich' | 'act' }>,
  inputSchema: JsonSchema,
): string[] {
  const written = step.input.source;
  // A whole input computed by one expression is known only at run time.
  if (typeof written === 'string' && written.includes(EXPRESSION)) return [];
  const schema = inputSchema as ObjectSchema;
  if (written === null || typeof written !== 'object' || Array.isArray(written)) {
    if (hasExpression(written)) return [];
    const validate = validatorFor(inputSchema);
    return validate(written) ? [] : [describeSchemaErrors(validate.errors ?? [], 'input')];
  }
  const problems: string[] = [];
  const properties = schema.properties ?? {};
  for (const [field, value] of Object.entries(written)) {
    const fieldSchema = properties[field];
    if (fieldSchema === undefined) {
      if (schema.additionalProperties === false) {
        problems.push(
          `input.${field} is not a field of ${step.connector}.${step.action} (it takes: ${Object.keys(properties).join(', ')})`,
        );
      }
      continue;
    }
    if (hasExpression(value)) continue;
    const validate = validatorFor(fieldSchema);
    if (!validate(value))
      problems.push(describeSchemaErrors(validate.errors ?? [], `input.${field}`));
  }
  for (const field of schema.required ?? []) {
    if (!Object.hasOwn(written, field)) {
      problems.push(`input.${field} is required by ${step.connector}.${step.action}`);
    }
  }
  return problems;
}
