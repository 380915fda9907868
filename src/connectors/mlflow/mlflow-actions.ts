import type { ConnectorActionSpec, JsonSchema } from '../connector.js';

/**
 * The mlflow connector's actions and their JSON Schemas (2020-12), which
 * playbook authors see. Inputs reject unknown fields; outputs list every
 * field they always carry as required.
 */

const MODEL_NAME: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 500,
  description: 'Registered model name',
};
/** MLflow versions are numbers sent as strings; either form is accepted. */
const VERSION: JsonSchema = {
  type: ['string', 'integer'],
  pattern: '^[1-9][0-9]{0,17}$',
  minimum: 1,
  description: 'Model version number, e.g. "3" or 3',
};
/** Also the suffix of Warden's rollback tag keys, so kept to tag-safe characters. */
export const ALIAS_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$';
const ALIAS: JsonSchema = {
  type: 'string',
  pattern: ALIAS_PATTERN,
  not: { enum: ['latest'] },
  description: 'Registered model alias, e.g. champion',
};
const SHA256_INPUT: JsonSchema = {
  type: 'string',
  pattern: '^(sha256:)?[0-9a-fA-F]{64}$',
  description: 'SHA-256 in hex, optionally prefixed with sha256:',
};
const CASE: JsonSchema = {
  type: ['string', 'number'],
  description: 'The Warden case (number or reference) recorded with the change',
};
const REASON: JsonSchema = { type: 'string', maxLength: 2000 };
/** What MLflow accepts as a tag key. */
export const TAG_KEY_PATTERN = '^[A-Za-z0-9_./ -]{1,250}$';

const NULLABLE_STRING: JsonSchema = { type: ['string', 'null'] };
const TAGS: JsonSchema = { type: 'object', additionalProperties: { type: 'string' } };

const VERSION_PROPERTIES: Record<string, JsonSchema> = {
  name: { type: 'string' },
  version: { type: 'string' },
  status: NULLABLE_STRING,
  status_message: NULLABLE_STRING,
  current_stage: NULLABLE_STRING,
  description: NULLABLE_STRING,
  source: NULLABLE_STRING,
  run_id: NULLABLE_STRING,
  user_id: NULLABLE_STRING,
  aliases: { type: 'array', items: { type: 'string' } },
  tags: TAGS,
  created_at: NULLABLE_STRING,
  updated_at: NULLABLE_STRING,
  artifact_sha256: NULLABLE_STRING,
  known_good: { type: 'boolean' },
  quarantined: { type: 'boolean' },
};
const VERSION_REQUIRED = Object.keys(VERSION_PROPERTIES);

/** One model version, as every action describes it. */
export const VERSION_SCHEMA: JsonSchema = {
  type: 'object',
  properties: VERSION_PROPERTIES,
  required: VERSION_REQUIRED,
  additionalProperties: false,
};

/** A version lookup: every version field when found, only the question when not. */
function versionLookupSchema(extra: Record<string, JsonSchema>): JsonSchema {
  return {
    type: 'object',
    properties: { found: { type: 'boolean' }, ...VERSION_PROPERTIES, ...extra },
    required: ['found', 'name', ...Object.keys(extra)],
    additionalProperties: false,
    if: { properties: { found: { const: true } } },
    then: { required: VERSION_REQUIRED },
  };
}

function input(properties: Record<string, JsonSchema>, required: string[]): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

export const MLFLOW_ACTIONS = {
  get_registered_model: {
    name: 'get_registered_model',
    description:
      'A registered model: description, aliases (alias → version), latest versions, tags, times.',
    effect: 'read',
    inputSchema: input({ name: MODEL_NAME }, ['name']),
    outputSchema: {
      type: 'object',
      properties: {
        found: { type: 'boolean' },
        name: { type: 'string' },
        description: NULLABLE_STRING,
        aliases: { type: 'object', additionalProperties: { type: 'string' } },
        latest_versions: { type: 'array', items: VERSION_SCHEMA },
        tags: TAGS,
        created_at: NULLABLE_STRING,
        updated_at: NULLABLE_STRING,
      },
      required: ['found', 'name'],
      additionalProperties: false,
      if: { properties: { found: { const: true } } },
      then: {
        required: ['description', 'aliases', 'latest_versions', 'tags', 'created_at', 'updated_at'],
      },
    },
  },
  get_model_version: {
    name: 'get_model_version',
    description: 'One model version with its tags, aliases and known-good artifact SHA-256.',
    effect: 'read',
    inputSchema: input({ name: MODEL_NAME, version: VERSION }, ['name', 'version']),
    outputSchema: versionLookupSchema({}),
  },
  get_version_by_alias: {
    name: 'get_version_by_alias',
    description: 'The model version an alias (e.g. champion) points at.',
    effect: 'read',
    inputSchema: input({ name: MODEL_NAME, alias: ALIAS }, ['name', 'alias']),
    outputSchema: versionLookupSchema({ alias: { type: 'string' } }),
  },
  list_versions: {
    name: 'list_versions',
    description: 'The versions of a model, newest first.',
    effect: 'read',
    inputSchema: input(
      { name: MODEL_NAME, max_results: { type: 'integer', minimum: 1, maximum: 10000 } },
      ['name'],
    ),
    outputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        versions: { type: 'array', items: VERSION_SCHEMA },
        truncated: { type: 'boolean' },
      },
      required: ['name', 'versions', 'truncated'],
      additionalProperties: false,
    },
  },
  deployment_history: {
    name: 'deployment_history',
    description:
      "Versions newest first with aliases, stage, times, known-good flag and Warden's own rollback records (MLflow keeps no alias history).",
    effect: 'read',
    inputSchema: input({ name: MODEL_NAME }, ['name']),
    outputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        found: { type: 'boolean' },
        aliases: { type: 'object', additionalProperties: { type: 'string' } },
        versions: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              version: { type: 'string' },
              aliases: { type: 'array', items: { type: 'string' } },
              current_stage: NULLABLE_STRING,
              status: NULLABLE_STRING,
              created_at: NULLABLE_STRING,
              updated_at: NULLABLE_STRING,
              artifact_sha256: NULLABLE_STRING,
              known_good: { type: 'boolean' },
              quarantined: { type: 'boolean' },
              warden_tags: TAGS,
            },
            required: [
              'version',
              'aliases',
              'current_stage',
              'status',
              'created_at',
              'updated_at',
              'artifact_sha256',
              'known_good',
              'quarantined',
              'warden_tags',
            ],
            additionalProperties: false,
          },
        },
        rollbacks: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              at: { type: 'string' },
              alias: { type: 'string' },
              from_version: { type: 'string' },
              to_version: { type: 'string' },
              case: { type: ['string', 'number', 'null'] },
              reason: NULLABLE_STRING,
              completed: { type: 'boolean' },
              idempotency_key: { type: 'string' },
            },
            required: [
              'at',
              'alias',
              'from_version',
              'to_version',
              'case',
              'reason',
              'completed',
              'idempotency_key',
            ],
            additionalProperties: false,
          },
        },
        truncated: { type: 'boolean' },
      },
      required: ['name', 'found', 'aliases', 'versions', 'rollbacks', 'truncated'],
      additionalProperties: false,
    },
  },
  verify_hash: {
    name: 'verify_hash',
    description:
      "Compares a deployed artifact's SHA-256 with the known-good hash tagged on the version (by version, alias, or the default alias).",
    effect: 'read',
    inputSchema: {
      ...input({ name: MODEL_NAME, version: VERSION, alias: ALIAS, sha256: SHA256_INPUT }, [
        'name',
        'sha256',
      ]),
      not: { required: ['version', 'alias'] },
    },
    outputSchema: {
      type: 'object',
      properties: {
        verdict: { enum: ['match', 'mismatch', 'no_known_hash'] },
        expected: NULLABLE_STRING,
        actual: { type: 'string' },
        name: { type: 'string' },
        version: NULLABLE_STRING,
        alias: NULLABLE_STRING,
        found: { type: 'boolean' },
      },
      required: ['verdict', 'expected', 'actual', 'name', 'version', 'alias', 'found'],
      additionalProperties: false,
    },
  },
  rollback: {
    name: 'rollback',
    description:
      'Moves an alias (default: the default alias) back to to_version or to the newest known-good version older than the current one, quarantining the current one.',
    effect: 'write',
    inputSchema: input(
      { name: MODEL_NAME, alias: ALIAS, to_version: VERSION, case: CASE, reason: REASON },
      ['name'],
    ),
    outputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        alias: { type: 'string' },
        from_version: { type: 'string' },
        to_version: { type: 'string' },
        rolled_back: { const: true },
      },
      required: ['name', 'alias', 'from_version', 'to_version', 'rolled_back'],
      additionalProperties: false,
    },
  },
  set_alias: {
    name: 'set_alias',
    description: 'Points an alias at a version (a no-op when it already does).',
    effect: 'write',
    inputSchema: input({ name: MODEL_NAME, alias: ALIAS, version: VERSION }, [
      'name',
      'alias',
      'version',
    ]),
    outputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        alias: { type: 'string' },
        version: { type: 'string' },
        previous_version: NULLABLE_STRING,
        changed: { type: 'boolean' },
      },
      // `changed` is absent, and previous_version null, when answered by reconcile.
      required: ['name', 'alias', 'version', 'previous_version'],
      additionalProperties: false,
    },
  },
  tag_version: {
    name: 'tag_version',
    description: 'Sets a tag on a model version.',
    effect: 'write',
    inputSchema: input(
      {
        name: MODEL_NAME,
        version: VERSION,
        key: { type: 'string', pattern: TAG_KEY_PATTERN },
        value: { type: 'string', maxLength: 5000 },
      },
      ['name', 'version', 'key', 'value'],
    ),
    outputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        key: { type: 'string' },
        value: { type: 'string' },
        tagged: { const: true },
      },
      required: ['name', 'version', 'key', 'value', 'tagged'],
      additionalProperties: false,
    },
  },
  quarantine_version: {
    name: 'quarantine_version',
    description:
      'Tags a version warden.quarantined=true (with the case and reason) so it is never chosen as known-good.',
    effect: 'write',
    inputSchema: input({ name: MODEL_NAME, version: VERSION, case: CASE, reason: REASON }, [
      'name',
      'version',
    ]),
    outputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        quarantined: { const: true },
      },
      required: ['name', 'version', 'quarantined'],
      additionalProperties: false,
    },
  },
} as const satisfies Record<string, ConnectorActionSpec>;

export type MlflowActionName = keyof typeof MLFLOW_ACTIONS;
