import type { Fields } from '../../config/yaml-source.js';
import type { ConnectorConfigReader, SecretString } from '../connector-config-reader.js';

/**
 * Credentials that travel in HTTP headers: reading them from connectors.yaml
 * (only as `${secret:NAME}` references, one line each) and turning Basic or
 * Bearer credentials into an `Authorization` header, as sent and as
 * recorded, with every value a record must never show.
 */

/** `username` + `password` (Basic) or a `token` (Bearer). */
export type HttpCredentials =
  | { readonly kind: 'basic'; readonly username: SecretString; readonly password: SecretString }
  | { readonly kind: 'bearer'; readonly token: SecretString };

/** An `Authorization` header value as sent and as recorded (`Bearer ${secret:TOKEN}`). */
export interface AuthorizationHeader {
  readonly value: string;
  readonly recorded: string;
  /**
   * The values to redact wherever text is recorded, besides the config's
   * secrets: the credentials and, for Basic, the encoded pair, which is as
   * good as the password (a service echoing the header must not leak it).
   */
  readonly secrets: readonly string[];
}

export function basicAuthorization(
  username: SecretString,
  password: SecretString,
): AuthorizationHeader {
  const encoded = Buffer.from(`${username.value}:${password.value}`, 'utf8').toString('base64');
  return {
    value: `Basic ${encoded}`,
    recorded: `Basic base64(${username.recorded}:${password.recorded})`,
    // A user name written out in the config is no secret; one from a secret is.
    secrets: [
      encoded,
      password.value,
      ...(username.value === username.recorded ? [] : [username.value]),
    ],
  };
}

export function bearerAuthorization(token: SecretString): AuthorizationHeader {
  return {
    value: `Bearer ${token.value}`,
    recorded: `Bearer ${token.recorded}`,
    secrets: [token.value],
  };
}

export function authorizationHeader(credentials: HttpCredentials): AuthorizationHeader {
  return credentials.kind === 'basic'
    ? basicAuthorization(credentials.username, credentials.password)
    : bearerAuthorization(credentials.token);
}

// ---------------------------------------------------------------------------
// connectors.yaml

/** Fails `key` when `value` (secrets resolved) cannot go in a header: a line break or NUL. */
export function checkHeaderValue(fields: Fields, key: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    fields.fail(key, 'contains a line break or NUL (after secret references are resolved)');
  }
}

/** A required credential sent in a header: only `${secret:NAME}`, on one line. */
export function readHeaderCredential(
  fields: Fields,
  reader: ConnectorConfigReader,
  key: string,
  why?: string,
): SecretString {
  const secret = reader.credential(fields, key, why) ?? fields.fail(key, 'is required');
  checkHeaderValue(fields, key, secret.value);
  return secret;
}

/** The keys of a Basic-or-Bearer choice, e.g. `email` + `api_token` or `bearer_token`. */
export interface BasicOrBearerKeys {
  readonly username: string;
  readonly password: string;
  readonly token: string;
}

/**
 * Either the user name and password (the user name may be written out; the
 * password only as a secret) or the token (only as a secret), never both.
 */
export function readBasicOrBearer(
  config: Fields,
  reader: ConnectorConfigReader,
  keys: BasicOrBearerKeys,
): HttpCredentials {
  const hasBasic =
    config.value(keys.username) !== undefined || config.value(keys.password) !== undefined;
  const hasBearer = config.value(keys.token) !== undefined;
  if (hasBasic && hasBearer) {
    config.fail(
      keys.token,
      `cannot be combined with ${keys.username} and ${keys.password}: choose one`,
    );
  }
  if (hasBearer) return { kind: 'bearer', token: readHeaderCredential(config, reader, keys.token) };
  if (!hasBasic) {
    config.fail(keys.password, `is required (with ${keys.username}), unless ${keys.token} is set`);
  }
  const username = reader.secretString(config, keys.username);
  if (username === undefined) {
    return config.fail(keys.username, `is required with ${keys.password}`);
  }
  if (/[:\r\n]/.test(username.value)) {
    config.fail(keys.username, 'must not contain ":" or a line break');
  }
  return {
    kind: 'basic',
    username,
    password: readHeaderCredential(config, reader, keys.password),
  };
}
