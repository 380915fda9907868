import type { Fields } from '../../config/yaml-source.js';
import type { RateLimit } from '../connector.js';
import { LIMIT_KEYS, type ConnectorConfigReader } from '../connector-config-reader.js';

/**
 * What every AWS connector instance reads from connectors.yaml: the region,
 * the credentials (three `${secret:NAME}` strings, or none for the SDK's
 * default credential chain), an optional endpoint override, and the usual
 * timeout, concurrency and rate limit.
 */

export const AWS_COMMON_KEYS = [
  'region',
  'access_key_id',
  'secret_access_key',
  'session_token',
  'endpoint',
  ...LIMIT_KEYS,
] as const;

export const AWS_DEFAULTS = Object.freeze({ timeoutMs: 10_000, concurrency: 4 });

export interface AwsStaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsSettings {
  /** The instance name, the start of every message. */
  readonly name: string;
  readonly region: string;
  /** Absent: the SDK's default chain (environment, shared profile, container or instance role). */
  readonly credentials?: AwsStaticCredentials;
  /** How the credentials appear in records: their `${secret:NAME}` templates. */
  readonly recordedAccessKeyId?: string;
  readonly recordedSessionToken?: string;
  /** An http(s) URL replacing the service endpoint; its path prefix is kept. */
  readonly endpoint?: string;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  /** Every secret value the instance uses, redacted wherever text is recorded. */
  readonly secretValues: readonly string[];
}

const REGION = /^[a-z]{2,}(-[a-z0-9]+)+-\d+$/;
const SECRET_REFERENCE = /^\$\{secret:[A-Z][A-Z0-9_]*\}$/;

export function readAwsSettings(
  name: string,
  config: Fields,
  reader: ConnectorConfigReader,
): AwsSettings {
  const region = reader.plainString(config, 'region', true) ?? '';
  if (!REGION.test(region)) {
    config.fail('region', 'must be an AWS region code such as us-east-1 or eu-west-1');
  }
  const accessKeyId = readSecretReference(config, reader, 'access_key_id');
  const secretAccessKey = readSecretReference(config, reader, 'secret_access_key');
  const sessionToken = readSecretReference(config, reader, 'session_token');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    config.fail(
      accessKeyId === undefined ? 'access_key_id' : 'secret_access_key',
      'is required with ' +
        (accessKeyId === undefined ? 'secret_access_key' : 'access_key_id') +
        ' (set both, or neither to use the default credential chain)',
    );
  }
  if (sessionToken !== undefined && accessKeyId === undefined) {
    config.fail('session_token', 'needs access_key_id and secret_access_key');
  }
  const endpoint = reader.httpUrl(config, 'endpoint');
  return {
    name,
    region,
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId: accessKeyId.value,
            secretAccessKey: secretAccessKey.value,
            ...(sessionToken ? { sessionToken: sessionToken.value } : {}),
          },
          recordedAccessKeyId: accessKeyId.recorded,
          ...(sessionToken ? { recordedSessionToken: sessionToken.recorded } : {}),
        }
      : {}),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...reader.limits(config, AWS_DEFAULTS),
    secretValues: reader.secretValues(),
  };
}

/** Credentials are only ever `${secret:NAME}`: a literal key would end up in records. */
function readSecretReference(
  config: Fields,
  reader: ConnectorConfigReader,
  key: string,
): { value: string; recorded: string } | undefined {
  const written = config.optionalString(key);
  if (written === undefined) return undefined;
  if (!SECRET_REFERENCE.test(written)) {
    config.fail(
      key,
      'must be a single ${secret:NAME} reference (credentials are never written out)',
    );
  }
  const resolved = reader.secretString(config, key);
  if (resolved === undefined || /[\s\0]/.test(resolved.value)) {
    config.fail(key, 'resolves to a value with white space or NUL (check the secret)');
  }
  return resolved;
}

/**
 * IAM is a global service signed in its partition's home region, whatever
 * region the instance names: us-east-1 in the commercial partition.
 */
export function iamSigningRegion(region: string): string {
  if (region.startsWith('cn-')) return 'cn-north-1';
  if (region.startsWith('us-gov-')) return 'us-gov-west-1';
  if (region.startsWith('us-isob-')) return 'us-isob-east-1';
  if (region.startsWith('us-iso-')) return 'us-iso-east-1';
  return 'us-east-1';
}
