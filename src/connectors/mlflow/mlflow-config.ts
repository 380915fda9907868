import type { Fields } from '../../config/yaml-source.js';
import {
  LIMIT_KEYS,
  type ConnectorConfigReader,
  type ConnectorTypeDefinition,
  type SecretString,
} from '../connector-config-reader.js';
import { checkHeaderValue } from '../http/http-credentials.js';
import { ALIAS_PATTERN, TAG_KEY_PATTERN } from './mlflow-actions.js';
import { MLFLOW_DEFAULTS, createMlflowConnector, type MlflowAuth } from './mlflow-connector.js';

/**
 * `type: mlflow` in connectors.yaml:
 *
 * ```yaml
 * model_registry:
 *   type: mlflow
 *   base_url: https://mlflow.bank.example
 *   token: ${secret:MLFLOW_TOKEN}        # or username + password
 *   timeout: 10s
 *   hash_tag: artifact_sha256
 *   known_good_tag: warden.known_good
 *   default_alias: champion
 * ```
 */
export const MLFLOW_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'mlflow',
  keys: [
    'base_url',
    'token',
    'username',
    'password',
    ...LIMIT_KEYS,
    'hash_tag',
    'known_good_tag',
    'default_alias',
  ],
  create({ name, config, reader }) {
    const baseUrl = reader.httpUrl(config, 'base_url', {
      required: true,
      credentialsHint: ': use token, or username and password',
    });
    const auth = readAuth(config, reader);
    const hashTag = readPattern(config, 'hash_tag', TAG_KEY_PATTERN, 'an MLflow tag key');
    const knownGoodTag = readPattern(
      config,
      'known_good_tag',
      TAG_KEY_PATTERN,
      'an MLflow tag key',
    );
    const defaultAlias = readPattern(config, 'default_alias', ALIAS_PATTERN, 'an alias name');
    if (defaultAlias === 'latest') config.fail('default_alias', '"latest" is reserved by MLflow');
    return createMlflowConnector({
      name,
      baseUrl,
      ...(auth === undefined ? {} : { auth }),
      ...reader.limits(config, MLFLOW_DEFAULTS),
      hashTag: hashTag ?? MLFLOW_DEFAULTS.hashTag,
      knownGoodTag: knownGoodTag ?? MLFLOW_DEFAULTS.knownGoodTag,
      defaultAlias: defaultAlias ?? MLFLOW_DEFAULTS.defaultAlias,
      secretValues: reader.secretValues(),
    });
  },
};

/** `token`, or `username` + `password`; the secret parts must be `${secret:NAME}` references. */
function readAuth(config: Fields, reader: ConnectorConfigReader): MlflowAuth | undefined {
  const token = readCredential(config, reader, 'token', true);
  const username = readCredential(config, reader, 'username', false);
  const password = readCredential(config, reader, 'password', true);
  if (token !== undefined) {
    if (username !== undefined) config.fail('username', 'cannot be used with token: choose one');
    if (password !== undefined) config.fail('password', 'cannot be used with token: choose one');
    return { type: 'bearer', token };
  }
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined) config.fail('password', 'needs username beside it');
  if (password === undefined) config.fail('username', 'needs password beside it');
  if (username.value.includes(':')) config.fail('username', 'cannot contain ":" (basic auth)');
  return { type: 'basic', username, password };
}

function readCredential(
  config: Fields,
  reader: ConnectorConfigReader,
  key: string,
  mustBeSecret: boolean,
): SecretString | undefined {
  const value = mustBeSecret
    ? reader.credential(config, key, ', so the credential stays out of config')
    : reader.secretString(config, key);
  if (value === undefined) return undefined;
  if (value.value === '') config.fail(key, 'must not be empty');
  checkHeaderValue(config, key, value.value);
  return value;
}

function readPattern(
  config: Fields,
  key: string,
  pattern: string,
  what: string,
): string | undefined {
  const value = config.optionalString(key);
  if (value !== undefined && !new RegExp(pattern).test(value)) {
    config.fail(key, `must be ${what} (letters, digits, _ . - …)`);
  }
  return value;
}
