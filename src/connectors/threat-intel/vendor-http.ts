import { ConnectorError, type WireExchange } from '../connector.js';
import { sendHttpRequest, statusError, type ResponseHeaders } from '../http/http-exchange.js';
import { parseJson } from '../http/json-api.js';
import type { SecretRedactor } from '../secrets.js';

/**
 * One read request to a threat-intelligence API: sent with
 * `sendHttpRequest` (timeouts, no redirects, redacted exchange), the body
 * parsed as JSON, and a failure mapped first by HTTP status (`statusError`)
 * and then refined by the vendor's own error body.
 */

export interface VendorRead {
  /** `connector.action`, the start of every message. */
  readonly where: string;
  readonly url: URL;
  /** As sent, secrets included. */
  readonly headers: Readonly<Record<string, string>>;
  /** How secret-bearing headers are recorded (`x-apikey: ${secret:VT_API_KEY}`). */
  readonly recordedHeaders: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly redactor: SecretRedactor;
  /** A non-2xx answer that is a result rather than an error (VirusTotal's NotFoundError). */
  readonly isResult?: (status: number, body: unknown) => boolean;
  /** The error for a failed answer, given the status-based one. @default the status-based one */
  readonly refineError?: (failure: VendorFailure) => ConnectorError;
  /** Largest response read, in bytes. @default sendHttpRequest's */
  readonly maxResponseBytes?: number;
}

export interface VendorFailure {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** The response parsed as JSON; undefined when it is not JSON. */
  readonly body: unknown;
  readonly exchange: WireExchange;
  /** What the status alone maps to (401 → unauthorized, 429 → rate_limited, …). */
  readonly byStatus: ConnectorError;
}

export interface VendorAnswer {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: unknown;
  readonly exchange: WireExchange;
}

export async function readVendorJson(request: VendorRead): Promise<VendorAnswer> {
  const response = await sendHttpRequest(
    {
      method: 'GET',
      url: request.url,
      headers: request.headers,
      recordedHeaders: request.recordedHeaders,
    },
    {
      where: request.where,
      timeoutMs: request.timeoutMs,
      signal: request.signal,
      redactor: request.redactor,
      safeToRepeat: true,
      // Every status comes back here, so the vendor's error body can refine the mapping.
      accept: () => true,
      ...(request.maxResponseBytes === undefined
        ? {}
        : { maxResponseBytes: request.maxResponseBytes }),
    },
  );
  const { status, headers, exchange } = response;
  const body = parseJson(response.text);
  const success = status >= 200 && status < 300;
  if (success || request.isResult?.(status, body) === true) {
    if (body === undefined) {
      throw new ConnectorError('invalid_output', `${request.where}: the response is not JSON`, {
        status,
        exchange,
      });
    }
    return { status, headers, body, exchange };
  }
  const byStatus = statusError(status, headers, exchange.responseBody ?? '', exchange, {
    where: request.where,
    safeToRepeat: true,
  });
  const failure: VendorFailure = { status, headers, body, exchange, byStatus };
  throw request.refineError?.(failure) ?? byStatus;
}

/** `value` when it is a plain object. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function integerOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}

export function booleanOrNull(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

/** A count that must be a non-negative integer; anything else counts as 0. */
export function count(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/** An ISO-8601 time from Unix seconds (VirusTotal's dates). */
export function isoFromUnixSeconds(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return null;
  const date = new Date(value * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** An ISO-8601 time (UTC, `Z`) from any date text Date.parse reads; the text as is otherwise. */
export function isoFromText(value: unknown): string | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

/** The start of a vendor's error message, scrubbed of secrets and squeezed to one line. */
export function vendorMessage(text: string, redactor: SecretRedactor): string {
  return redactor.redact(text).replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** A new error with another code and message, keeping status, exchange and Retry-After. */
export function recode(
  byStatus: ConnectorError,
  code: ConnectorError['code'],
  message: string,
  options: { retryable?: boolean; retryAfterMs?: number } = {},
): ConnectorError {
  const retryAfterMs = options.retryAfterMs ?? byStatus.retryAfterMs;
  return new ConnectorError(code, message, {
    ...(options.retryable === undefined ? {} : { retryable: options.retryable }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(byStatus.status === undefined ? {} : { status: byStatus.status }),
    ...(byStatus.exchange === undefined ? {} : { exchange: byStatus.exchange }),
  });
}
