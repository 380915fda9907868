import { LIMIT_KEYS, type ConnectorTypeDefinition } from '../connector-config-reader.js';
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
  keys: ['routing_key', 'base_url', 'source', 'warden_url', 'notify_severity', ...LIMIT_KEYS],
  create({ name, config, reader }) {
    const routingKey =
      reader.credential(config, 'routing_key', ': the routing key is a credential') ??
      config.fail('routing_key', 'is required: write it as ${secret:PD_ROUTING_KEY}');
    // Never quote the value in these messages: it is the credential.
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
      baseUrl: reader.httpUrl(config, 'base_url') ?? PAGERDUTY_DEFAULTS.baseUrl,
      routingKey,
      source: config.optionalString('source') ?? PAGERDUTY_DEFAULTS.source,
      wardenUrl: reader.httpUrl(config, 'warden_url') ?? PAGERDUTY_DEFAULTS.wardenUrl,
      notifySeverity:
        (notifySeverity as PagerDutySeverity | undefined) ?? PAGERDUTY_DEFAULTS.notifySeverity,
      ...reader.limits(config, PAGERDUTY_DEFAULTS),
      secretValues: reader.secretValues(),
    });
  },
};
