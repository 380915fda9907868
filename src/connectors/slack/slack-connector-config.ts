import type { Fields } from '../../config/yaml-source.js';
import type { ConnectorConfigReader, ConnectorTypeDefinition } from '../connector-config-reader.js';
import { hasReference } from '../secrets.js';
import { SLACK_DEFAULTS, createSlackConnector } from './slack-connector.js';

/**
 * `type: slack` in connectors.yaml:
 *
 * ```yaml
 * secops_slack:
 *   type: slack
 *   webhook_url: ${secret:SLACK_WEBHOOK_URL}
 *   warden_url: https://warden.bank.example
 * ```
 *
 * See docs/connectors/slack.md.
 */
export const SLACK_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'slack',
  keys: ['webhook_url', 'warden_url', 'timeout', 'concurrency', 'rate_limit'],
  create({ name, config, reader }) {
    const webhookUrl =
      reader.secretString(config, 'webhook_url') ??
      config.fail('webhook_url', 'is required: write it as ${secret:SLACK_WEBHOOK_URL}');
    // Never quote the value in these messages: it is the credential.
    if (!hasReference(webhookUrl.recorded)) {
      config.fail(
        'webhook_url',
        'must be a ${secret:NAME} reference: the webhook URL is itself the credential',
      );
    }
    if (!isWebhookUrl(webhookUrl.value)) {
      config.fail(
        'webhook_url',
        'must resolve to an http(s) URL without credentials, query or fragment (check the secret value)',
      );
    }
    const rateLimit = reader.rateLimit(config, 'rate_limit') ?? SLACK_DEFAULTS.rateLimit;
    return createSlackConnector({
      name,
      webhookUrl,
      wardenUrl: readWardenUrl(config, reader) ?? SLACK_DEFAULTS.wardenUrl,
      timeoutMs: reader.duration(config, 'timeout') ?? SLACK_DEFAULTS.timeoutMs,
      concurrency: reader.positiveInteger(config, 'concurrency') ?? SLACK_DEFAULTS.concurrency,
      rateLimit,
      secretValues: reader.secretValues(),
    });
  },
};

function isWebhookUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    !url.username &&
    !url.password &&
    !url.search &&
    !url.hash
  );
}

/** Warden's public URL, for links; no trailing slash. */
function readWardenUrl(config: Fields, reader: ConnectorConfigReader): string | undefined {
  const text = reader.plainString(config, 'warden_url', false);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return config.fail(
      'warden_url',
      'must be an absolute http(s) URL such as https://warden.example',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    config.fail('warden_url', 'must be an http or https URL');
  }
  if (url.username || url.password || url.search || url.hash) {
    config.fail('warden_url', 'must not contain credentials, a query or a fragment');
  }
  return url.href.replace(/\/+$/, '');
}
