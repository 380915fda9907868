import { LIMIT_KEYS, type ConnectorTypeDefinition } from '../connector-config-reader.js';
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
  keys: ['webhook_url', 'warden_url', ...LIMIT_KEYS],
  create({ name, config, reader }) {
    const webhookUrl =
      reader.credential(config, 'webhook_url', ': the webhook URL is itself the credential') ??
      config.fail('webhook_url', 'is required: write it as ${secret:SLACK_WEBHOOK_URL}');
    // Never quote the value in these messages: it is the credential.
    if (!isWebhookUrl(webhookUrl.value)) {
      config.fail(
        'webhook_url',
        'must resolve to an http(s) URL without credentials, query or fragment (check the secret value)',
      );
    }
    return createSlackConnector({
      name,
      webhookUrl,
      wardenUrl: reader.httpUrl(config, 'warden_url') ?? SLACK_DEFAULTS.wardenUrl,
      ...reader.limits(config, SLACK_DEFAULTS),
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
