import type { DeserializeMiddleware, MiddlewareStack } from '@smithy/types';
import {
  ConnectorError,
  type ConnectorErrorCode,
  type ConnectorResult,
  type JsonValue,
  type WireExchange,
} from '../connector.js';
import { deadline } from '../../core/deadline.js';
import { parseRetryAfter, truncateUtf8 } from '../http/http-exchange.js';
import { SecretRedactor } from '../secrets.js';
import type { AwsSettings } from './aws-settings.js';

/**
 * How the AWS connectors send an SDK command: with the SDK's own retries
 * off (Warden's runner owns retries and backoff), a per-request timeout and
 * the call's deadline aborting the request, every request and response
 * recorded by an SDK middleware as a redacted `WireExchange`, and SDK
 * errors mapped to the connector error vocabulary.
 *
 * Every AWS action here is safe to repeat — reads, and writes that first
 * look at the current state (a deny already present, a key already
 * inactive) — so a failure after the request may have arrived (timeout,
 * reset connection, 500) stays retryable.
 */

/** The client options both AWS connectors build their SDK client with. */
export interface AwsClientConfig {
  readonly region: string;
  readonly endpoint?: string;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  readonly maxAttempts: 1;
  readonly requestHandler: {
    readonly requestTimeout: number;
    readonly connectionTimeout: number;
    readonly throwOnRequestTimeout: true;
  };
}

/** One request in an action's output (`aws_requests`): which API call, and what came back. */
export interface AwsRequestSummary {
  readonly action: string;
  readonly status: number | null;
  readonly request_id: string | null;
  readonly [key: string]: JsonValue;
}

export const AWS_REQUESTS_SCHEMA = {
  type: 'array',
  description: 'Every AWS API request the action made, in order',
  items: {
    type: 'object',
    properties: {
      action: { type: 'string' },
      status: { type: ['integer', 'null'] },
      request_id: { type: ['string', 'null'] },
    },
    required: ['action', 'status', 'request_id'],
    additionalProperties: false,
  },
} as const;

/**
 * An SDK command: the recorder is added to its own middleware stack, so
 * each request is recorded apart from concurrent ones.
 */
export interface AwsCommand<Input extends object, Output extends object> {
  readonly middlewareStack: MiddlewareStack<Input, Output>;
}

interface RawRequest {
  method?: string;
  protocol?: string;
  hostname?: string;
  port?: number;
  path?: string;
  query?: Record<string, string | string[] | null>;
  headers?: Record<string, string>;
  body?: unknown;
}

interface RawResponse {
  statusCode?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** What the recorder saw of one request. */
interface Capture {
  exchange?: WireExchange;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

const RECORDED_BODY_BYTES = 16 * 1024;
const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const RECORDED_RESPONSE_HEADERS = new Set([
  'content-type',
  'content-length',
  'retry-after',
  'date',
  'x-amzn-requestid',
  'x-amzn-request-id',
  'x-amz-request-id',
  'x-amzn-errortype',
]);

export class AwsTransport {
  private readonly secrets: Set<string>;
  private redactor: SecretRedactor;

  constructor(readonly settings: AwsSettings) {
    this.secrets = new Set(settings.secretValues);
    this.redactor = new SecretRedactor(this.secrets);
  }

  /** Options for the SDK client; `region` is the signing region (IAM: see iamSigningRegion). */
  clientConfig(region: string): AwsClientConfig {
    // package.json pins the clients to a release that supports Node 20, so the SDK's
    // notice that later releases will not is noise in Warden's log; an operator may still set it.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { settings } = this;
    return {
      region,
      ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
      ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: settings.timeoutMs,
        connectionTimeout: settings.timeoutMs,
        throwOnRequestTimeout: true,
      },
    };
  }

  redact(text: string): string {
    return this.redactor.redact(text);
  }

  /** The requests of one connector call (one action, or one reconcile). */
  session(where: string, signal: AbortSignal): AwsCallSession {
    return new AwsCallSession(this, where, signal);
  }

  /**
   * Credentials from the default chain are only known once the SDK signs:
   * the key id (from the Authorization header) and session token are added
   * to the redaction list when first seen.
   */
  learnSecret(value: string | undefined): void {
    if (value === undefined || value.length < 8 || this.secrets.has(value)) return;
    this.secrets.add(value);
    this.redactor = new SecretRedactor(this.secrets);
  }

  /** `Credential=${secret:AWS_ACCESS_KEY_ID}/20250301/eu-west-1/ec2/aws4_request, …, Signature=[redacted]`. */
  recordAuthorization(value: string): string {
    const match =
      /^(\S+) Credential=([^/,\s]+)\/([^,\s]*),\s*SignedHeaders=([^,\s]*),\s*Signature=\S+$/.exec(
        value,
      );
    if (match === null) return '[redacted]';
    const [, algorithm, keyId, scope, signedHeaders] = match;
    this.learnSecret(keyId);
    const credential = this.settings.recordedAccessKeyId ?? '[redacted]';
    return `${algorithm} Credential=${credential}/${scope}, SignedHeaders=${signedHeaders}, Signature=[redacted]`;
  }

  recordSessionToken(value: string): string {
    this.learnSecret(value);
    return this.settings.recordedSessionToken ?? '[redacted]';
  }

  /** The SDK middleware that records one request and its response into `capture`. */
  recorder<Input extends object, Output extends object>(
    capture: Capture,
    signal: AbortSignal,
  ): DeserializeMiddleware<Input, Output> {
    return (next) => async (args) => {
      const startedAt = new Date();
      const started = performance.now();
      const request = (args.request ?? {}) as RawRequest;
      const base = this.recordRequest(request, startedAt);
      const elapsed = (): number => Math.round(performance.now() - started);
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (error) {
        capture.exchange = { ...base, durationMs: elapsed() };
        throw error;
      }
      const response = (result.response ?? {}) as RawResponse;
      const headers = lowerCaseHeaders(response.headers);
      capture.status = response.statusCode;
      capture.headers = headers;
      const responded = {
        ...(response.statusCode === undefined ? {} : { status: response.statusCode }),
        responseHeaders: pickResponseHeaders(headers),
      };
      let bytes: Uint8Array;
      try {
        bytes = await readBody(response.body, signal);
      } catch (error) {
        capture.exchange = { ...base, ...responded, durationMs: elapsed() };
        throw error;
      }
      // The SDK's deserializer reads the body again: hand it the bytes.
      response.body = bytes;
      const text = new TextDecoder().decode(bytes);
      capture.body = text;
      const recorded = truncateUtf8(this.redact(text), RECORDED_BODY_BYTES);
      capture.exchange = {
        ...base,
        ...responded,
        responseBody: recorded.text,
        ...(recorded.truncated ? { responseBodyTruncated: true } : {}),
        durationMs: elapsed(),
      };
      return result;
    };
  }

  private recordRequest(
    request: RawRequest,
    startedAt: Date,
  ): Pick<WireExchange, 'startedAt' | 'method' | 'url' | 'requestHeaders' | 'requestBody'> {
    const requestHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      const lower = name.toLowerCase();
      requestHeaders[name] =
        lower === 'authorization'
          ? this.recordAuthorization(value)
          : lower === 'x-amz-security-token'
            ? this.recordSessionToken(value)
            : value;
    }
    // Redact after learning the secrets the headers carried.
    for (const [name, value] of Object.entries(requestHeaders)) {
      requestHeaders[name] = this.redact(value);
    }
    const port = request.port === undefined ? '' : `:${request.port}`;
    const query = queryString(request.query);
    const url = `${request.protocol ?? 'https:'}//${request.hostname ?? ''}${port}${request.path ?? '/'}${query}`;
    const body = bodyText(request.body);
    return {
      startedAt: startedAt.toISOString(),
      method: request.method ?? 'POST',
      url: this.redact(url),
      requestHeaders,
      ...(body === undefined
        ? {}
        : { requestBody: truncateUtf8(this.redact(body), RECORDED_BODY_BYTES).text }),
    };
  }
}

/** Sends commands for one connector call and keeps what each one recorded. */
export class AwsCallSession {
  readonly requests: AwsRequestSummary[] = [];
  /** The last request's exchange: the one that decided the result. */
  lastExchange: WireExchange | undefined;

  constructor(
    private readonly transport: AwsTransport,
    readonly where: string,
    readonly signal: AbortSignal,
  ) {}

  /**
   * Sends one command (`send` is the typed `client.send(command, options)`);
   * rejects with a mapped `ConnectorError` carrying the exchange.
   */
  async send<Input extends object, Output extends object, T>(
    operation: string,
    command: AwsCommand<Input, Output>,
    send: (options: { abortSignal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    if (this.signal.aborted) {
      throw new ConnectorError(
        'timeout',
        `${this.where}: the step deadline passed before ${operation}`,
      );
    }
    const requestDeadline = deadline(this.transport.settings.timeoutMs);
    const timeout = requestDeadline.signal;
    const signal = AbortSignal.any([this.signal, timeout]);
    const capture: Capture = {};
    command.middlewareStack.add(this.transport.recorder<Input, Output>(capture, signal), {
      step: 'deserialize',
      name: 'wardenExchangeRecorder',
      // Innermost: it sees the signed request and the raw response.
      priority: 'low',
      override: true,
    });
    try {
      const output = await send({ abortSignal: signal });
      this.note(operation, capture);
      return output;
    } catch (error) {
      this.note(operation, capture);
      throw this.mapError(error, operation, capture, timeout);
    } finally {
      requestDeadline.clear();
    }
  }

  /** The action's result: the output with every request summarised, and the last exchange. */
  result(output: { [key: string]: JsonValue }, openc2?: JsonValue): ConnectorResult {
    const complete = redactJson({ ...output, aws_requests: this.requests }, (text) =>
      this.transport.redact(text),
    );
    return {
      output: complete,
      ...(this.lastExchange === undefined ? {} : { exchange: this.lastExchange }),
      ...(openc2 === undefined ? {} : { openc2 }),
    };
  }

  /** A failure decided from what AWS answered (e.g. a rule number already taken). */
  fail(code: ConnectorErrorCode, problem: string): ConnectorError {
    return new ConnectorError(code, this.transport.redact(`${this.where}: ${problem}`), {
      ...(this.lastExchange === undefined ? {} : { exchange: this.lastExchange }),
    });
  }

  private note(operation: string, capture: Capture): void {
    if (capture.exchange === undefined) return;
    this.lastExchange = capture.exchange;
    this.requests.push({
      action: operation,
      status: capture.status ?? null,
      request_id: requestId(capture),
    });
  }

  private mapError(
    error: unknown,
    operation: string,
    capture: Capture,
    timeout: AbortSignal,
  ): ConnectorError {
    const exchange = capture.exchange;
    const redact = (text: string): string => this.transport.redact(text);
    const withExchange = exchange === undefined ? {} : { exchange };
    if (error instanceof ConnectorError) return error.with(withExchange);

    const where = `${this.where}: ${operation}`;
    const sdk = (typeof error === 'object' && error !== null ? error : {}) as SdkError;
    const name = typeof sdk.name === 'string' ? sdk.name : 'Error';
    const aborted = this.signal.aborted || timeout.aborted;
    if (aborted || name === 'AbortError' || name === 'TimeoutError') {
      const why = this.signal.aborted
        ? 'the step deadline passed before the response'
        : `no response within ${this.transport.settings.timeoutMs} ms`;
      return new ConnectorError('timeout', `${where}: ${why}`, {
        retryable: true,
        ...withExchange,
        ...(capture.status === undefined ? {} : { status: capture.status }),
      });
    }

    const status = capture.status ?? sdk.$metadata?.httpStatusCode;
    if (status === undefined) {
      if (name === 'CredentialsProviderError') {
        return new ConnectorError(
          'misconfigured',
          `${where}: no AWS credentials (set access_key_id and secret_access_key, or provide them to the default credential chain): ${redact(errorMessage(error))}`,
        );
      }
      const code = systemErrorCode(error);
      const origin = redact(originOf(exchange?.url));
      return new ConnectorError(
        'unavailable',
        `${where}: cannot reach ${origin} (${redact(code ?? errorMessage(error))})`,
        { retryable: true, ...withExchange },
      );
    }

    const awsCode = awsErrorCode(sdk, capture.body);
    const retryAfterMs = parseRetryAfter(capture.headers?.['retry-after']);
    const awsText = awsCode === undefined ? '' : awsMessage(sdk, capture.body);
    const detail =
      awsCode === undefined
        ? excerpt(exchange?.responseBody ?? '')
        : `${awsCode}${awsText ? `: ${awsText}` : ''}`;
    const code = classify(status, awsCode);
    return new ConnectorError(
      code,
      redact(`${where}: HTTP ${status}${detail ? `: ${detail}` : ''}`),
      {
        status,
        ...withExchange,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        // Every AWS action here is idempotent by state, so even an uncertain write may be repeated.
        retryable: code === 'timeout' || code === 'unavailable' || code === 'rate_limited',
      },
    );
  }
}

interface SdkError {
  name?: unknown;
  message?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
]);
const UNAUTHORIZED_CODES = new Set([
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'AccessDenied',
  'AccessDeniedException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'MissingAuthenticationToken',
  'InvalidAccessKeyId',
  'UnrecognizedClientException',
  'Blocked',
]);
const UNAVAILABLE_CODES = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'ServiceFailure',
]);
/** Names the SDK gives when it could not read an AWS error code. */
const GENERIC_NAMES = new Set(['Error', 'Unknown', 'UnknownError', 'ServiceException']);

/**
 * AWS error codes first (EC2 throttles with a 503 `RequestLimitExceeded`,
 * IAM with a 400 `Throttling`), then the status.
 */
function classify(status: number, code: string | undefined): ConnectorErrorCode {
  if (code !== undefined) {
    if (THROTTLING_CODES.has(code)) return 'rate_limited';
    if (UNAUTHORIZED_CODES.has(code)) return 'unauthorized';
    if (UNAVAILABLE_CODES.has(code)) return 'unavailable';
  }
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'unavailable';
  if (status >= 200 && status < 300) return 'invalid_output';
  return 'rejected';
}

function awsErrorCode(error: SdkError, body: string | undefined): string | undefined {
  if (typeof error.Code === 'string' && error.Code !== '') return error.Code;
  if (typeof error.name === 'string' && !GENERIC_NAMES.has(error.name)) return error.name;
  return body === undefined ? undefined : /<Code>([^<]{1,200})<\/Code>/.exec(body)?.[1];
}

function awsMessage(error: SdkError, body: string | undefined): string {
  const fromBody =
    body === undefined ? undefined : /<Message>([^<]{0,400})<\/Message>/.exec(body)?.[1];
  const text = fromBody ?? (typeof error.message === 'string' ? error.message : '');
  // The SDK's own wording for unreadable bodies says nothing about the request.
  return /Deserialization error|XML parse error/.test(text) ? '' : excerpt(text);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function excerpt(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

function originOf(url: string | undefined): string {
  if (url === undefined) return 'the AWS endpoint';
  try {
    return new URL(url).origin;
  } catch {
    return 'the AWS endpoint';
  }
}

/** The system error code behind a network failure (ECONNREFUSED, ECONNRESET, …). */
function systemErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

function requestId(capture: Capture): string | null {
  const headers = capture.headers ?? {};
  const fromHeader =
    headers['x-amzn-requestid'] ?? headers['x-amzn-request-id'] ?? headers['x-amz-request-id'];
  if (fromHeader) return fromHeader;
  const fromBody =
    /<Request(?:Id|ID)>([^<]{1,200})<\/Request(?:Id|ID)>|<requestId>([^<]{1,200})<\/requestId>/.exec(
      capture.body ?? '',
    );
  return fromBody?.[1] ?? fromBody?.[2] ?? null;
}

function lowerCaseHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) result[name.toLowerCase()] = value;
  return result;
}

function pickResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (RECORDED_RESPONSE_HEADERS.has(name) || name.startsWith('x-ratelimit')) picked[name] = value;
  }
  return picked;
}

function queryString(query: RawRequest['query']): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === null) params.append(name, '');
    else for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return '[stream]';
}

/** Reads the whole response body, up to MAX_RESPONSE_BYTES, stopping at the deadline. */
async function readBody(body: unknown, signal: AbortSignal): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array();
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return new TextEncoder().encode(body);
  const stream = body as AsyncIterable<Uint8Array | string> & { destroy?: (error?: Error) => void };
  if (typeof stream[Symbol.asyncIterator] !== 'function') return new Uint8Array();
  const stop = (): void => stream.destroy?.(abortError());
  signal.addEventListener('abort', stop, { once: true });
  try {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
      size += bytes.byteLength;
      if (size > MAX_RESPONSE_BYTES) {
        stream.destroy?.();
        throw new ConnectorError(
          'invalid_output',
          `the AWS response is larger than ${MAX_RESPONSE_BYTES} bytes`,
        );
      }
      chunks.push(bytes);
    }
    if (signal.aborted) throw abortError();
    const whole = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      whole.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return whole;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

function abortError(): Error {
  const error = new Error('The response was aborted');
  error.name = 'AbortError';
  return error;
}

function redactJson(
  value: JsonValue,
  redact: (text: string) => string,
): { [key: string]: JsonValue } {
  const walk = (item: JsonValue): JsonValue => {
    if (typeof item === 'string') return redact(item);
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, walk(inner)]));
    }
    return item;
  };
  return walk(value) as { [key: string]: JsonValue };
}
