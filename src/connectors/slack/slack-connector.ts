import {
  ConnectorError,
  NOTIFY_ACTION,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorErrorCode,
  type ConnectorResult,
  type RateLimit,
  type Reconciliation,
  type WireExchange,
} from '../connector.js';
import { notifyAction } from '../notify-action.js';
import type { SecretString } from '../connector-config-reader.js';
import { sendHttpRequest, statusError, type ResponseHeaders } from '../http/http-exchange.js';
import { SecretRedactor } from '../secrets.js';
import {
  slackCaseMessage,
  slackNotifyMessage,
  type SlackCaseInput,
  type SlackMessage,
  type SlackNotifyInput,
} from './slack-blocks.js';

/**
 * Posts to a Slack channel through an incoming webhook
 * (https://api.slack.com/messaging/webhooks), with Block Kit. The webhook
 * URL is the credential: it is sent only as the request URL and recorded as
 * its `${secret:…}` template. Slack does not deduplicate webhook posts, so a
 * post that may have arrived is never repeated and `reconcile` answers
 * `unknown`. See docs/connectors/slack.md.
 */

export interface SlackConnectorOptions {
  readonly name: string;
  /** The webhook URL as sent and as recorded (`${secret:SLACK_WEBHOOK_URL}`). */
  readonly webhookUrl: SecretString;
  /** Warden's public URL, for the buttons of `post_case`. */
  readonly wardenUrl: string;
  /** Per request. */
  readonly timeoutMs: number;
  /** @default 1 (messages to one channel arrive in order) */
  readonly concurrency?: number;
  readonly rateLimit?: RateLimit;
  /** Every secret value of the instance's config, redacted wherever text is recorded. */
  readonly secretValues: readonly string[];
}

export const SLACK_DEFAULTS = Object.freeze({
  wardenUrl: 'http://localhost:8080',
  timeoutMs: 10_000,
  concurrency: 1,
  /** Slack allows about one message per second per webhook. */
  rateLimit: { requests: 1, intervalMs: 1000 } satisfies RateLimit,
});

export const SLACK_POST_CASE_ACTION = 'post_case';

const OUTPUT_SCHEMA = {
  type: 'object',
  properties: { ok: { const: true } },
  required: ['ok'],
  additionalProperties: false,
};

const NULLABLE_TEXT = { type: ['string', 'null'] };

export const SLACK_ACTIONS: Readonly<Record<string, ConnectorActionSpec>> = {
  ...notifyAction(
    'What notify steps call: posts the message to the webhook channel; `to` is shown as "For …" (a Slack member or group id becomes a mention).',
    OUTPUT_SCHEMA,
  ),
  [SLACK_POST_CASE_ACTION]: {
    name: SLACK_POST_CASE_ACTION,
    description:
      'Posts a case as a Block Kit message: severity, tier, unit, model, phase, ATLAS techniques, and buttons to open the case and to approve or deny a pending approval.',
    effect: 'write',
    inputSchema: {
      type: 'object',
      properties: {
        case_number: { type: 'integer', minimum: 1 },
        case_id: { type: 'string', minLength: 1 },
        title: { type: 'string', minLength: 1 },
        severity: { type: 'string', minLength: 1 },
        tier: { type: ['integer', 'null'], minimum: 1 },
        business_unit: NULLABLE_TEXT,
        model: NULLABLE_TEXT,
        status: NULLABLE_TEXT,
        phase: NULLABLE_TEXT,
        summary: NULLABLE_TEXT,
        techniques: { type: 'array', items: { type: 'string', minLength: 1 } },
        approval: {
          type: 'object',
          properties: {
            id: { type: 'string', minLength: 1 },
            message: { type: 'string', minLength: 1 },
          },
          required: ['id', 'message'],
          additionalProperties: false,
        },
      },
      required: ['case_number', 'title', 'severity'],
      additionalProperties: false,
    },
    outputSchema: OUTPUT_SCHEMA,
  },
};

export function createSlackConnector(options: SlackConnectorOptions): Connector {
  return new SlackConnector(options);
}

class SlackConnector implements Connector {
  readonly type = 'slack';
  readonly name: string;
  readonly actions = SLACK_ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly url: URL;
  private readonly redactor: SecretRedactor;

  constructor(private readonly options: SlackConnectorOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? SLACK_DEFAULTS.concurrency;
    if (options.rateLimit) this.rateLimit = options.rateLimit;
    this.url = new URL(options.webhookUrl.value);
    this.redactor = new SecretRedactor([
      ...options.secretValues,
      ...webhookSecretParts(options.webhookUrl.value, this.url),
    ]);
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const message = this.message(call);
    const response = await sendHttpRequest(
      {
        method: 'POST',
        url: this.url,
        // The webhook URL is the credential: recorded as its `${secret:…}` template.
        recordedUrl: this.options.webhookUrl.recorded,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(message),
      },
      {
        where,
        timeoutMs: this.options.timeoutMs,
        signal: call.signal,
        redactor: this.redactor,
        // Slack posts every request it receives: never repeat one that may have arrived.
        safeToRepeat: false,
        accept: () => true,
      },
    );
    const exchange = response.exchange;
    if (response.status < 200 || response.status >= 300) {
      throw slackError(where, response.status, response.headers, exchange);
    }
    if (!isOk(response.text)) {
      throw new ConnectorError(
        'invalid_output',
        `${where}: Slack answered HTTP ${response.status} without "ok"; the message may or may not have been posted`,
        { status: response.status, exchange },
      );
    }
    return { output: { ok: true }, exchange };
  }

  /** Slack cannot say whether a webhook post arrived, and repeating it would post twice. */
  reconcile(_call: ConnectorCall): Promise<Reconciliation> {
    return Promise.resolve({ state: 'unknown' });
  }

  private message(call: ConnectorCall): SlackMessage {
    if (call.action === NOTIFY_ACTION) {
      return slackNotifyMessage(call.input as unknown as SlackNotifyInput);
    }
    if (call.action === SLACK_POST_CASE_ACTION) {
      return slackCaseMessage(call.input as unknown as SlackCaseInput, this.options.wardenUrl);
    }
    throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
  }
}

/** `ok` as text (incoming webhooks) or `{"ok":true}` (workflow webhooks). */
function isOk(text: string): boolean {
  const body = text.trim();
  if (body === 'ok') return true;
  try {
    const parsed = JSON.parse(body) as unknown;
    return (
      typeof parsed === 'object' && parsed !== null && (parsed as { ok?: unknown }).ok === true
    );
  } catch {
    return false;
  }
}

/**
 * The webhook URL as written and as `URL` normalises it, its path and its
 * token segment: a service (or a proxy) echoing any of them back must not
 * put the credential in a record.
 */
function webhookSecretParts(value: string, url: URL): string[] {
  const parts = [value, url.href, url.pathname];
  const token = url.pathname.split('/').pop() ?? '';
  if (token.length >= 8) parts.push(token);
  return parts.filter((part) => part.length >= 8 && part !== '/');
}

/** What Slack's error strings mean, for the message a person reads on the case. */
const SLACK_REASONS: Readonly<Record<string, string>> = {
  invalid_payload: 'Slack could not read the message',
  invalid_blocks: 'Slack rejected the Block Kit blocks',
  invalid_blocks_format: 'Slack rejected the Block Kit blocks',
  no_text: 'the message has no text',
  missing_text_or_fallback_or_attachments: 'the message has no text',
  user_not_found: 'the user named in the message does not exist',
  invalid_token: 'the webhook URL is no longer valid: create a new webhook and update the secret',
  action_prohibited: 'a workspace admin restriction stops this webhook from posting',
  no_service: 'the webhook was removed or disabled: create a new webhook and update the secret',
  no_team: 'the workspace of this webhook no longer exists',
  team_disabled: 'the workspace of this webhook is disabled',
  channel_not_found: "the webhook's channel no longer exists",
  channel_is_archived: "the webhook's channel is archived: unarchive it or create a new webhook",
  rate_limited: 'too many messages to this webhook',
  rollup_error: 'Slack failed unexpectedly on its side',
};

/**
 * Slack answers errors as a short text. 404 (`no_service`,
 * `channel_not_found`) and 410 (`channel_is_archived`) mean the webhook
 * itself no longer works: `misconfigured`. The rest follow the shared HTTP
 * mapping: 400 `rejected`, 403 `unauthorized`, 429 `rate_limited` with
 * Retry-After, 503 `unavailable`, other 5xx `unavailable` and not retried
 * (the post may have happened).
 */
function slackError(
  where: string,
  status: number,
  headers: ResponseHeaders,
  exchange: WireExchange,
): ConnectorError {
  const text = (exchange.responseBody ?? '').trim();
  const reasonCode = /^[a-z_]{3,64}$/.test(text) ? text : undefined;
  const explanation = reasonCode === undefined ? undefined : SLACK_REASONS[reasonCode];
  const generic = statusError(status, headers, text, exchange, { where, safeToRepeat: false });
  const code: ConnectorErrorCode =
    status === 404 || status === 410 ? 'misconfigured' : generic.code;
  const message =
    explanation === undefined
      ? generic.message
      : `${where}: Slack answered HTTP ${status} ${reasonCode}: ${explanation}${generic.retryable || code !== 'unavailable' ? '' : ' (the message may have been posted, so it is not repeated)'}`;
  return new ConnectorError(code, message, {
    status,
    exchange,
    retryable: code === 'misconfigured' ? false : generic.retryable,
    ...(generic.retryAfterMs === undefined ? {} : { retryAfterMs: generic.retryAfterMs }),
  });
}
