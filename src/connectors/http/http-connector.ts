import {
  ConnectorError,
  type ActionEffect,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonSchema,
  type JsonValue,
  type RateLimit,
  type Reconciliation,
} from '../connector.js';
import { SecretRedactor } from '../secrets.js';
import { sendHttpRequest } from './http-exchange.js';

/**
 * The generic HTTP/webhook connector: each action is one templated request
 * (method, path with `{field}` placeholders, query, headers, JSON body) and
 * an optional mapping of the JSON response to the action's output.
 * Configured per instance in connectors.yaml (see http-connector-config.ts).
 */

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A header as sent and as recorded: `Bearer s3cr3t` / `Bearer ${secret:TI_TOKEN}`. */
export interface HttpHeaderValue {
  readonly value: string;
  readonly recorded: string;
}

export interface HttpOutputField {
  /** Keys into the JSON response; numbers index arrays. */
  readonly path: readonly (string | number)[];
  /** Absent in the response → absent in the output, instead of `invalid_output`. */
  readonly optional: boolean;
}

export interface HttpActionConfig {
  readonly name: string;
  readonly description: string;
  readonly method: HttpMethod;
  readonly effect: ActionEffect;
  /** Appended to the base URL's path; `{field}` placeholders are URL-encoded input values. */
  readonly path: string;
  /** Query parameter → input field; an absent field leaves the parameter out; lists repeat it. */
  readonly query: Readonly<Record<string, string>>;
  /** Over the instance's headers. */
  readonly headers: Readonly<Record<string, HttpHeaderValue>>;
  /** `input`: the whole input as JSON; a map: body field → input field; absent: no body. */
  readonly body?: 'input' | Readonly<Record<string, string>>;
  /** Output field → where it is in the JSON response; absent: the whole response. */
  readonly output?: Readonly<Record<string, HttpOutputField>>;
  readonly inputSchema: JsonSchema;
}

export interface HttpConnectorConfig {
  readonly name: string;
  /** An http(s) URL without query or fragment; action paths are appended to it. */
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, HttpHeaderValue>>;
  /** Per request. @default 10000 */
  readonly timeoutMs: number;
  /** @default 4 */
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  /**
   * Header carrying the call's idempotency key on write actions, e.g.
   * `Idempotency-Key`. Set it only when the receiver deduplicates by it:
   * then failed writes are retried and `reconcile` re-sends the call.
   */
  readonly idempotencyHeader?: string;
  readonly actions: Readonly<Record<string, HttpActionConfig>>;
  /** Every secret value used in the config, redacted wherever text is recorded. */
  readonly secretValues: readonly string[];
  /** @default 16384 */
  readonly recordedBodyBytes?: number;
}

export const HTTP_DEFAULTS = Object.freeze({ timeoutMs: 10_000, concurrency: 4 });

export function createHttpConnector(config: HttpConnectorConfig): Connector {
  return new HttpConnector(config);
}

type JsonObject = { [key: string]: JsonValue };

class HttpConnector implements Connector {
  readonly type = 'http';
  readonly name: string;
  readonly actions: Readonly<Record<string, ConnectorActionSpec>>;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly redactor: SecretRedactor;

  constructor(private readonly config: HttpConnectorConfig) {
    this.name = config.name;
    this.concurrency = config.concurrency;
    if (config.rateLimit) this.rateLimit = config.rateLimit;
    this.redactor = new SecretRedactor(config.secretValues);
    const actions: Record<string, ConnectorActionSpec> = {};
    for (const action of Object.values(config.actions)) {
      actions[action.name] = {
        name: action.name,
        description: action.description,
        effect: action.effect,
        inputSchema: action.inputSchema,
        outputSchema: outputSchema(action),
      };
    }
    this.actions = actions;
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const action = this.config.actions[call.action];
    if (action === undefined) {
      throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
    const where = `${this.name}.${action.name}`;
    const input = asObject(call.input);
    const body = requestBody(action, input);
    // Later entries win, whatever their case: defaults, instance, action, idempotency key.
    const headers = new Map<string, { name: string; value: string }>();
    const recordedHeaders: Record<string, string> = {};
    const set = (name: string, value: string): void => {
      headers.set(name.toLowerCase(), { name, value });
    };
    set('accept', 'application/json');
    if (body !== undefined) set('content-type', 'application/json');
    for (const [name, header] of [
      ...Object.entries(this.config.headers),
      ...Object.entries(action.headers),
    ]) {
      set(name, header.value);
      recordedHeaders[name] = header.recorded;
    }
    const deduplicated = action.effect === 'write' && this.config.idempotencyHeader !== undefined;
    if (deduplicated && this.config.idempotencyHeader) {
      set(this.config.idempotencyHeader, call.idempotencyKey);
    }

    const response = await sendHttpRequest(
      {
        method: action.method,
        url: this.url(action, input, where),
        headers: Object.fromEntries([...headers.values()].map(({ name, value }) => [name, value])),
        recordedHeaders,
        ...(body === undefined ? {} : { body }),
      },
      {
        where,
        timeoutMs: this.config.timeoutMs,
        signal: call.signal,
        redactor: this.redactor,
        safeToRepeat: action.effect === 'read' || deduplicated,
        ...(this.config.recordedBodyBytes === undefined
          ? {}
          : { recordedBodyBytes: this.config.recordedBodyBytes }),
      },
    );
    // The redacted text: a service that echoes a credential must not put it into a step's output.
    const output = mapOutput(action, this.redactor.redact(response.text), (problem) => {
      throw new ConnectorError('invalid_output', `${where}: ${problem}`, {
        status: response.status,
        exchange: response.exchange,
      });
    });
    return { output, exchange: response.exchange };
  }

  /**
   * With an idempotency header the receiver applies a key once, so sending
   * the call again is safe: it either applies it now or answers with the
   * original result. Without one nothing can be known.
   */
  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    if (this.config.idempotencyHeader === undefined) return { state: 'unknown' };
    try {
      return { state: 'done', result: await this.invoke(call) };
    } catch (error) {
      if (error instanceof ConnectorError) return { state: 'unknown', error };
      throw error;
    }
  }

  private url(action: HttpActionConfig, input: JsonObject, where: string): URL {
    const path = action.path.replace(/\{([^}]+)\}/g, (_whole, field: string) =>
      encodeURIComponent(scalarText(input[field], field, where, 'the path')),
    );
    const url = new URL(this.config.baseUrl.replace(/\/+$/, '') + path);
    for (const [parameter, field] of Object.entries(action.query)) {
      const value = input[field];
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? value : [value]) {
        url.searchParams.append(parameter, scalarText(item, field, where, 'the query'));
      }
    }
    return url;
  }
}

function asObject(input: JsonValue): JsonObject {
  return typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {};
}

function scalarText(
  value: JsonValue | undefined,
  field: string,
  where: string,
  part: string,
): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  throw new ConnectorError(
    'invalid_input',
    `${where}: input.${field} must be a string, number or boolean to go into ${part}`,
  );
}

function requestBody(action: HttpActionConfig, input: JsonObject): string | undefined {
  if (action.body === undefined) return undefined;
  if (action.body === 'input') return JSON.stringify(input);
  const body: JsonObject = {};
  for (const [name, field] of Object.entries(action.body)) {
    const value = input[field];
    if (value !== undefined) body[name] = value;
  }
  return JSON.stringify(body);
}

function outputSchema(action: HttpActionConfig): JsonSchema {
  if (action.output === undefined) return {};
  const fields = Object.entries(action.output);
  return {
    type: 'object',
    properties: Object.fromEntries(fields.map(([name]) => [name, {}])),
    required: fields.filter(([, field]) => !field.optional).map(([name]) => name),
    additionalProperties: false,
  };
}

/**
 * Without a mapping: the JSON body, the text when it is not JSON, null when
 * empty. With one: an object of the mapped values.
 */
function mapOutput(
  action: HttpActionConfig,
  text: string,
  fail: (problem: string) => never,
): JsonValue {
  let body: JsonValue | undefined;
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text) as JsonValue;
    } catch {
      body = undefined;
    }
  }
  if (action.output === undefined) return text.trim() === '' ? null : (body ?? text);
  if (body === undefined) fail('the response is not JSON, so the output mapping cannot apply');
  const output: JsonObject = {};
  for (const [name, field] of Object.entries(action.output)) {
    const value = dig(body, field.path);
    if (value !== undefined) output[name] = value;
    else if (!field.optional) {
      fail(
        `the response has no ${field.path.join('.')} (for output ${name}; add ? to make it optional)`,
      );
    }
  }
  return output;
}

function dig(value: JsonValue, path: readonly (string | number)[]): JsonValue | undefined {
  let current: JsonValue | undefined = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (Array.isArray(current)) {
      current = typeof key === 'number' ? current[key] : undefined;
    } else {
      current = Object.hasOwn(current, String(key)) ? current[String(key)] : undefined;
    }
  }
  return current;
}
