import { APPROVER_ROLES } from '../core/access.js';
import { ALERT_TYPES, SEVERITY_LABELS } from '../core/alert.js';
import { CASE_PHASES, CLOSURE_REASONS } from '../core/case.js';
import { CONTAINMENT_INTENTS } from '../core/containment-policy.js';
import {
  APPROVAL_TIMEOUT_OUTCOMES,
  PLAYBOOK_INPUT_TYPES,
  PLAYBOOK_TRIGGER_EVENTS,
  STEP_KINDS,
  TEST_APPROVAL_ANSWERS,
} from './playbook.js';

/**
 * The JSON Schema (draft 2020-12) of a playbook file, as published by
 * `warden playbook schema` (point an editor's YAML language server at it).
 *
 * It checks the shape; the loader then checks what a schema cannot say
 * (unique step ids, goto targets, CEL, durations, references between
 * playbooks). `x-error-messages` is an annotation keyword of ours: per
 * validation keyword, the message the loader shows instead of ajv's, so that
 * a failed `oneOf` reads as one sentence.
 */

type Schema = Record<string, unknown>;

/** The annotation keyword holding per-keyword error messages. */
export const ERROR_MESSAGES_KEYWORD = 'x-error-messages';

const messages = (byKeyword: Record<string, string>): Schema => ({
  [ERROR_MESSAGES_KEYWORD]: byKeyword,
});

const PLAYBOOK_ID_PATTERN = '^[a-z][a-z0-9-]*$';
const NAME_PATTERN = '^[a-z][a-z0-9_]*$';
const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?\\s*$';

const nonEmptyString = (description: string): Schema => ({
  type: 'string',
  minLength: 1,
  description,
});

const playbookId: Schema = {
  type: 'string',
  pattern: PLAYBOOK_ID_PATTERN,
  description: 'Playbook id: lowercase letters, digits and "-", starting with a letter.',
  ...messages({
    pattern: 'must be lowercase letters, digits and "-", starting with a letter',
  }),
};

const stepId: Schema = {
  type: 'string',
  pattern: NAME_PATTERN,
  description:
    'Step id: lowercase letters, digits and "_", starting with a letter (so that `steps.<id>` works in CEL).',
  ...messages({
    pattern:
      'must be lowercase letters, digits and "_", starting with a letter (so that steps.<id> works in CEL)',
  }),
};

const gotoTarget: Schema = {
  ...stepId,
  description: 'A step id of this playbook, or `end` to finish the run.',
};

const cel = (description: string): Schema => ({
  type: 'string',
  minLength: 1,
  description: `CEL expression: ${description}`,
});

/** Any YAML value; strings may contain `${{ expr }}`. */
const template = (description: string): Schema => ({
  description: `${description} Strings may contain \${{ CEL }} templates.`,
});

const templateString = (description: string): Schema => ({
  type: 'string',
  description: `${description} May contain \${{ CEL }} templates.`,
});

const duration = (description: string): Schema => ({
  type: ['string', 'number'],
  pattern: DURATION_PATTERN,
  exclusiveMinimum: 0,
  description: `${description} A duration such as "500ms", "10s", "30m", "1h", "2d", or milliseconds.`,
  ...messages({
    pattern: 'must be a duration such as "500ms", "10s", "30m", "1h" or "2d"',
  }),
});

const enumOf = (values: readonly string[], description: string): Schema => ({
  type: 'string',
  enum: [...values],
  description,
});

const roles = (description: string): Schema => ({
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: enumOf(APPROVER_ROLES, 'A Warden role that may answer approvals.'),
  description,
});

const connectorCall = (extra: Record<string, Schema>, description: string): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: ['connector', 'action'],
  description,
  properties: {
    connector: nonEmptyString('Connector instance name, as configured.'),
    action: nonEmptyString('Action of the connector.'),
    ...extra,
    input: template('The action input: any value.'),
  },
});

const KIND_KEYS = STEP_KINDS.filter((kind) => kind !== 'goto');

const step: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  description: `One step. Exactly one of ${STEP_KINDS.join(', ')}.`,
  properties: {
    id: stepId,
    when: cel('boolean guard; false skips the step.'),
    for_each: cel('a list; the step runs once per element, bound as `item`.'),
    concurrency: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 1,
      description: 'How many for_each items run at once (only with for_each).',
    },
    timeout: duration('Deadline of the step (enrich, act, notify, playbook).'),
    retry: {
      type: 'object',
      additionalProperties: false,
      required: ['count'],
      description: 'Retries of a failed connector call (enrich, act, notify).',
      properties: {
        count: {
          type: 'integer',
          minimum: 1,
          maximum: 100,
          description: 'Retries after the first attempt.',
        },
        backoff: {
          type: 'object',
          additionalProperties: false,
          properties: {
            initial: duration('Wait before the first retry (default 1s).'),
            max: duration('Longest wait (default 30s).'),
            factor: {
              type: 'number',
              minimum: 1,
              default: 2,
              description: 'Each wait is the previous one times this.',
            },
          },
        },
        on: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: nonEmptyString('An error code.'),
          description: 'Error codes to retry; absent: every retryable error.',
        },
      },
    },
    on_error: {
      description: 'continue | fail (default) | { goto: step_id }',
      oneOf: [
        { type: 'string', enum: ['continue', 'fail'] },
        {
          type: 'object',
          additionalProperties: false,
          required: ['goto'],
          properties: { goto: gotoTarget },
        },
      ],
      ...messages({ oneOf: 'must be continue, fail or { goto: <step id> }' }),
    },
    goto: gotoTarget,
    enrich: connectorCall(
      {
        evidence: {
          type: 'boolean',
          description:
            "Keep the connector's response (and its request) on the case as forensic evidence.",
        },
      },
      'Read from a connector.',
    ),
    act: connectorCall(
      {
        intent: {
          ...enumOf(
            CONTAINMENT_INTENTS,
            'Containment intent; the containment policy decides whether it runs automatically, needs approval, only notifies or is forbidden.',
          ),
        },
      },
      'Change something through a connector.',
    ),
    decide: {
      type: 'array',
      minItems: 1,
      description: 'Branches tried in order; the first true `when` wins; the last is `default`.',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          when: cel('boolean.'),
          goto: gotoTarget,
          default: gotoTarget,
        },
        oneOf: [
          { required: ['when', 'goto'] },
          {
            required: ['default'],
            not: { anyOf: [{ required: ['when'] }, { required: ['goto'] }] },
          },
        ],
        ...messages({ oneOf: 'a decide branch is either { when, goto } or { default } alone' }),
      },
    },
    approval: {
      type: 'object',
      additionalProperties: false,
      required: ['approvers', 'message', 'timeout'],
      description: 'Wait for a person to approve or deny.',
      properties: {
        approvers: roles('Roles any one of whom may answer.'),
        message: templateString('What the approver is asked.'),
        timeout: duration('How long to wait.'),
        on_timeout: {
          ...enumOf(APPROVAL_TIMEOUT_OUTCOMES, 'What a timeout means.'),
          default: 'deny',
        },
        escalate_to: roles('Roles asked after the timeout (only with on_timeout: escalate).'),
      },
      if: { required: ['on_timeout'], properties: { on_timeout: { const: 'escalate' } } },
      then: {
        required: ['escalate_to'],
        ...messages({ required: 'escalate_to is required when on_timeout is escalate' }),
      },
      else: {
        not: { required: ['escalate_to'] },
        ...messages({ not: 'escalate_to is only allowed with on_timeout: escalate' }),
      },
    },
    playbook: {
      type: 'object',
      additionalProperties: false,
      required: ['id'],
      description: 'Run another playbook.',
      properties: {
        id: playbookId,
        input: {
          type: 'object',
          description: 'Input name → value (templates allowed).',
        },
      },
    },
    case: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      description: 'Change the case.',
      properties: {
        phase: enumOf(CASE_PHASES, 'Incident-handling phase.'),
        severity: enumOf(SEVERITY_LABELS, 'Case severity.'),
        status: enumOf(['open', 'in_progress'], 'Status (close with `close`).'),
        note: templateString('A timeline comment.'),
        task: templateString('A task for the analyst.'),
        close: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: {
            reason: enumOf(CLOSURE_REASONS, 'Closure reason.'),
            note: templateString('Closure note.'),
          },
        },
      },
      if: { required: ['close'] },
      then: {
        propertyNames: { enum: ['close', 'note'] },
        ...messages({ propertyNames: 'close can only be combined with note' }),
      },
    },
    notify: {
      type: 'object',
      additionalProperties: false,
      required: ['connector', 'message'],
      description: 'Send a message.',
      properties: {
        connector: nonEmptyString('Connector instance name.'),
        to: templateString('Recipient.'),
        message: templateString('The message.'),
      },
    },
  },
  oneOf: [
    ...KIND_KEYS.map((kind) => ({ required: [kind] })),
    { required: ['goto'], not: { anyOf: KIND_KEYS.map((kind) => ({ required: [kind] })) } },
  ],
  dependentRequired: { concurrency: ['for_each'] },
  ...messages({
    oneOf: `a step needs exactly one of ${STEP_KINDS.join(', ')}`,
    dependentRequired: 'concurrency is only allowed with for_each',
  }),
};

const input: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: enumOf(PLAYBOOK_INPUT_TYPES, 'Value type.'),
    required: { type: 'boolean', default: false, description: 'Callers must pass it.' },
    default: { description: 'Value when a caller does not pass it.' },
    description: { type: 'string' },
  },
};

const test: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'expect'],
  properties: {
    name: nonEmptyString('What the test shows.'),
    alert: { type: 'object', description: 'A native alert (JSON of POST /api/v1/alerts).' },
    alert_file: nonEmptyString('Path of a native alert JSON file, relative to the playbook.'),
    closed_as: enumOf(
      CLOSURE_REASONS,
      'For a playbook on case_closed: the reason the case was closed with (default true_positive_contained).',
    ),
    responses: {
      type: 'object',
      description: 'Fake connector results by step id.',
      propertyNames: stepId,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          output: { description: 'What the step returns.' },
          error: {
            type: 'object',
            additionalProperties: false,
            required: ['code', 'retryable'],
            properties: {
              code: nonEmptyString('Error code.'),
              retryable: { type: 'boolean' },
              message: { type: 'string' },
            },
          },
        },
        oneOf: [{ required: ['output'] }, { required: ['error'] }],
        ...messages({ oneOf: 'a response has exactly one of output, error' }),
      },
    },
    approvals: {
      type: 'object',
      description: 'Answers by approval step id.',
      propertyNames: stepId,
      additionalProperties: enumOf(TEST_APPROVAL_ANSWERS, 'The answer.'),
    },
    expect: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        steps: { type: 'array', items: stepId, description: 'Step ids in the order they ran.' },
        actions: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['step'],
            properties: { step: stepId, input: {} },
          },
        },
        case: { type: 'object', description: 'Case fields after the run.' },
      },
    },
  },
  oneOf: [
    { required: ['alert'], not: { required: ['alert_file'] } },
    { required: ['alert_file'], not: { required: ['alert'] } },
  ],
  ...messages({ oneOf: 'a test needs exactly one of alert, alert_file' }),
};

export const PLAYBOOK_SCHEMA: Readonly<Schema> = deepFreeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://warden.dev/schemas/playbook.json',
  title: 'Warden playbook',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'version', 'title', 'owner', 'trigger', 'steps'],
  properties: {
    id: playbookId,
    version: { type: 'integer', minimum: 1, description: 'Bump on each change.' },
    title: nonEmptyString('One line.'),
    description: { type: 'string' },
    owner: nonEmptyString('Who maintains the playbook.'),
    trigger: {
      type: 'object',
      additionalProperties: false,
      properties: {
        on: {
          ...enumOf(
            PLAYBOOK_TRIGGER_EVENTS,
            'new_case: an alert opened a case (the router picks among these); case_closed: a case closed (every matching one starts).',
          ),
          default: 'new_case',
        },
        types: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: enumOf(ALERT_TYPES, 'An alert type.'),
        },
        when: cel('boolean over alert and case.'),
      },
      anyOf: [{ required: ['types'] }, { required: ['when'] }, { required: ['on'] }],
      ...messages({ anyOf: 'needs at least one of on, types, when' }),
    },
    inputs: {
      type: 'object',
      propertyNames: {
        pattern: NAME_PATTERN,
        ...messages({
          pattern: 'input names are lowercase letters, digits and "_", starting with a letter',
        }),
      },
      additionalProperties: input,
    },
    steps: { type: 'array', minItems: 1, items: { $ref: '#/$defs/step' } },
    handoff: {
      type: 'object',
      additionalProperties: false,
      properties: {
        notify_owner: { type: 'boolean', default: false },
        tasks: { type: 'array', items: templateString('A task added to the case.') },
        evidence: {
          type: 'array',
          items: cel('a value attached to the case as evidence.'),
        },
      },
    },
    tests: { type: 'array', items: { $ref: '#/$defs/test' } },
  },
  $defs: { step, test },
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
