import { WardenError } from '../core/errors.js';
import type { JsonValue } from '../playbooks/playbook.js';

/**
 * The one interface every connector implements: the built-in `http`, `log`
 * and `inventory` types and every vendor integration (Slack, PagerDuty, AWS,
 * MLflow, …). The playbook runner calls connectors only through it and never
 * sees a vendor type. See docs/connectors.md.
 */

export type { JsonValue };

/** A JSON Schema (2020-12) object, as ajv accepts it. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/**
 * `read` actions have no side effects (used by `enrich` steps; repeating one
 * is always safe); `write` actions change something outside Warden (`act`,
 * `notify`).
 */
export type ActionEffect = 'read' | 'write';

export interface ConnectorActionSpec {
  /** The name playbooks use in `action:`, e.g. `lookup_ip`. */
  readonly name: string;
  readonly description: string;
  /** Checked before the action runs: a call that fails it never leaves Warden. */
  readonly inputSchema: JsonSchema;
  /** Checked after the action returns: a mismatch is `invalid_output`. */
  readonly outputSchema: JsonSchema;
  readonly effect: ActionEffect;
}

/**
 * `notify`: the action `notify` steps call, with input `{ message: string,
 * to?: string }` (notify steps name a connector but no action).
 * `post_case`: the action approval requests are announced through when a
 * connector has it.
 */
export { NOTIFY_ACTION, POST_CASE_ACTION } from '../playbooks/run-machine.js';

export interface ConnectorCall {
  readonly action: string;
  readonly input: JsonValue;
  /**
   * Stable for one logical call across retries and restarts (the runner
   * derives it from run, step and item), so a receiver that deduplicates by
   * key applies the call at most once.
   */
  readonly idempotencyKey: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /** Aborted at the step's deadline; the connector must stop waiting then. */
  readonly signal: AbortSignal;
}

/** What went over the wire for one call, with secrets redacted; shown on the case. */
export interface WireExchange {
  /** ISO-8601 time the request started. */
  readonly startedAt: string;
  readonly method: string;
  readonly url: string;
  /** Secret-bearing values appear as their template (`Bearer ${secret:TI_TOKEN}`). */
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly requestBody?: string;
  /** Absent when no response arrived (timeout, connection refused). */
  readonly status?: number;
  /** A subset useful for diagnosis: content type, retry and rate-limit headers, request ids. */
  readonly responseHeaders?: Readonly<Record<string, string>>;
  /** The response text, cut at the connector's limit. */
  readonly responseBody?: string;
  readonly responseBodyTruncated?: boolean;
  readonly durationMs: number;
}

export interface ConnectorResult {
  /** Valid against the action's `outputSchema`; becomes `steps.<id>.output`. */
  readonly output: JsonValue;
  /** Present when the action talked to a remote service. */
  readonly exchange?: WireExchange;
  /**
   * The action as an OpenC2 command, when it has one (an IP-range deny is
   * `deny ipv4_net`, a disabled account is `set er:account`): shown on the
   * case beside the vendor request, whichever API carried it out.
   */
  readonly openc2?: JsonValue;
}

/**
 * Whether a call that may have been sent before a crash took effect:
 * `done` (with its result), `not_done` (safe to invoke again), or `unknown`
 * (the runner must not repeat a write blindly; `error` says why when a
 * check was attempted and failed).
 */
export type Reconciliation =
  | { readonly state: 'done'; readonly result: ConnectorResult }
  | { readonly state: 'not_done' }
  | { readonly state: 'unknown'; readonly error?: ConnectorError };

export interface Connector {
  /** The instance name playbooks use in `connector:` (e.g. `threat_intel`). */
  readonly name: string;
  /** The connector type (`http`, `log`, `inventory`, `slack`, …). */
  readonly type: string;
  readonly actions: Readonly<Record<string, ConnectorActionSpec>>;
  /** Most calls in flight at once; further calls wait for a slot. */
  readonly concurrency: number;
  /** Client-side request rate limit; absent means unlimited. */
  readonly rateLimit?: RateLimit;
  /**
   * Performs one call. Rejects with a `ConnectorError` only. Implementations
   * may assume `call.action` exists and `call.input` is valid: the registry
   * hands out connectors wrapped by `guardConnector`, which checks both.
   */
  invoke(call: ConnectorCall): Promise<ConnectorResult>;
  /**
   * After a crash between "call sent" and "result recorded": did the call
   * with this idempotency key take effect? Only asked for write actions.
   * Without it, the answer is `unknown`.
   */
  reconcile?(call: ConnectorCall): Promise<Reconciliation>;
}

/** `requests` per `intervalMs`, refilled continuously; bursts up to `requests`. */
export interface RateLimit {
  readonly requests: number;
  readonly intervalMs: number;
}

// ---------------------------------------------------------------------------
// Errors

/**
 * The stable error vocabulary; `retryable` is the default for each code.
 * `retry.on` in playbooks lists these.
 */
export const CONNECTOR_ERROR_CODES = {
  /** No answer before the connector's timeout or the step's deadline. */
  timeout: { retryable: true },
  /** 5xx, connection refused or reset: the service is down for now. */
  unavailable: { retryable: true },
  /** 429 (or the vendor's equivalent); `retryAfterMs` when the service said. */
  rate_limited: { retryable: true },
  /** 401/403: the credential is wrong, expired or lacks the permission. */
  unauthorized: { retryable: false },
  /** Any other 4xx: the service refused this request as made. */
  rejected: { retryable: false },
  /** The input fails the action's `inputSchema`; nothing was sent. */
  invalid_input: { retryable: false },
  /** The response does not fit the action's `outputSchema` or mapping. */
  invalid_output: { retryable: false },
  /** No connector instance of that name. */
  unknown_connector: { retryable: false },
  /** The connector has no action of that name. */
  unknown_action: { retryable: false },
  /** The connector's configuration cannot work (e.g. a bad URL). */
  misconfigured: { retryable: false },
  /** Anything else: a bug, reported as such. */
  internal: { retryable: false },
} as const satisfies Record<string, { retryable: boolean }>;

export type ConnectorErrorCode = keyof typeof CONNECTOR_ERROR_CODES;

export function isConnectorErrorCode(code: string): code is ConnectorErrorCode {
  return Object.hasOwn(CONNECTOR_ERROR_CODES, code);
}

export interface ConnectorErrorOptions {
  /** @default the code's default from CONNECTOR_ERROR_CODES */
  retryable?: boolean;
  /** How long the service asked us to wait before trying again. */
  retryAfterMs?: number;
  /** The remote HTTP status, when there was one. */
  status?: number;
  /** What went over the wire, redacted. */
  exchange?: WireExchange;
  cause?: unknown;
}

/**
 * The only error a connector call rejects with. The message never contains
 * a secret value.
 */
export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  readonly exchange: WireExchange | undefined;

  constructor(code: ConnectorErrorCode, message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.code = code;
    this.retryable = options.retryable ?? CONNECTOR_ERROR_CODES[code].retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.exchange = options.exchange;
  }

  /** The same error with a different retryable flag or exchange. */
  with(options: Pick<ConnectorErrorOptions, 'retryable' | 'exchange'>): ConnectorError {
    return new ConnectorError(this.code, this.message, {
      retryable: options.retryable ?? this.retryable,
      exchange: options.exchange ?? this.exchange,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.status === undefined ? {} : { status: this.status }),
      cause: this.cause,
    });
  }
}

/**
 * Any thrown value as a `ConnectorError`: connector errors pass through, an
 * abort or timeout becomes `timeout`, `invalid_config` becomes
 * `misconfigured`, anything else `internal` (not retryable). `redact`
 * scrubs the message of values that must not leak (secrets).
 */
export function toConnectorError(
  error: unknown,
  context = '',
  redact: (text: string) => string = (text) => text,
): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const prefix = context ? `${context}: ` : '';
  const reason = redact(error instanceof Error ? error.message : String(error));
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ConnectorError('timeout', `${prefix}cancelled at the deadline (${reason})`);
  }
  if (error instanceof WardenError) {
    const code = error.code === 'invalid_config' ? 'misconfigured' : 'internal';
    return new ConnectorError(code, `${prefix}${reason}`, { retryable: error.retryable });
  }
  // The cause is kept only when nothing needed redacting, so no secret hides in it.
  const original = error instanceof Error ? error.message : String(error);
  return new ConnectorError('internal', `${prefix}${reason}`, {
    ...(reason === original ? { cause: error } : {}),
  });
}
