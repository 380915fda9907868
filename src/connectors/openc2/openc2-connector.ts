import type { Fields } from '../../config/yaml-source.js';
import {
  ConnectorError,
  type Connector,
  type ConnectorCall,
  type ConnectorResult,
  type JsonValue,
  type RateLimit,
  type Reconciliation,
  type WireExchange,
} from '../connector.js';
import type { ConnectorConfigReader, ConnectorTypeDefinition } from '../connector-config-reader.js';
import { HTTP_DEFAULTS, type HttpHeaderValue } from '../http/http-connector.js';
import {
  parseRetryAfter,
  sendHttpRequest,
  statusError,
  type ResponseHeaders,
} from '../http/http-exchange.js';
import { HTTP_INSTANCE_KEYS, readHttpInstance } from '../http/http-connector-config.js';
import { SecretRedactor } from '../secrets.js';
import {
  OPENC2_ACTIONS,
  OpenC2InputError,
  STATUS_NAMES,
  buildCommand,
  parseResponse,
  resultFields,
  type JsonObject,
  type OpenC2Actuators,
  type OpenC2Command,
  type OpenC2Response,
} from './openc2-commands.js';

/**
 * `type: openc2`: sends OpenC2 commands (Language Specification v1.0, SLPF
 * and Endpoint Response profiles) to any OpenC2 consumer over the HTTPS
 * transfer specification: one POST per command to the consumer's endpoint.
 * See docs/connectors/openc2.md.
 */

/**
 * How the command travels (Specification for Transfer of OpenC2 Messages
 * via HTTPS): `envelope` is v1.1, the OpenC2 message `{headers, body:
 * {openc2: {request}}}` as `application/openc2+json`; `content` is v1.0,
 * the bare command as `application/openc2-cmd+json`.
 */
export type OpenC2Transfer = 'envelope' | 'content';
export const OPENC2_TRANSFERS: readonly OpenC2Transfer[] = ['envelope', 'content'];

const MEDIA_TYPES: Record<OpenC2Transfer, { request: string; response: string }> = {
  envelope: {
    request: 'application/openc2+json;version=1.0',
    response: 'application/openc2+json;version=1.0',
  },
  content: {
    request: 'application/openc2-cmd+json;version=1.0',
    response: 'application/openc2-rsp+json;version=1.0',
  },
};

export interface OpenC2ConnectorOptions {
  readonly name: string;
  /** The consumer's endpoint, the full URL the commands are POSTed to. */
  readonly endpoint: string;
  /** Sent with every command (authentication); secret-bearing ones recorded as written. */
  readonly headers?: Readonly<Record<string, HttpHeaderValue>>;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default 4 */
  readonly concurrency?: number;
  readonly rateLimit?: RateLimit;
  /** @default 'envelope' */
  readonly transfer?: OpenC2Transfer;
  /** The envelope's `from` (this producer), when set. */
  readonly from?: string;
  /** The envelope's `to` (the consumers), when set. */
  readonly to?: readonly string[];
  /** Actuator specifiers per profile, e.g. `{ slpf: { named_group: 'perimeter' } }`. */
  readonly actuators?: OpenC2Actuators;
  /** Every secret value in the headers, redacted wherever text is recorded. */
  readonly secretValues?: readonly string[];
  /** The envelope's `created` time. @default Date.now */
  readonly now?: () => number;
}

export function createOpenC2Connector(options: OpenC2ConnectorOptions): Connector {
  return new OpenC2Connector(options);
}

class OpenC2Connector implements Connector {
  readonly type = 'openc2';
  readonly name: string;
  readonly actions = OPENC2_ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly redactor: SecretRedactor;
  private readonly transfer: OpenC2Transfer;
  private readonly endpoint: URL;

  constructor(private readonly options: OpenC2ConnectorOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? HTTP_DEFAULTS.concurrency;
    if (options.rateLimit) this.rateLimit = options.rateLimit;
    this.redactor = new SecretRedactor(options.secretValues ?? []);
    this.transfer = options.transfer ?? 'envelope';
    this.endpoint = new URL(options.endpoint);
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const spec = this.actions[call.action];
    if (spec === undefined) {
      throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
    const where = `${this.name}.${call.action}`;
    const input = isObject(call.input) ? call.input : {};
    let command: OpenC2Command;
    try {
      command = buildCommand(call.action, input, this.options.actuators ?? {});
    } catch (error) {
      if (error instanceof OpenC2InputError) {
        throw new ConnectorError('invalid_input', `${where}: ${error.message}`);
      }
      throw error;
    }
    // OpenC2 has no idempotency key; the request id carries ours so a consumer may deduplicate.
    const requestId = call.idempotencyKey;
    const safeToRepeat = spec.effect === 'read';
    const { headers, recordedHeaders } = this.requestHeaders(requestId);

    const response = await sendHttpRequest(
      {
        method: 'POST',
        url: this.endpoint,
        headers,
        recordedHeaders,
        body: JSON.stringify(this.message(command, requestId)),
      },
      {
        where,
        timeoutMs: this.options.timeoutMs ?? HTTP_DEFAULTS.timeoutMs,
        signal: call.signal,
        redactor: this.redactor,
        safeToRepeat,
        // The OpenC2 status decides, whatever the HTTP status: it is read below.
        accept: () => true,
      },
    );
    // Read the redacted text: status_text and results reach messages and outputs.
    const parsed = parseResponse(this.redactor.redact(response.text));
    const answer: OpenC2Response | undefined =
      parsed.kind === 'response' ? parsed.response : undefined;
    const fail = (status: number): never => {
      throw openc2Error(status, answer?.statusText, response.headers, response.exchange, {
        where,
        safeToRepeat,
        fromBody: answer?.status === status && !isSuccess(response.status),
      });
    };

    if (!isSuccess(response.status)) {
      // A consumer answers a failure with an OpenC2 response too; its status is the more precise.
      const bodyStatus = answer?.status;
      fail(bodyStatus !== undefined && bodyStatus >= 400 ? bodyStatus : response.status);
    }
    if (parsed.kind === 'invalid') {
      throw new ConnectorError('invalid_output', `${where}: ${parsed.problem}`, {
        status: response.status,
        exchange: response.exchange,
      });
    }
    if (answer?.requestId !== undefined && answer.requestId !== requestId) {
      throw new ConnectorError(
        'invalid_output',
        `${where}: the response is for request ${answer.requestId}, not ${requestId}`,
        { status: response.status, exchange: response.exchange },
      );
    }
    // No body: 200 means done; 202 means accepted and still running (OpenC2 102).
    const status = answer?.status ?? (response.status === 202 ? 102 : 200);
    if (status >= 300) {
      throw openc2Error(status, answer?.statusText, response.headers, response.exchange, {
        where,
        safeToRepeat,
        fromBody: true,
      });
    }
    const output: JsonObject = {
      status,
      ...(answer?.statusText === undefined ? {} : { status_text: answer.statusText }),
      ...resultFields(call.action, answer?.results),
      request_id: requestId,
    };
    return { output, exchange: response.exchange, openc2: command as unknown as JsonValue };
  }

  /**
   * OpenC2 has no way to ask whether a command with a given request id was
   * carried out (no profile pairs `query` with a command reference), and
   * consumers need not deduplicate request ids: a write interrupted by a
   * crash is left for a person to check.
   */
  reconcile(_call: ConnectorCall): Promise<Reconciliation> {
    return Promise.resolve({ state: 'unknown' });
  }

  private message(command: OpenC2Command, requestId: string): JsonValue {
    const request = command as unknown as JsonObject;
    if (this.transfer === 'content') return request;
    const headers: JsonObject = {
      request_id: requestId,
      created: (this.options.now ?? Date.now)(),
    };
    if (this.options.from !== undefined) headers.from = this.options.from;
    if (this.options.to !== undefined) headers.to = [...this.options.to];
    return { headers, body: { openc2: { request } } };
  }

  /** Protocol headers first, so the instance's headers may override them (whatever the case). */
  private requestHeaders(requestId: string): {
    headers: Record<string, string>;
    recordedHeaders: Record<string, string>;
  } {
    const media = MEDIA_TYPES[this.transfer];
    const byName = new Map<string, [string, string]>();
    const set = (name: string, value: string): void => {
      byName.set(name.toLowerCase(), [name, value]);
    };
    set('Content-Type', media.request);
    set('Accept', media.response);
    set('Cache-Control', 'no-cache');
    // The transfer spec asks for the id in X-Request-ID too, for HTTP-level tracing.
    set('X-Request-ID', requestId);
    const recordedHeaders: Record<string, string> = {};
    for (const [name, header] of Object.entries(this.options.headers ?? {})) {
      set(name, header.value);
      recordedHeaders[name] = header.recorded;
    }
    return { headers: Object.fromEntries(byName.values()), recordedHeaders };
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The OpenC2 status codes as connector errors: 400 and 404 rejected, 401/403
 * unauthorized, 501 (not implemented) rejected and never retried, 503
 * unavailable and retryable, other 5xx unavailable and retryable only when
 * repeating is safe; HTTP-only statuses (429, 408, 3xx) as any HTTP
 * connector maps them.
 */
function openc2Error(
  status: number,
  statusText: string | undefined,
  headers: ResponseHeaders,
  exchange: WireExchange,
  options: { where: string; safeToRepeat: boolean; fromBody: boolean },
): ConnectorError {
  const name = STATUS_NAMES[status];
  const label = options.fromBody
    ? `OpenC2 status ${status}${name ? ` (${name})` : ''}`
    : `HTTP ${status}`;
  const detail = statusText ?? excerpt(exchange.responseBody);
  const message = `${options.where}: ${label}${detail ? `: ${detail}` : ''}`;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  const common = { status, exchange, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status === 501) {
    return new ConnectorError(
      'rejected',
      `${message} (the consumer does not implement this command)`,
      { ...common, retryable: false },
    );
  }
  if (status === 404) {
    return new ConnectorError('rejected', `${message} (nothing matching the command)`, common);
  }
  // Everything else maps as for any HTTP service, including when the retry would be unsafe.
  const mapped = statusError(status, headers, exchange.responseBody ?? '', exchange, options);
  // HTTP-only statuses (429, 408, redirects) keep the HTTP wording.
  if (!options.fromBody && name === undefined) return mapped;
  const unsafe = mapped.code === 'unavailable' && !mapped.retryable;
  return new ConnectorError(
    mapped.code,
    unsafe ? `${message} (the command may have been carried out, so it is not repeated)` : message,
    { ...common, retryable: mapped.retryable },
  );
}

function excerpt(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
}

// ---------------------------------------------------------------------------
// connectors.yaml

/** `type: openc2` in connectors.yaml; see docs/connectors/openc2.md. */
export const OPENC2_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'openc2',
  keys: [...HTTP_INSTANCE_KEYS, 'transfer', 'from', 'to', 'actuators'],
  create({ name, config, reader }) {
    const instance = readHttpInstance(config, reader);
    const transfer = config.optionalString('transfer') ?? 'envelope';
    if (!(OPENC2_TRANSFERS as readonly string[]).includes(transfer)) {
      config.fail(
        'transfer',
        'must be envelope (HTTPS transfer v1.1 message) or content (v1.0, the bare command)',
      );
    }
    const from = reader.plainString(config, 'from', false);
    const to = config.oneOrMany(
      'to',
      (value) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined),
      'a consumer name',
    );
    if ((from !== undefined || to.length > 0) && transfer === 'content') {
      config.fail(from !== undefined ? 'from' : 'to', 'is only sent with transfer: envelope');
    }
    const actuators = readActuators(config, reader);
    return createOpenC2Connector({
      name,
      endpoint: instance.baseUrl,
      headers: instance.headers,
      timeoutMs: instance.timeoutMs,
      concurrency: instance.concurrency,
      ...(instance.rateLimit === undefined ? {} : { rateLimit: instance.rateLimit }),
      transfer: transfer as OpenC2Transfer,
      ...(from === undefined ? {} : { from }),
      ...(to.length === 0 ? {} : { to }),
      actuators,
      secretValues: reader.secretValues(),
    });
  },
};

/** `actuators: { slpf: { named_group: … }, er: { hostname: … } }`: specifiers per profile. */
function readActuators(config: Fields, reader: ConnectorConfigReader): OpenC2Actuators {
  const section: Fields = config.section('actuators', ['slpf', 'er']);
  const actuators: { slpf?: JsonObject; er?: JsonObject } = {};
  for (const profile of ['slpf', 'er'] as const) {
    const specifiers = reader.json(section, profile);
    if (specifiers === undefined) continue;
    if (!isObject(specifiers)) {
      section.fail(profile, 'must be a mapping of actuator specifiers, e.g. { hostname: edr-01 }');
    }
    actuators[profile] = specifiers;
  }
  return actuators;
}
