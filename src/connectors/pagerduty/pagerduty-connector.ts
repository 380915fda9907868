import {
  ConnectorError,
  NOTIFY_ACTION,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonSchema,
  type JsonValue,
  type RateLimit,
  type Reconciliation,
  type WireExchange,
} from '../connector.js';
import { notifyAction } from '../notify-action.js';
import type { SecretString } from '../connector-config-reader.js';
import { sendHttpRequest, statusError, type HttpResponse } from '../http/http-exchange.js';
import { parseJsonObject } from '../http/json-api.js';
import { SecretRedactor } from '../secrets.js';

/**
 * Pages through the PagerDuty Events API v2
 * (`POST https://events.pagerduty.com/v2/enqueue`): trigger, acknowledge and
 * resolve the incident of a case, and `notify`. The routing key travels in
 * the body and is recorded as its `${secret:…}` template.
 *
 * PagerDuty deduplicates events by `dedup_key`: a case's events all carry
 * `warden-case-<case_id>` (one case, one incident) and a `notify` carries
 * the call's idempotency key. Sending one again is therefore safe: failed
 * sends are retried, and `reconcile` re-sends. See docs/connectors/pagerduty.md.
 */

export const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type PagerDutySeverity = (typeof PAGERDUTY_SEVERITIES)[number];

export interface PagerDutyConnectorOptions {
  readonly name: string;
  /** `https://events.pagerduty.com`, or a fake; `/v2/enqueue` is appended to its path. */
  readonly baseUrl: string;
  /** The integration's routing key as sent and as recorded (`${secret:PD_ROUTING_KEY}`). */
  readonly routingKey: SecretString;
  /** `payload.source`: what PagerDuty shows as the affected system. */
  readonly source: string;
  /** Warden's public URL, for `client_url`. */
  readonly wardenUrl: string;
  /** The severity of `notify` events. */
  readonly notifySeverity: PagerDutySeverity;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  /** Every secret value of the instance's config, redacted wherever text is recorded. */
  readonly secretValues: readonly string[];
}

export const PAGERDUTY_DEFAULTS = Object.freeze({
  baseUrl: 'https://events.pagerduty.com',
  source: 'warden',
  wardenUrl: 'http://localhost:8080',
  notifySeverity: 'warning' satisfies PagerDutySeverity,
  timeoutMs: 10_000,
  concurrency: 4,
  /** The Events API's documented limit per routing key. */
  rateLimit: { requests: 120, intervalMs: 60_000 } satisfies RateLimit,
});

/** PagerDuty cuts longer summaries; Warden cuts them first, visibly. */
const SUMMARY_MAX = 1024;
const DEDUP_KEY_MAX = 255;
const ENQUEUE_PATH = '/v2/enqueue';

/** The dedup key of a case's incident. */
export function caseDedupKey(caseId: string): string {
  return `warden-case-${caseId}`;
}

const OUTPUT_SCHEMA = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    dedup_key: { type: 'string' },
    message: { type: 'string' },
  },
  required: ['status', 'dedup_key', 'message'],
  additionalProperties: false,
};

const CASE_ID = { type: 'string', minLength: 1, maxLength: DEDUP_KEY_MAX - 'warden-case-'.length };

export const PAGERDUTY_ACTIONS: Readonly<Record<string, ConnectorActionSpec>> = {
  trigger: {
    name: 'trigger',
    description:
      "Opens (or, while it is open, updates) the case's incident: dedup_key warden-case-<case_id>.",
    effect: 'write',
    inputSchema: {
      type: 'object',
      properties: {
        case_id: CASE_ID,
        summary: { type: 'string', minLength: 1 },
        severity: { enum: [...PAGERDUTY_SEVERITIES] },
        component: { type: 'string', minLength: 1 },
        group: { type: 'string', minLength: 1 },
        class: { type: 'string', minLength: 1 },
        custom_details: { type: 'object' },
        links: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              href: { type: 'string', pattern: '^https?://' },
              text: { type: 'string' },
            },
            required: ['href'],
            additionalProperties: false,
          },
        },
      },
      required: ['case_id', 'summary', 'severity'],
      additionalProperties: false,
    },
    outputSchema: OUTPUT_SCHEMA,
  },
  acknowledge: {
    name: 'acknowledge',
    description: "Acknowledges the case's incident (stops escalation while someone works on it).",
    effect: 'write',
    inputSchema: caseOnlySchema(),
    outputSchema: OUTPUT_SCHEMA,
  },
  resolve: {
    name: 'resolve',
    description: "Resolves the case's incident.",
    effect: 'write',
    inputSchema: caseOnlySchema(),
    outputSchema: OUTPUT_SCHEMA,
  },
  ...notifyAction(
    'What notify steps call: triggers an incident with the message as summary, deduplicated by the call (a retry does not page twice).',
    OUTPUT_SCHEMA,
  ),
};

function caseOnlySchema(): JsonSchema {
  return {
    type: 'object',
    properties: { case_id: CASE_ID },
    required: ['case_id'],
    additionalProperties: false,
  };
}

export function createPagerDutyConnector(options: PagerDutyConnectorOptions): Connector {
  return new PagerDutyConnector(options);
}

type JsonObject = { [key: string]: JsonValue };

interface TriggerInput {
  case_id: string;
  summary: string;
  severity: PagerDutySeverity;
  component?: string;
  group?: string;
  class?: string;
  custom_details?: JsonObject;
  links?: { href: string; text?: string }[];
}

class PagerDutyConnector implements Connector {
  readonly type = 'pagerduty';
  readonly name: string;
  readonly actions = PAGERDUTY_ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly url: URL;
  private readonly wardenUrl: string;
  private readonly redactor: SecretRedactor;

  constructor(private readonly options: PagerDutyConnectorOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency;
    if (options.rateLimit) this.rateLimit = options.rateLimit;
    this.url = new URL(options.baseUrl.replace(/\/+$/, '') + ENQUEUE_PATH);
    this.wardenUrl = options.wardenUrl.replace(/\/+$/, '');
    this.redactor = new SecretRedactor([...options.secretValues, options.routingKey.value]);
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const { event, dedupKey } = this.event(call);
    const response = await sendHttpRequest(
      {
        method: 'POST',
        url: this.url,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ routing_key: this.options.routingKey.value, ...event }),
        // Recorded with the routing key as written in connectors.yaml, not as `[redacted]`.
        recordedBody: JSON.stringify({ ...event, routing_key: this.options.routingKey.recorded }),
      },
      {
        where,
        timeoutMs: this.options.timeoutMs,
        signal: call.signal,
        redactor: this.redactor,
        // PagerDuty applies a dedup_key once while its incident is open.
        safeToRepeat: true,
        accept: () => true,
      },
    );
    const exchange = response.exchange;
    if (response.status < 200 || response.status >= 300) {
      throw pagerDutyError(where, response, exchange);
    }
    // Redacted before it becomes output: a service echoing the event must not leak the key.
    const body = parseJsonObject(this.redactor.redact(response.text));
    return {
      output: {
        status: typeof body?.status === 'string' ? body.status : 'success',
        dedup_key: typeof body?.dedup_key === 'string' ? body.dedup_key : dedupKey,
        message: typeof body?.message === 'string' ? body.message : '',
      },
      exchange,
    };
  }

  /**
   * The event carries its dedup_key, so sending it again is how to learn its
   * result: PagerDuty applies it at most once while the incident is open.
   */
  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    try {
      return { state: 'done', result: await this.invoke(call) };
    } catch (error) {
      if (error instanceof ConnectorError) return { state: 'unknown', error };
      throw error;
    }
  }

  /** The event without its routing key, and its dedup_key. */
  private event(call: ConnectorCall): { event: JsonObject; dedupKey: string } {
    const event = (action: string, dedupKey: string, rest: JsonObject = {}) => ({
      event: { event_action: action, dedup_key: dedupKey, ...rest },
      dedupKey,
    });
    switch (call.action) {
      case 'trigger': {
        const trigger = call.input as unknown as TriggerInput;
        return event('trigger', caseDedupKey(trigger.case_id), {
          payload: {
            summary: clip(trigger.summary, SUMMARY_MAX),
            source: this.options.source,
            severity: trigger.severity,
            ...(trigger.component === undefined ? {} : { component: trigger.component }),
            ...(trigger.group === undefined ? {} : { group: trigger.group }),
            ...(trigger.class === undefined ? {} : { class: trigger.class }),
            ...(trigger.custom_details === undefined
              ? {}
              : { custom_details: trigger.custom_details }),
          },
          client: 'Warden',
          client_url: `${this.wardenUrl}/cases/${encodeURIComponent(trigger.case_id)}`,
          ...(trigger.links === undefined ? {} : { links: trigger.links }),
        });
      }
      case 'acknowledge':
      case 'resolve': {
        const { case_id: caseId } = call.input as unknown as { case_id: string };
        return event(call.action, caseDedupKey(caseId));
      }
      case NOTIFY_ACTION: {
        const input = call.input as unknown as { message: string; to?: string };
        const to = input.to !== undefined && input.to.trim() !== '' ? input.to : undefined;
        return event('trigger', clip(call.idempotencyKey, DEDUP_KEY_MAX), {
          payload: {
            summary: clip(input.message, SUMMARY_MAX),
            source: this.options.source,
            severity: this.options.notifySeverity,
            ...(to === undefined ? {} : { custom_details: { to } }),
          },
          client: 'Warden',
          client_url: this.wardenUrl,
        });
      }
      default:
        throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
  }
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * 400 `{status: "invalid event", message, errors: […]}` is `rejected`, with
 * PagerDuty's reasons in the message — `misconfigured` when they are about
 * the routing key; 429 (throttled) is `rate_limited`; 5xx `unavailable`,
 * retryable since the event is deduplicated.
 */
function pagerDutyError(
  where: string,
  response: HttpResponse,
  exchange: WireExchange,
): ConnectorError {
  const recordedBody = exchange.responseBody ?? '';
  const generic = statusError(response.status, response.headers, recordedBody, exchange, {
    where,
    safeToRepeat: true,
  });
  const body = parseJsonObject(recordedBody);
  if (response.status !== 400 || body === undefined || typeof body.message !== 'string') {
    return generic;
  }
  const reasons = Array.isArray(body.errors)
    ? body.errors.filter((reason): reason is string => typeof reason === 'string')
    : [];
  const detail = [body.message, ...reasons].join('; ').slice(0, 500);
  const aboutRoutingKey = /routing.?key/i.test(detail);
  return new ConnectorError(
    aboutRoutingKey ? 'misconfigured' : 'rejected',
    `${where}: PagerDuty rejected the event (HTTP 400): ${detail}`,
    { status: response.status, exchange },
  );
}
