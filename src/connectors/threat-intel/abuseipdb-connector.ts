import { WardenError } from '../../core/errors.js';
import {
  ConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonSchema,
  type RateLimit,
  type Reconciliation,
} from '../connector.js';
import type { ConnectorTypeDefinition, SecretString } from '../connector-config-reader.js';
import { IP_INPUT_SCHEMA, canonicalIp } from './ip-input.js';
import type { LiveAnswer } from './lookup-cache.js';
import {
  LOOKUP_KEYS,
  lookupSettings,
  readLookupConnection,
  type LookupConnectorOptions,
  type LookupSettings,
} from './threat-intel-config.js';
import {
  asRecord,
  booleanOrNull,
  count,
  isoFromText,
  readVendorJson,
  recode,
  stringOrNull,
  vendorMessage,
  type VendorFailure,
} from './vendor-http.js';

/**
 * AbuseIPDB API v2 `check` of an IP address (`GET /api/v2/check`, key in
 * the `Key` header): the abuse confidence score and report counts, and
 * `malicious` when the score reaches the instance's `malicious_threshold`.
 * Answers are cached per instance (see lookup-cache.ts). Reads only. See
 * docs/connectors/abuseipdb.md.
 */

export const ABUSEIPDB_DEFAULT_BASE_URL = 'https://api.abuseipdb.com';
export const ABUSEIPDB_GUI_URL = 'https://www.abuseipdb.com/check';
export const ABUSEIPDB_DEFAULTS = Object.freeze({ maliciousThreshold: 75, maxAgeDays: 90 });

/** The lookup options (base URL, key, limits, cache; see threat-intel-config.ts) and AbuseIPDB's own. */
export interface AbuseIpdbConnectorOptions extends LookupConnectorOptions {
  readonly name: string;
  /** Sent as `Key`; recorded as written (`${secret:ABUSEIPDB_API_KEY}`). */
  readonly apiKey: SecretString;
  /** `malicious` is `abuse_confidence_score >= maliciousThreshold`. @default 75 */
  readonly maliciousThreshold?: number;
  /** For Retry-After derived from X-RateLimit-Reset. @default Date.now */
  readonly now?: () => number;
}

/** `type: abuseipdb` in connectors.yaml. */
export const ABUSEIPDB_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'abuseipdb',
  keys: [...LOOKUP_KEYS, 'malicious_threshold'],
  create({ name, config, reader }) {
    const maliciousThreshold = config.withUnits('malicious_threshold', (raw, field) => {
      const value = typeof raw === 'number' ? raw : Number(raw.trim());
      if (!Number.isInteger(value) || value < 1 || value > 100) {
        throw new WardenError('invalid_config', `${field} must be a whole number from 1 to 100`, {
          field,
        });
      }
      return value;
    });
    return createAbuseIpdbConnector({
      name,
      ...readLookupConnection(config, reader, ABUSEIPDB_DEFAULT_BASE_URL),
      ...(maliciousThreshold === undefined ? {} : { maliciousThreshold }),
    });
  },
};

export function createAbuseIpdbConnector(options: AbuseIpdbConnectorOptions): Connector {
  return new AbuseIpdbConnector(options);
}

const nullable = (type: string, description?: string): JsonSchema => ({
  type: [type, 'null'],
  ...(description === undefined ? {} : { description }),
});

const CHECK_OUTPUT: Record<string, JsonSchema> = {
  ip: { type: 'string' },
  cached: { type: 'boolean', description: 'true when answered from the cache, without a request' },
  malicious: {
    type: 'boolean',
    description: "abuse_confidence_score >= the instance's malicious_threshold (default 75)",
  },
  abuse_confidence_score: { type: 'integer', minimum: 0, maximum: 100 },
  total_reports: { type: 'integer', minimum: 0, description: 'within max_age_days' },
  distinct_users: { type: 'integer', minimum: 0, description: 'distinct reporters' },
  is_whitelisted: nullable('boolean'),
  is_tor: nullable('boolean'),
  country_code: nullable('string', 'ISO 3166-1 alpha-2'),
  isp: nullable('string'),
  usage_type: nullable('string', 'e.g. Data Center/Web Hosting/Transit'),
  domain: nullable('string'),
  last_reported_at: nullable('string', 'ISO-8601'),
  max_age_days: { type: 'integer', minimum: 1, maximum: 365 },
  link: { type: 'string', description: 'the report on abuseipdb.com' },
};

const ACTIONS: Record<string, ConnectorActionSpec> = {
  check_ip: {
    name: 'check_ip',
    description: 'AbuseIPDB abuse confidence of an IPv4 or IPv6 address',
    effect: 'read',
    inputSchema: {
      type: 'object',
      properties: {
        ip: IP_INPUT_SCHEMA,
        max_age_days: {
          type: 'integer',
          minimum: 1,
          maximum: 365,
          description: 'only reports this recent count. Default 90',
        },
      },
      required: ['ip'],
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      properties: CHECK_OUTPUT,
      required: Object.keys(CHECK_OUTPUT),
      additionalProperties: false,
    },
  },
};

class AbuseIpdbConnector implements Connector {
  readonly type = 'abuseipdb';
  readonly name: string;
  readonly actions = ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly settings: LookupSettings;
  private readonly threshold: number;
  private readonly now: () => number;

  constructor(private readonly options: AbuseIpdbConnectorOptions) {
    this.name = options.name;
    this.settings = lookupSettings(options, ABUSEIPDB_DEFAULT_BASE_URL);
    this.concurrency = this.settings.concurrency;
    if (this.settings.rateLimit) this.rateLimit = this.settings.rateLimit;
    this.threshold = options.maliciousThreshold ?? ABUSEIPDB_DEFAULTS.maliciousThreshold;
    this.now = options.now ?? Date.now;
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    if (call.action !== 'check_ip') {
      throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
    const input = asRecord(call.input) ?? {};
    const ip = canonicalIp(input.ip, where);
    const maxAgeDays =
      typeof input.max_age_days === 'number' ? input.max_age_days : ABUSEIPDB_DEFAULTS.maxAgeDays;
    return this.settings.cache.lookup(`check_ip ${ip} ${maxAgeDays}`, () =>
      this.check(ip, maxAgeDays, where, call.signal),
    );
  }

  /** Reads change nothing: a call interrupted by a crash can simply be made again. */
  reconcile(): Promise<Reconciliation> {
    return Promise.resolve({ state: 'not_done' });
  }

  private async check(
    ip: string,
    maxAgeDays: number,
    where: string,
    signal: AbortSignal,
  ): Promise<LiveAnswer> {
    const url = new URL(`${this.settings.baseUrl}/api/v2/check`);
    url.searchParams.set('ipAddress', ip);
    url.searchParams.set('maxAgeInDays', String(maxAgeDays));
    const answer = await readVendorJson({
      where,
      url,
      headers: { Accept: 'application/json', Key: this.options.apiKey.value },
      recordedHeaders: { Key: this.options.apiKey.recorded },
      timeoutMs: this.settings.timeoutMs,
      signal,
      redactor: this.settings.redactor,
      refineError: (failure) => this.refineError(failure, where),
    });
    const data = asRecord(asRecord(answer.body)?.data);
    const score = data?.abuseConfidenceScore;
    if (data === undefined || typeof score !== 'number' || !Number.isInteger(score)) {
      throw new ConnectorError(
        'invalid_output',
        `${where}: the response has no data.abuseConfidenceScore`,
        { status: answer.status, exchange: answer.exchange },
      );
    }
    return {
      output: {
        ip,
        malicious: score >= this.threshold,
        abuse_confidence_score: Math.min(100, Math.max(0, score)),
        total_reports: count(data.totalReports),
        distinct_users: count(data.numDistinctUsers),
        is_whitelisted: booleanOrNull(data.isWhitelisted),
        is_tor: booleanOrNull(data.isTor),
        country_code: stringOrNull(data.countryCode),
        isp: stringOrNull(data.isp),
        usage_type: stringOrNull(data.usageType),
        domain: stringOrNull(data.domain),
        last_reported_at: isoFromText(data.lastReportedAt),
        max_age_days: maxAgeDays,
        link: `${ABUSEIPDB_GUI_URL}/${ip}`,
      },
      exchange: answer.exchange,
    };
  }

  /**
   * AbuseIPDB explains failures in `errors[].detail`. A 429 carries
   * Retry-After; when it does not, X-RateLimit-Reset (Unix seconds) says
   * when the quota refills.
   */
  private refineError(failure: VendorFailure, where: string): ConnectorError {
    const errors = asRecord(failure.body)?.errors;
    const first = Array.isArray(errors) ? asRecord(errors[0]) : undefined;
    const detail = typeof first?.detail === 'string' ? first.detail : undefined;
    let retryAfterMs = failure.byStatus.retryAfterMs;
    if (failure.byStatus.code === 'rate_limited' && retryAfterMs === undefined) {
      const reset = Number(failure.headers.get('x-ratelimit-reset'));
      if (Number.isFinite(reset) && reset > 0) {
        retryAfterMs = Math.max(0, reset * 1000 - this.now());
      }
    }
    if (detail === undefined && retryAfterMs === failure.byStatus.retryAfterMs) {
      return failure.byStatus;
    }
    const message =
      detail === undefined
        ? failure.byStatus.message
        : `${where}: HTTP ${failure.status}: ${vendorMessage(detail, this.settings.redactor)}`;
    return recode(failure.byStatus, failure.byStatus.code, message, {
      retryable: failure.byStatus.retryable,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}
