import { isScalar } from 'yaml';
import type { Fields } from '../../config/yaml-source.js';
import { LIMIT_KEYS, type ConnectorTypeDefinition } from '../connector-config-reader.js';
import { EMAIL_DEFAULTS, createEmailConnector, parseAddresses } from './email-connector.js';

/**
 * `type: email` in connectors.yaml:
 *
 * ```yaml
 * mail:
 *   type: email
 *   host: smtp.bank.example
 *   username: warden@bank.example
 *   password: ${secret:SMTP_PASSWORD}
 *   from: Warden <warden@bank.example>
 *   default_to: [secops@bank.example]
 * ```
 *
 * Encryption is required unless `allow_insecure: true` says otherwise:
 * `secure` (TLS from the first byte, the default on port 465) or STARTTLS
 * (required by default on any other port). See docs/connectors/email.md.
 */
export const EMAIL_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'email',
  keys: [
    'host',
    'port',
    'secure',
    'starttls',
    'allow_insecure',
    'username',
    'password',
    'from',
    'default_to',
    ...LIMIT_KEYS,
  ],
  create({ name, config, reader }) {
    const host = reader.plainString(config, 'host', true) ?? '';
    if (!/^[A-Za-z0-9.-]+$|^\[?[0-9A-Fa-f:.]+\]?$/.test(host)) {
      config.fail('host', 'must be a host name or IP address, without a scheme or port');
    }
    const port = reader.positiveInteger(config, 'port') ?? EMAIL_DEFAULTS.port;
    if (port > 65_535) config.fail('port', 'must be at most 65535');
    const secure = readBoolean(config, 'secure') ?? port === 465;
    const starttlsSetting = readBoolean(config, 'starttls');
    if (secure && starttlsSetting === true) {
      config.fail('starttls', 'does not apply with secure: true (TLS is used from the start)');
    }
    const starttls = secure ? false : (starttlsSetting ?? true);
    const allowInsecure = readBoolean(config, 'allow_insecure') ?? false;
    if (!secure && !starttls && !allowInsecure) {
      config.fail(
        'starttls',
        'false sends mail (and credentials) unencrypted: set allow_insecure: true to allow it, for a relay on localhost only',
      );
    }

    const username = reader.secretString(config, 'username');
    const password = reader.credential(config, 'password', '');
    if ((username === undefined) !== (password === undefined)) {
      config.fail(username === undefined ? 'username' : 'password', 'is required with the other');
    }

    const from = config.requiredString('from');
    if (parseAddresses(from)?.length !== 1) {
      config.fail('from', 'must be one address, e.g. "Warden <warden@bank.example>"');
    }
    const defaultTo = config.stringList('default_to').flatMap((entry, index) => {
      const addresses = parseAddresses(entry);
      if (addresses === undefined) config.failItem('default_to', index, 'is not an e-mail address');
      return [entry];
    });

    return createEmailConnector({
      name,
      host: host.replace(/^\[|\]$/g, ''),
      port,
      secure,
      starttls,
      ...(username === undefined ? {} : { username: username.value }),
      ...(password === undefined ? {} : { password: password.value }),
      from,
      defaultTo,
      ...reader.limits(config, EMAIL_DEFAULTS),
      secretValues: reader.secretValues(),
    });
  },
};

function readBoolean(config: Fields, key: string): boolean | undefined {
  const node = config.value(key);
  if (node === undefined) return undefined;
  if (!isScalar(node) || typeof node.value !== 'boolean') {
    config.fail(key, 'must be true or false');
  }
  return node.value;
}
