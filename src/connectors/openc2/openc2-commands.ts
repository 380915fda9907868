import { isIPv4, isIPv6 } from 'node:net';
import type { ConnectorActionSpec, JsonSchema, JsonValue } from '../connector.js';

/**
 * The OpenC2 side of the connector, without HTTP: Warden actions as OpenC2
 * Language Specification v1.0 commands (Stateless Packet Filtering and
 * Endpoint Response actuator profiles), and OpenC2 responses read back.
 */

export type JsonObject = { [key: string]: JsonValue };

export interface OpenC2Command {
  readonly action: string;
  readonly target: JsonObject;
  readonly args?: JsonObject;
  readonly actuator?: JsonObject;
}

/** Actuator specifiers per profile, e.g. `{ slpf: { named_group: 'perimeter' } }`. */
export interface OpenC2Actuators {
  readonly slpf?: JsonObject;
  readonly er?: JsonObject;
}

/** Thrown by the builders when the input passes the schema but still makes no command. */
export class OpenC2InputError extends Error {}

// ---------------------------------------------------------------------------
// Actions

export const DIRECTIONS = ['ingress', 'egress', 'both'] as const;
/** SLPF v1.0 Drop-Process: none (drop silently), reject (ICMP unreachable), false_ack. */
export const DROP_PROCESSES = ['none', 'reject', 'false_ack'] as const;
export const QUERY_FEATURES = ['versions', 'profiles', 'pairs', 'rate_limit'] as const;

const CIDR: JsonSchema = {
  type: 'string',
  description: 'An IPv4 or IPv6 address or range in CIDR notation, e.g. 203.0.113.0/24',
  pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$',
  maxLength: 64,
};
const RULE_FIELDS = {
  cidr: CIDR,
  direction: { enum: [...DIRECTIONS] },
  duration_minutes: { type: 'integer', minimum: 1, maximum: 525_600 },
  insert_rule: { type: 'integer', minimum: 1 },
};

function inputSchema(properties: Record<string, JsonSchema>, required: string[]): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

/** Every output: the OpenC2 status, its text, the request id; plus the action's results. */
function outputSchema(results: Record<string, JsonSchema> = {}): JsonSchema {
  return {
    type: 'object',
    properties: {
      status: { type: 'integer' },
      status_text: { type: 'string' },
      ...results,
      request_id: { type: 'string' },
    },
    required: ['status', 'request_id'],
    additionalProperties: false,
  };
}

const RULE_OUTPUT = outputSchema({ rule_number: { type: 'integer' } });

export const OPENC2_ACTIONS: Readonly<Record<string, ConnectorActionSpec>> = {
  deny_ip_range: {
    name: 'deny_ip_range',
    description:
      'SLPF deny ipv4_net/ipv6_net: blocks traffic from or to an address range; returns the rule number.',
    effect: 'write',
    inputSchema: inputSchema({ ...RULE_FIELDS, drop_process: { enum: [...DROP_PROCESSES] } }, [
      'cidr',
    ]),
    outputSchema: RULE_OUTPUT,
  },
  allow_ip_range: {
    name: 'allow_ip_range',
    description:
      'SLPF allow ipv4_net/ipv6_net: permits traffic from or to an address range; returns the rule number.',
    effect: 'write',
    inputSchema: inputSchema(RULE_FIELDS, ['cidr']),
    outputSchema: RULE_OUTPUT,
  },
  delete_rule: {
    name: 'delete_rule',
    description: 'SLPF delete slpf:rule_number: removes a rule an earlier deny or allow created.',
    effect: 'write',
    inputSchema: inputSchema({ rule_number: { type: 'integer', minimum: 0 } }, ['rule_number']),
    outputSchema: outputSchema(),
  },
  disable_account: {
    name: 'disable_account',
    description: 'Endpoint Response set er:account with account_status disabled.',
    effect: 'write',
    inputSchema: inputSchema(
      {
        uid: { type: 'string', minLength: 1, maxLength: 256 },
        name: { type: 'string', minLength: 1, maxLength: 256 },
      },
      ['uid'],
    ),
    outputSchema: outputSchema(),
  },
  deny_file: {
    name: 'deny_file',
    description: 'deny file by SHA-256: the consumer stops the file from being used or run.',
    effect: 'write',
    inputSchema: inputSchema({ sha256: { type: 'string', pattern: '^[A-Fa-f0-9]{64}$' } }, [
      'sha256',
    ]),
    outputSchema: outputSchema(),
  },
  query_features: {
    name: 'query_features',
    description:
      'query features: the OpenC2 versions, profiles, action/target pairs and rate limit the consumer supports.',
    effect: 'read',
    inputSchema: inputSchema(
      {
        features: {
          type: 'array',
          items: { enum: [...QUERY_FEATURES] },
          uniqueItems: true,
        },
      },
      [],
    ),
    outputSchema: outputSchema({
      versions: { type: 'array', items: { type: 'string' } },
      profiles: { type: 'array', items: { type: 'string' } },
      // A map of action → targets (LS v1.0); some consumers send a list of pairs instead.
      pairs: {
        anyOf: [
          { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          { type: 'array' },
        ],
      },
      rate_limit: { type: 'number' },
    }),
  },
};

// ---------------------------------------------------------------------------
// Commands

/** The OpenC2 command for a (schema-valid) action input. */
export function buildCommand(
  action: string,
  input: JsonObject,
  actuators: OpenC2Actuators,
): OpenC2Command {
  switch (action) {
    case 'deny_ip_range':
    case 'allow_ip_range':
      return rangeCommand(action === 'deny_ip_range' ? 'deny' : 'allow', input, actuators);
    case 'delete_rule':
      return {
        action: 'delete',
        target: { 'slpf:rule_number': input.rule_number ?? null },
        args: { response_requested: 'complete' },
        actuator: { slpf: { ...actuators.slpf } },
      };
    case 'disable_account':
      return {
        action: 'set',
        target: {
          er: {
            account: {
              uid: input.uid ?? null,
              ...(typeof input.name === 'string' ? { account_name: input.name } : {}),
            },
          },
        },
        args: { er: { account_status: 'disabled' } },
        actuator: { er: { ...actuators.er } },
      };
    case 'deny_file':
      // A file deny belongs to no one profile: address the ER actuator only when configured.
      return {
        action: 'deny',
        target: { file: { hashes: { sha256: text(input.sha256).toLowerCase() } } },
        ...(actuators.er === undefined ? {} : { actuator: { er: { ...actuators.er } } }),
      };
    case 'query_features':
      return {
        action: 'query',
        target: {
          features: Array.isArray(input.features) ? input.features : [...QUERY_FEATURES],
        },
      };
    default:
      throw new OpenC2InputError(`no OpenC2 command for action ${action}`);
  }
}

function rangeCommand(
  verb: 'deny' | 'allow',
  input: JsonObject,
  actuators: OpenC2Actuators,
): OpenC2Command {
  const { kind, value } = parseCidr(text(input.cidr));
  const slpf: JsonObject = {};
  if (typeof input.direction === 'string') slpf.direction = input.direction;
  if (verb === 'deny' && typeof input.drop_process === 'string') {
    slpf.drop_process = input.drop_process;
  }
  if (typeof input.insert_rule === 'number') slpf.insert_rule = input.insert_rule;
  const args: JsonObject = {};
  // OpenC2 durations are milliseconds.
  if (typeof input.duration_minutes === 'number') args.duration = input.duration_minutes * 60_000;
  args.response_requested = 'complete';
  if (Object.keys(slpf).length > 0) args.slpf = slpf;
  return {
    action: verb,
    target: { [kind]: value },
    args,
    actuator: { slpf: { ...actuators.slpf } },
  };
}

/** `203.0.113.0/24` → ipv4_net; `2001:db8::/32` → ipv6_net. Host bits are left as given. */
export function parseCidr(text: string): { kind: 'ipv4_net' | 'ipv6_net'; value: string } {
  const [address = '', prefix, extra] = text.split('/');
  if (extra !== undefined) throw new OpenC2InputError(`${text} is not an address or CIDR range`);
  const bits = prefix === undefined ? undefined : Number(prefix);
  const valid = (max: number): boolean =>
    bits === undefined || (/^\d{1,3}$/.test(prefix ?? '') && bits <= max);
  if (isIPv4(address) && valid(32)) return { kind: 'ipv4_net', value: text };
  if (isIPv6(address) && valid(128)) return { kind: 'ipv6_net', value: text };
  throw new OpenC2InputError(`${text} is not an IPv4 or IPv6 address or CIDR range`);
}

// ---------------------------------------------------------------------------
// Responses

export interface OpenC2Response {
  readonly status?: number;
  readonly statusText?: string;
  readonly results?: JsonObject;
  /** From the envelope's headers, when the response came in one. */
  readonly requestId?: string;
}

export type ParsedResponse =
  | { readonly kind: 'empty' }
  | { readonly kind: 'response'; readonly response: OpenC2Response }
  | { readonly kind: 'invalid'; readonly problem: string };

/**
 * Reads an OpenC2 response, bare (`{status, status_text, results}`) or in
 * the HTTPS transfer message envelope (`{headers, body: {openc2: {response}}}`),
 * whichever form the consumer answered in.
 */
export function parseResponse(text: string): ParsedResponse {
  if (text.trim() === '') return { kind: 'empty' };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'invalid', problem: 'the response is not JSON' };
  }
  if (!isObject(body)) return { kind: 'invalid', problem: 'the response is not a JSON object' };
  let content: unknown = body;
  let requestId: string | undefined;
  const openc2 = isObject(body.body) ? body.body.openc2 : undefined;
  if (isObject(openc2)) {
    content = openc2.response;
    if (!isObject(content)) {
      return { kind: 'invalid', problem: 'the message envelope holds no body.openc2.response' };
    }
    if (isObject(body.headers) && typeof body.headers.request_id === 'string') {
      requestId = body.headers.request_id;
    }
  }
  const response = content as JsonObject;
  const status = response.status;
  if (status !== undefined && !(typeof status === 'number' && Number.isInteger(status))) {
    return { kind: 'invalid', problem: 'the response status is not an integer' };
  }
  const results = response.results;
  if (results !== undefined && !isObject(results)) {
    return { kind: 'invalid', problem: 'the response results are not an object' };
  }
  return {
    kind: 'response',
    response: {
      ...(status === undefined ? {} : { status }),
      ...(typeof response.status_text === 'string' ? { statusText: response.status_text } : {}),
      ...(results === undefined ? {} : { results }),
      ...(requestId === undefined ? {} : { requestId }),
    },
  };
}

/** The action's output fields taken from the response results. */
export function resultFields(action: string, results: JsonObject | undefined): JsonObject {
  if (results === undefined) return {};
  if (action === 'deny_ip_range' || action === 'allow_ip_range') {
    const slpf = results.slpf;
    const rule = isObject(slpf) ? slpf.rule_number : undefined;
    return typeof rule === 'number' ? { rule_number: rule } : {};
  }
  if (action === 'query_features') {
    const fields: JsonObject = {};
    for (const feature of QUERY_FEATURES) {
      const value = results[feature];
      if (value !== undefined) fields[feature] = value;
    }
    return fields;
  }
  return {};
}

/** The status names of OpenC2 Language Specification v1.0, for messages. */
export const STATUS_NAMES: Readonly<Record<number, string>> = {
  102: 'Processing',
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** The schema has made it a string; anything else becomes '' and fails later checks. */
function text(value: JsonValue | undefined): string {
  return typeof value === 'string' ? value : '';
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
