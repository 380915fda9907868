import { isMap, isScalar } from 'yaml';
import type { Fields } from '../../config/yaml-source.js';
import { compileActionSchema } from '../action-schema.js';
import type { ActionEffect, JsonSchema, JsonValue, RateLimit } from '../connector.js';
import {
  LIMIT_KEYS,
  type ConnectorConfigReader,
  type ConnectorTypeDefinition,
} from '../connector-config-reader.js';
import {
  HTTP_DEFAULTS,
  HTTP_METHODS,
  createHttpConnector,
  type HttpActionConfig,
  type HttpHeaderValue,
  type HttpMethod,
  type HttpOutputField,
} from './http-connector.js';
import { checkHeaderValue } from './http-credentials.js';

/** The keys `readHttpInstance` reads, which every HTTP-based type accepts. */
export const HTTP_INSTANCE_KEYS = ['base_url', 'headers', ...LIMIT_KEYS] as const;

/** `type: http` in connectors.yaml; see docs/connectors.md for the format. */
export const HTTP_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'http',
  keys: [...HTTP_INSTANCE_KEYS, 'idempotency_header', 'actions'],
  create({ name, config, reader }) {
    const instance = readHttpInstance(config, reader);
    const idempotencyHeader = config.optionalString('idempotency_header');
    if (idempotencyHeader !== undefined && !HEADER_NAME.test(idempotencyHeader)) {
      config.fail('idempotency_header', 'must be a header name such as Idempotency-Key');
    }
    const actionsSection: Fields = reader.openSection(config, 'actions');
    if (actionsSection.keys().length === 0)
      config.fail('actions', 'must declare at least one action');
    const actions: Record<string, HttpActionConfig> = {};
    for (const actionName of actionsSection.keys()) {
      if (!NAME.test(actionName)) {
        actionsSection.fail(actionName, 'is not a valid action name (use lower_snake_case)');
      }
      const action = actionsSection.section(actionName, ACTION_KEYS, { required: true });
      actions[actionName] = readAction(actionName, action, reader);
    }
    return createHttpConnector({
      name,
      ...instance,
      ...(idempotencyHeader === undefined ? {} : { idempotencyHeader }),
      actions,
      secretValues: reader.secretValues(),
    });
  },
};

const ACTION_KEYS = [
  'description',
  'method',
  'path',
  'effect',
  'input',
  'query',
  'headers',
  'body',
  'output',
] as const;
const NAME = /^[a-z][a-z0-9_]*$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const JSON_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];

/** The common part of an HTTP-based instance: where, how to authenticate, limits. */
export interface HttpInstance {
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, HttpHeaderValue>>;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
}

/**
 * Reads `base_url` (required, http(s), no credentials, query or fragment),
 * `headers` (values may use `${secret:NAME}`), `timeout` (default 10s),
 * `concurrency` (default 4) and `rate_limit`: the rules of the `http` type,
 * shared by the presets and openc2.
 */
export function readHttpInstance(config: Fields, reader: ConnectorConfigReader): HttpInstance {
  return {
    baseUrl: readBaseUrl(config, reader),
    headers: readHeaders(config, reader),
    ...reader.limits(config, HTTP_DEFAULTS),
  };
}

/** `base_url`: an absolute http(s) URL without credentials, query or fragment; no trailing slash. */
export function readBaseUrl(config: Fields, reader: ConnectorConfigReader): string {
  return reader.httpUrl(config, 'base_url', {
    required: true,
    credentialsHint: ': send them in a header with ${secret:NAME}',
  });
}

/** `headers`: name → value, values may hold `${secret:NAME}` references. */
export function readHeaders(
  parent: Fields,
  reader: ConnectorConfigReader,
): Record<string, HttpHeaderValue> {
  const section: Fields = reader.openSection(parent, 'headers');
  const headers: Record<string, HttpHeaderValue> = {};
  for (const name of section.keys()) {
    if (!HEADER_NAME.test(name)) section.fail(name, 'is not a valid header name');
    const header = reader.secretString(section, name) ?? section.fail(name, 'must have a value');
    checkHeaderValue(section, name, header.value);
    headers[name] = header;
  }
  return headers;
}

function readAction(name: string, action: Fields, reader: ConnectorConfigReader): HttpActionConfig {
  const methodText = action.requiredString('method').toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(methodText)) {
    action.fail('method', `must be one of ${HTTP_METHODS.join(', ')}`);
  }
  const method = methodText as HttpMethod;
  const path = reader.plainString(action, 'path', true) ?? '';
  if (!path.startsWith('/')) action.fail('path', 'must start with /');
  if (/[?#]/.test(path)) action.fail('path', 'must not contain ? or #: use query for parameters');

  const effectText = action.optionalString('effect');
  if (effectText !== undefined && effectText !== 'read' && effectText !== 'write') {
    action.fail('effect', 'must be read or write');
  }
  const effect: ActionEffect =
    effectText ?? (method === 'GET' || method === 'HEAD' ? 'read' : 'write');

  const { schema: inputSchema, fields } = readInputSchema(action, reader);
  const useField = (where: Fields, key: string, field: string): string => {
    if (fields === undefined) {
      where.fail(key, `refers to input field "${field}": declare it under input`);
    }
    if (!fields.includes(field)) {
      where.fail(
        key,
        `refers to "${field}", which is not an input field (declared: ${fields.join(', ') || 'none'})`,
      );
    }
    return field;
  };

  for (const match of path.matchAll(/\{([^}]*)\}/g)) {
    const field = match[1] ?? '';
    if (!FIELD.test(field))
      action.fail('path', `has a placeholder {${field}} that is not a field name`);
    useField(action, 'path', field);
  }

  const query: Record<string, string> = {};
  const querySection: Fields = reader.openSection(action, 'query');
  for (const parameter of querySection.keys()) {
    query[parameter] = useField(querySection, parameter, querySection.requiredString(parameter));
  }

  let body: HttpActionConfig['body'];
  const bodyNode = action.value('body');
  if (isScalar(bodyNode)) {
    if (bodyNode.value !== 'input') {
      action.fail(
        'body',
        'must be "input" (the whole input) or a mapping of body fields to input fields',
      );
    }
    body = 'input';
  } else if (isMap(bodyNode)) {
    const bodySection: Fields = reader.openSection(action, 'body');
    const mapped: Record<string, string> = {};
    for (const key of bodySection.keys()) {
      mapped[key] = useField(bodySection, key, bodySection.requiredString(key));
    }
    body = mapped;
  } else if (bodyNode !== undefined) {
    action.fail('body', 'must be "input" or a mapping of body fields to input fields');
  }
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    action.fail('body', `cannot be sent with ${method}`);
  }

  let output: Record<string, HttpOutputField> | undefined;
  if (action.value('output') !== undefined) {
    const outputSection: Fields = reader.openSection(action, 'output');
    output = {};
    for (const key of outputSection.keys()) {
      output[key] = readOutputPath(outputSection, key);
    }
  }

  return {
    name,
    description: action.optionalString('description') ?? `${method} ${path}`,
    method,
    effect,
    path,
    query,
    headers: readHeaders(action, reader),
    ...(body === undefined ? {} : { body }),
    ...(output === undefined ? {} : { output }),
    inputSchema,
  };
}

/**
 * `input:` maps each field to a JSON Schema, or to a type name as shorthand
 * (`ip: string`). Fields are required unless their schema says
 * `optional: true`; fields not declared are rejected, so a misspelt field
 * in a playbook fails before anything is sent. Without `input:`, any
 * object is accepted.
 */
function readInputSchema(
  action: Fields,
  reader: ConnectorConfigReader,
): { schema: JsonSchema; fields: string[] | undefined } {
  if (action.value('input') === undefined) return { schema: { type: 'object' }, fields: undefined };
  const section: Fields = reader.openSection(action, 'input');
  const properties: Record<string, JsonValue> = {};
  const required: string[] = [];
  for (const field of section.keys()) {
    if (!FIELD.test(field)) section.fail(field, 'is not a valid field name');
    const declared = reader.json(section, field);
    let schema: Record<string, JsonValue>;
    if (typeof declared === 'string') {
      if (!JSON_TYPES.includes(declared)) {
        section.fail(field, `must be a JSON Schema or a type name (${JSON_TYPES.join(', ')})`);
      }
      schema = { type: declared };
    } else if (typeof declared === 'object' && declared !== null && !Array.isArray(declared)) {
      schema = { ...declared };
    } else {
      return section.fail(field, 'must be a JSON Schema (a mapping) or a type name');
    }
    const optional = schema.optional;
    delete schema.optional;
    if (optional !== undefined && typeof optional !== 'boolean') {
      section.fail(field, 'optional must be true or false');
    }
    try {
      compileActionSchema(schema);
    } catch (error) {
      section.fail(
        field,
        `is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    properties[field] = schema;
    if (optional !== true) required.push(field);
  }
  return {
    schema: { type: 'object', properties, required, additionalProperties: false },
    fields: section.keys(),
  };
}

/** `data.attributes.malicious`, `items.0.id`; a trailing `?` makes it optional. */
function readOutputPath(section: Fields, key: string): HttpOutputField {
  const text = section.requiredString(key);
  const optional = text.endsWith('?');
  const segments = (optional ? text.slice(0, -1) : text).split('.');
  if (segments.some((segment) => segment === '')) {
    section.fail(key, 'must be a dot path into the JSON response, such as data.attributes.score');
  }
  return {
    path: segments.map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment)),
    optional,
  };
}
