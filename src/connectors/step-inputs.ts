import type { ValidateFunction } from 'ajv/dist/2020.js';
import { formatPosition } from '../core/source-position.js';
import type { JsonValue, Playbook, Step } from '../playbooks/playbook.js';
import { NOTIFY_ACTION } from '../playbooks/run-machine.js';
import { compileActionSchema, describeSchemaErrors } from './action-schema.js';
import type { JsonSchema } from './connector.js';
import type { ConnectorRegistry } from './connector-config.js';

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

/**
 * Every connector and action the playbooks name exists, and what their
 * steps write literally fits the action's input; one line per problem,
 * `file:line:col: steps[i] (id): …`.
 */
export function playbookConnectorProblems(
  playbooks: readonly Playbook[],
  registry: ConnectorRegistry,
): string[] {
  const problems: string[] = [];
  for (const playbook of playbooks) {
    for (const step of playbook.steps) {
      if (step.kind !== 'enrich' && step.kind !== 'act' && step.kind !== 'notify') continue;
      const where = `${formatPosition(step.source)}: steps[${step.index}] (${step.id})`;
      if (!registry.has(step.connector)) {
        problems.push(
          `${where}: unknown connector "${step.connector}" (configured: ${registry.names().join(', ')})`,
        );
        continue;
      }
      const action = step.kind === 'notify' ? NOTIFY_ACTION : step.action;
      const actions = registry.get(step.connector).actions;
      const spec = actions[action];
      if (spec === undefined) {
        problems.push(
          `${where}: connector ${step.connector} has no action "${action}" (it has: ${Object.keys(actions).join(', ')})`,
        );
        continue;
      }
      if (step.kind !== 'notify') {
        for (const problem of writtenInputProblems(step, spec.inputSchema)) {
          problems.push(`${where}: ${problem}`);
        }
      }
    }
  }
  return problems;
}
