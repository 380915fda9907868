import { parseDuration } from '../../config/units.js';
import type { Fields } from '../../config/yaml-source.js';
import type { RateLimit } from '../connector.js';
import type { ConnectorConfigReader, SecretString } from '../connector-config-reader.js';
import { hasReference } from '../secrets.js';
import type { LookupCacheOptions } from './lookup-cache.js';

/**
 * connectors.yaml keys shared by the threat-intelligence connector types:
 * base URL, API key, timeout, concurrency, rate limit and the lookup cache.
 */

export const THREAT_INTEL_DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  concurrency: 4,
  cacheTtlMs: 60 * 60 * 1000,
  cacheSize: 10_000,
});

/** The keys every lookup connector (VirusTotal, AbuseIPDB) accepts. */
export const LOOKUP_KEYS = [
  'base_url',
  'api_key',
  'timeout',
  'concurrency',
  'rate_limit',
  'cache_ttl',
  'cache_size',
] as const;

export interface LookupConnectionConfig {
  readonly baseUrl: string;
  readonly apiKey: SecretString;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  readonly cache: LookupCacheOptions;
  readonly secretValues: readonly string[];
}

export function readLookupConnection(
  config: Fields,
  reader: ConnectorConfigReader,
  defaultBaseUrl: string,
): LookupConnectionConfig {
  const baseUrl = readBaseUrl(config, reader, 'base_url', { default: defaultBaseUrl });
  const apiKey = readApiKey(config, reader, 'api_key');
  const rateLimit = reader.rateLimit(config, 'rate_limit');
  return {
    baseUrl,
    apiKey,
    timeoutMs: reader.duration(config, 'timeout') ?? THREAT_INTEL_DEFAULTS.timeoutMs,
    concurrency: reader.positiveInteger(config, 'concurrency') ?? THREAT_INTEL_DEFAULTS.concurrency,
    ...(rateLimit === undefined ? {} : { rateLimit }),
    cache: {
      ttlMs: durationOrZero(config, 'cache_ttl') ?? THREAT_INTEL_DEFAULTS.cacheTtlMs,
      maxEntries: reader.positiveInteger(config, 'cache_size') ?? THREAT_INTEL_DEFAULTS.cacheSize,
    },
    secretValues: reader.secretValues(),
  };
}

/**
 * An absolute http(s) URL, possibly with a path prefix (the vendor's API
 * path is appended to it); no credentials, query or fragment. Returned
 * without a trailing slash.
 */
export function readBaseUrl(
  config: Fields,
  reader: ConnectorConfigReader,
  key: string,
  options: { default: string } | { required: true },
): string {
  const text =
    reader.plainString(config, key, 'required' in options) ??
    ('default' in options ? options.default : '');
  return checkHttpUrl(config, key, text, { query: false }).href.replace(/\/+$/, '');
}

/** Fails `key` unless `text` is an absolute http(s) URL without credentials. */
export function checkHttpUrl(
  config: Fields,
  key: string,
  text: string,
  options: { query: boolean },
): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return config.fail(key, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    config.fail(key, 'must be an http or https URL');
  }
  if (url.username || url.password) {
    config.fail(key, 'must not contain credentials: the API key goes in api_key as ${secret:NAME}');
  }
  if (url.hash) config.fail(key, 'must not have a fragment');
  if (!options.query && url.search) config.fail(key, 'must not have a query');
  return url;
}

/** A credential, which must come from `${secret:NAME}` so it is never written in config. */
export function readApiKey(
  config: Fields,
  reader: ConnectorConfigReader,
  key: string,
): SecretString {
  const secret = reader.secretString(config, key) ?? config.fail(key, 'is required');
  if (!hasReference(secret.recorded)) {
    config.fail(key, 'must be a ${secret:NAME} reference, not the key itself');
  }
  if (/[\r\n\0]/.test(secret.value)) {
    config.fail(key, 'contains a line break or NUL (after secret references are resolved)');
  }
  return secret;
}

/** Like `reader.duration`, but `0` (or `0s`, `0m`, …) is allowed and means "off" / "every time". */
export function durationOrZero(config: Fields, key: string): number | undefined {
  return config.withUnits(key, (raw, field) =>
    (typeof raw === 'number' && raw === 0) ||
    (typeof raw === 'string' && /^0+(\.0+)?\s*(ms|s|m|h|d)?$/i.test(raw.trim()))
      ? 0
      : parseDuration(raw, field),
  );
}
