import type { Fields } from '../../config/yaml-source.js';
import type { ConnectorConfigReader, ConnectorTypeDefinition } from '../connector-config-reader.js';
import { hasReference } from '../secrets.js';
import {
  PAGERDUTY_DEFAULTS,
  PAGERDUTY_SEVERITIES,
  createPagerDutyConnector,
  type PagerDutySeverity,
} from './pagerduty-connector.js';

/**
 * `type: pagerduty` in connectors.yaml:
 *
 * ```yaml
 * pager:
 *   type: pagerduty
 *   routing_key: ${secret:PD_ROUTING_KEY}
 *   warden_url: https://warden.bank.example
 * ```
 *
 * See docs/connectors/pagerduty.md.
 */
export const PAGERDUTY_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'pagerduty',
  keys: [
    'routing_key',
    'base_url',
    'source',
    'warden_url',
    'notify_severity',
    'timeout',
    'concurrency',
    'rate_limit',
  ],
  create({ name, config, reader }) {
    const routingKey =
      reader.secretString(config, 'routing_key') ??
      config.fail('routing_key', 'is required: write it as ${secret:PD_ROUTING_KEY}');
    // Never quote the value in these messages: it is the credential.
    if (!hasReference(routingKey.recorded)) {
      config.fail(
        'routing_key',
        'must be a ${secret:NAME} reference: the routing key is a credential',
      );
    }
    if (/[\s"\\]/.test(routingKey.value)) {
      config.fail('routing_key', 'contains white space or quotes (check the secret value)');
    }
    const notifySeverity = config.optionalString('notify_severity');
    if (
      notifySeverity !== undefined &&
      !(PAGERDUTY_SEVERITIES as readonly string[]).includes(notifySeverity)
    ) {
      config.fail('notify_severity', `must be one of ${PAGERDUTY_SEVERITIES.join(', ')}`);
    }
    return createPagerDutyConnector({
      name,
      baseUrl: readUrl(config, reader, 'base_url') ?? PAGERDUTY_DEFAULTS.baseUrl,
      routingKey,
      source: config.optionalString('source') ?? PAGERDUTY_DEFAULTS.source,
      wardenUrl: readUrl(config, reader, 'warden_url') ?? PAGERDUTY_DEFAULTS.wardenUrl,
      notifySeverity:
        (notifySeverity as PagerDutySeverity | undefined) ?? PAGERDUTY_DEFAULTS.notifySeverity,
      timeoutMs: reader.duration(config, 'timeout') ?? PAGERDUTY_DEFAULTS.timeoutMs,
      concurrency: reader.positiveInteger(config, 'concurrency') ?? PAGERDUTY_DEFAULTS.concurrency,
      rateLimit: reader.rateLimit(config, 'rate_limit') ?? PAGERDUTY_DEFAULTS.rateLimit,
      secretValues: reader.secretValues(),
    });
  },
};

/** An http(s) URL that may carry a path prefix; no trailing slash. */
function readUrl(config: Fields, reader: ConnectorConfigReader, key: string): string | undefined {
  const text = reader.plainString(config, key, false);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return config.fail(key, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    config.fail(key, 'must be an http or https URL');
  }
  if (url.username || url.password || url.search || url.hash) {
    config.fail(key, 'must not contain credentials, a query or a fragment');
  }
  return url.href.replace(/\/+$/, '');
}
