import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { ConnectorError, type WireExchange } from '../connector.js';
import type { SecretRedactor } from '../secrets.js';

/**
 * One HTTP request as every HTTP-based connector sends it: with a timeout,
 * no redirects followed (a credential must not travel to another origin),
 * the exchange recorded with secrets redacted, and failures mapped to the
 * connector error vocabulary. Built on `node:http`/`node:https` with
 * keep-alive agents rather than the global fetch, which costs several times
 * the CPU per request (its web streams and request cloning) and is on the
 * playbook engine's hot path.
 */

export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  /**
   * How the URL appears in the exchange when it is itself a credential,
   * e.g. `${secret:SLACK_WEBHOOK_URL}`. @default the URL
   */
  readonly recordedUrl?: string;
  /** The headers sent, secrets included. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * How secret-bearing headers appear in the exchange, e.g.
   * `{ Authorization: 'Bearer ${secret:TI_TOKEN}' }`.
   */
  readonly recordedHeaders?: Readonly<Record<string, string>>;
  readonly body?: string;
  /**
   * How the body appears in the exchange when it carries a credential, e.g.
   * with `"routing_key": "${secret:PD_ROUTING_KEY}"`. @default the body
   */
  readonly recordedBody?: string;
}

export interface HttpExchangeOptions {
  /** `connector.action`, the start of every error message. */
  readonly where: string;
  readonly timeoutMs: number;
  /** The call's deadline. */
  readonly signal: AbortSignal;
  /** Scrubs every recorded text and error message. */
  readonly redactor: SecretRedactor;
  /**
   * Whether the request may be repeated even if the first one may have been
   * applied: true for reads and for writes the receiver deduplicates by
   * idempotency key. When false, a failure after the request may have
   * arrived (timeout, connection reset, 500/502/504) is not retryable.
   */
  readonly safeToRepeat: boolean;
  /** Statuses that are a result rather than an error. @default 2xx */
  readonly accept?: (status: number) => boolean;
  /** Recorded response body limit in bytes. @default 16384 */
  readonly recordedBodyBytes?: number;
  /** Largest response read at all, in bytes. @default 10485760 */
  readonly maxResponseBytes?: number;
}

/** Response headers by case-insensitive name; repeated headers joined with `, `. */
export interface ResponseHeaders {
  get(name: string): string | null;
  forEach(visit: (value: string, name: string) => void): void;
}

class NodeResponseHeaders implements ResponseHeaders {
  constructor(private readonly headers: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  forEach(visit: (value: string, name: string) => void): void {
    for (const name of Object.keys(this.headers)) visit(this.get(name) as string, name);
  }
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly text: string;
  readonly exchange: WireExchange;
}

const RECORDED_RESPONSE_HEADERS = new Set([
  'content-type',
  'content-length',
  'retry-after',
  'location',
  'date',
  'x-request-id',
  'request-id',
  'x-correlation-id',
  'idempotency-key',
  'idempotent-replayed',
]);

/** What a transport sends: the request as it goes on the wire, secrets included. */
export interface WireRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

/** Why an exchange was cut short by us rather than by the network. */
export type Abandoned = 'timeout' | 'deadline';

/** How a failed exchange failed, as plain data (it may cross threads). */
export interface WireFailure {
  /** Cut by the transport's timer or by the caller's deadline. */
  readonly abandoned?: Abandoned;
  readonly aborted?: boolean;
  /** The system error code (`ECONNREFUSED`), also of a wrapped error. */
  readonly code?: string;
  readonly message: string;
}

/**
 * What came back. A transport never rejects: failures are outcomes too, so
 * that an exchange relayed from another thread fails exactly like a local one.
 */
export type WireOutcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly text: string;
    }
  | ({ readonly kind: 'no_response' } & WireFailure)
  | ({
      readonly kind: 'broken_body';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      /** The body went past `maxResponseBytes`. */
      readonly tooLarge?: boolean;
    } & WireFailure);

/** Carries one request to its server; `signal` is the call's deadline. */
export type HttpTransport = (request: WireRequest, signal: AbortSignal) => Promise<WireOutcome>;

/**
 * This thread's transport. The playbook engine's writer thread swaps in one
 * that relays to the main thread (see `http-relay.ts`), which has the idle CPU.
 */
let transport: HttpTransport = nodeHttpTransport;

export function useHttpTransport(next: HttpTransport): void {
  transport = next;
}

/** Sends the request; a status outside `accept` rejects with a mapped `ConnectorError`. */
export async function sendHttpRequest(
  request: HttpRequest,
  options: HttpExchangeOptions,
): Promise<HttpResponse> {
  const startedAt = new Date();
  const started = performance.now();
  const redact = (text: string): string => options.redactor.redact(text);
  const base = {
    startedAt: startedAt.toISOString(),
    method: request.method,
    url: redact(request.recordedUrl ?? request.url.toString()),
    requestHeaders: recordHeaders(request, redact),
    ...(request.body === undefined
      ? {}
      : { requestBody: redact(request.recordedBody ?? request.body) }),
  };
  const elapsed = (): number => Math.round(performance.now() - started);
  const maxResponseBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
  const outcome = await transport(
    {
      method: request.method,
      url: request.url.toString(),
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      timeoutMs: options.timeoutMs,
      maxResponseBytes,
    },
    options.signal,
  );
  if (outcome.kind === 'no_response') {
    throw networkError(outcome, request.url, options, { ...base, durationMs: elapsed() });
  }
  const status = outcome.status;
  const headers = new NodeResponseHeaders(outcome.headers);
  const responded = { status, responseHeaders: recordResponseHeaders(headers) };
  if (outcome.kind === 'broken_body') {
    const recordedExchange = { ...base, ...responded, durationMs: elapsed() };
    if (outcome.tooLarge) {
      throw new ConnectorError(
        'invalid_output',
        `${options.where}: the response is larger than ${maxResponseBytes} bytes`,
        { status, exchange: recordedExchange },
      );
    }
    throw networkError(outcome, request.url, options, recordedExchange);
  }
  const text = outcome.text;
  const limit = options.recordedBodyBytes ?? 16 * 1024;
  const recorded = truncateUtf8(redact(text), limit);
  const wire: WireExchange = {
    ...base,
    ...responded,
    responseBody: recorded.text,
    ...(recorded.truncated ? { responseBodyTruncated: true } : {}),
    durationMs: elapsed(),
  };
  const accept = options.accept ?? ((status: number) => status >= 200 && status < 300);
  if (!accept(status)) throw statusError(status, headers, recorded.text, wire, options);
  return { status, headers, text, exchange: wire };
}

const AGENTS = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

class ResponseTooLarge extends Error {}

/** The transport of this thread's own sockets: `node:http`/`node:https` with keep-alive agents. */
export async function nodeHttpTransport(
  request: WireRequest,
  signal: AbortSignal,
): Promise<WireOutcome> {
  const exchange = new NodeExchange(request, signal);
  let response: IncomingMessage;
  try {
    response = await exchange.response;
  } catch (error) {
    exchange.finish();
    return { kind: 'no_response', ...failureOf(error, exchange.abandoned) };
  }
  const status = response.statusCode ?? 0;
  const headers = response.headers;
  try {
    const text = await readBody(response, request.maxResponseBytes);
    return { kind: 'response', status, headers, text };
  } catch (error) {
    return {
      kind: 'broken_body',
      status,
      headers,
      ...(error instanceof ResponseTooLarge ? { tooLarge: true } : {}),
      ...failureOf(error, exchange.abandoned),
    };
  } finally {
    exchange.finish();
  }
}

function failureOf(error: unknown, abandoned: Abandoned | undefined): WireFailure {
  const code = errorCode(error);
  return {
    ...(abandoned ? { abandoned } : {}),
    ...(error instanceof Error && error.name === 'AbortError' ? { aborted: true } : {}),
    ...(code === undefined ? {} : { code }),
    message: error instanceof Error ? error.message : String(error),
  };
}

/** One request in flight, with its own timer and the step's deadline wired to it. */
class NodeExchange {
  readonly response: Promise<IncomingMessage>;
  abandoned: Abandoned | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly onDeadline: () => void;
  private request: http.ClientRequest | undefined;

  constructor(
    request: WireRequest,
    private readonly signal: AbortSignal,
  ) {
    const cut = (why: Abandoned): void => {
      if (this.abandoned) return;
      this.abandoned = why;
      const error = new Error(why === 'timeout' ? 'timed out' : 'aborted');
      error.name = 'AbortError';
      this.request?.destroy(error);
    };
    this.onDeadline = () => cut('deadline');
    this.timer = setTimeout(() => cut('timeout'), request.timeoutMs);
    this.response = new Promise<IncomingMessage>((resolve, reject) => {
      if (this.signal.aborted) {
        this.abandoned = 'deadline';
        const error = new Error('aborted');
        error.name = 'AbortError';
        reject(error);
        return;
      }
      this.signal.addEventListener('abort', this.onDeadline, { once: true });
      const url = new URL(request.url);
      const client = url.protocol === 'https:' ? https : http;
      const agent = AGENTS[url.protocol as keyof typeof AGENTS];
      if (!agent) {
        reject(new TypeError(`unsupported protocol ${url.protocol}`));
        return;
      }
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body !== undefined && !hasHeader(headers, 'content-length')) {
        headers['content-length'] = Buffer.byteLength(request.body);
      }
      const outgoing = client.request(url, { method: request.method, headers, agent }, resolve);
      this.request = outgoing;
      outgoing.on('error', reject);
      outgoing.end(request.body);
    });
  }

  /** Stops the timer and the deadline listener; the socket goes back to the pool or is closed. */
  finish(): void {
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onDeadline);
  }
}

function hasHeader(headers: Record<string, unknown>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function recordHeaders(
  request: HttpRequest,
  redact: (text: string) => string,
): Record<string, string> {
  const recorded: Record<string, string> = {};
  const shown = new Map(
    Object.entries(request.recordedHeaders ?? {}).map(([name, value]) => [
      name.toLowerCase(),
      value,
    ]),
  );
  for (const [name, value] of Object.entries(request.headers)) {
    recorded[name] = redact(shown.get(name.toLowerCase()) ?? value);
  }
  return recorded;
}

function recordResponseHeaders(headers: ResponseHeaders): Record<string, string> {
  const recorded: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (
      RECORDED_RESPONSE_HEADERS.has(name) ||
      name.startsWith('x-ratelimit') ||
      name.startsWith('ratelimit')
    ) {
      recorded[name] = value;
    }
  });
  return recorded;
}

async function readBody(response: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      response.destroy();
      throw new ResponseTooLarge();
    }
    chunks.push(chunk);
  }
  return chunks.length === 1
    ? (chunks[0] as Buffer).toString('utf8')
    : Buffer.concat(chunks).toString('utf8');
}

/** `text` cut to at most `maxBytes` of UTF-8, for recording; `truncated` when it was cut. */
export function truncateUtf8(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength <= maxBytes) return { text, truncated: false };
  // Cutting bytes may split a character; the decoder drops the partial one.
  return {
    text: new TextDecoder().decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD$/, ''),
    truncated: true,
  };
}

// ---------------------------------------------------------------------------
// Failures

const MAYBE_APPLIED = ' (the request may have been applied, so it is not repeated)';

/** Network-level failure codes after which the request certainly did not arrive. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function networkError(
  failure: WireFailure,
  url: URL,
  options: HttpExchangeOptions,
  exchange: WireExchange,
): ConnectorError {
  const redact = (text: string): string => options.redactor.redact(text);
  const origin = redact(url.origin);
  if (failure.abandoned !== undefined || failure.aborted) {
    const why =
      failure.abandoned === 'deadline' || options.signal.aborted
        ? 'the step deadline passed before the response'
        : failure.abandoned === 'timeout'
          ? `no response within ${options.timeoutMs} ms`
          : 'the request was aborted';
    return new ConnectorError(
      'timeout',
      `${options.where}: ${why}${options.safeToRepeat ? '' : MAYBE_APPLIED}`,
      { retryable: options.safeToRepeat, exchange },
    );
  }
  const code = failure.code;
  const notSent = code !== undefined && NOT_SENT.has(code);
  const reason = redact(code ?? failure.message);
  return new ConnectorError(
    'unavailable',
    `${options.where}: cannot reach ${origin} (${reason})${notSent || options.safeToRepeat ? '' : MAYBE_APPLIED}`,
    { retryable: notSent || options.safeToRepeat, exchange },
  );
}

/** The system error code of a failure, also when it is wrapped (an AggregateError of addresses tried). */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    const nested = (current as { errors?: unknown[] }).errors?.[0];
    current = current.cause ?? nested;
  }
  return undefined;
}

/**
 * 401/403 → unauthorized; 408 → timeout; 429 → rate_limited; 503 →
 * unavailable; other 5xx → unavailable, retryable only when safe to repeat;
 * any other status (other 4xx, unfollowed 3xx) → rejected.
 */
export function statusError(
  status: number,
  headers: ResponseHeaders,
  recordedBody: string,
  exchange: WireExchange,
  options: Pick<HttpExchangeOptions, 'where' | 'safeToRepeat'>,
): ConnectorError {
  const excerpt = recordedBody.replace(/\s+/g, ' ').trim().slice(0, 200);
  const message = `${options.where}: HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  const common = { status, exchange, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status === 401 || status === 403) return new ConnectorError('unauthorized', message, common);
  if (status === 408) return new ConnectorError('timeout', message, common);
  if (status === 429) return new ConnectorError('rate_limited', message, common);
  if (status === 503) return new ConnectorError('unavailable', message, common);
  if (status >= 500) {
    const retryable = options.safeToRepeat;
    return new ConnectorError('unavailable', `${message}${retryable ? '' : MAYBE_APPLIED}`, {
      ...common,
      retryable,
    });
  }
  if (status >= 300 && status < 400) {
    return new ConnectorError(
      'rejected',
      `${options.where}: HTTP ${status} redirect not followed (configure the final URL)`,
      common,
    );
  }
  return new ConnectorError('rejected', message, common);
}

/**
 * Milliseconds from a Retry-After header: delay seconds (`120`) or an
 * HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, counted from `now`; a past
 * date is 0). Undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
