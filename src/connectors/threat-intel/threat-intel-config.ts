import { parseDuration } from '../../config/units.js';
import type { Fields } from '../../config/yaml-source.js';
import type { RateLimit } from '../connector.js';
import {
  LIMIT_KEYS,
  type ConnectorConfigReader,
  type SecretString,
} from '../connector-config-reader.js';
import { readHeaderCredential } from '../http/http-credentials.js';
import { SecretRedactor } from '../secrets.js';
import { LookupCache, type LookupCacheOptions } from './lookup-cache.js';

/**
 * connectors.yaml keys shared by the threat-intelligence connector types:
 * base URL, API key, timeout, concurrency, rate limit and the lookup cache;
 * and the defaults the lookup connectors (VirusTotal, AbuseIPDB) apply to
 * those options when built in code.
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
  ...LIMIT_KEYS,
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

/** What a lookup connector's options hold besides its own settings; absent ones default. */
export interface LookupConnectorOptions {
  /** @default the vendor's API */
  readonly baseUrl?: string;
  readonly apiKey: SecretString;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default 4 */
  readonly concurrency?: number;
  readonly rateLimit?: RateLimit;
  /** @default 1 hour, 10000 entries */
  readonly cache?: LookupCacheOptions;
  /** Redacted from every record. @default the API key */
  readonly secretValues?: readonly string[];
}

/** A lookup connector's options with the defaults applied, and its redactor and cache. */
export interface LookupSettings {
  /** Without a trailing slash. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  readonly redactor: SecretRedactor;
  readonly cache: LookupCache;
}

export function lookupSettings(
  options: LookupConnectorOptions,
  defaultBaseUrl: string,
): LookupSettings {
  return {
    baseUrl: (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, ''),
    timeoutMs: options.timeoutMs ?? THREAT_INTEL_DEFAULTS.timeoutMs,
    concurrency: options.concurrency ?? THREAT_INTEL_DEFAULTS.concurrency,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    redactor: new SecretRedactor(options.secretValues ?? [options.apiKey.value]),
    cache: new LookupCache(
      options.cache ?? {
        ttlMs: THREAT_INTEL_DEFAULTS.cacheTtlMs,
        maxEntries: THREAT_INTEL_DEFAULTS.cacheSize,
      },
    ),
  };
}

/** Where a URL's credentials go instead, for the messages about one that has them. */
export const API_KEY_HINT = ': the API key goes in api_key as ${secret:NAME}';

export function readLookupConnection(
  config: Fields,
  reader: ConnectorConfigReader,
  defaultBaseUrl: string,
): LookupConnectionConfig {
  const baseUrl =
    reader.httpUrl(config, 'base_url', { credentialsHint: API_KEY_HINT }) ?? defaultBaseUrl;
  // A credential, which must come from `${secret:NAME}` so it is never written in config.
  const apiKey = readHeaderCredential(config, reader, 'api_key', ', not the key itself');
  return {
    baseUrl,
    apiKey,
    ...reader.limits(config, THREAT_INTEL_DEFAULTS),
    cache: {
      ttlMs: durationOrZero(config, 'cache_ttl') ?? THREAT_INTEL_DEFAULTS.cacheTtlMs,
      maxEntries: reader.positiveInteger(config, 'cache_size') ?? THREAT_INTEL_DEFAULTS.cacheSize,
    },
    secretValues: reader.secretValues(),
  };
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
