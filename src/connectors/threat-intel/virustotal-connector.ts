import {
  ConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonSchema,
  type JsonValue,
  type RateLimit,
  type Reconciliation,
} from '../connector.js';
import type { ConnectorTypeDefinition, SecretString } from '../connector-config-reader.js';
import { IP_INPUT_SCHEMA, canonicalIp } from './ip-input.js';
import type { JsonObject, LiveAnswer } from './lookup-cache.js';
import { normalizeDomain } from './stix-pattern.js';
import {
  LOOKUP_KEYS,
  lookupSettings,
  readLookupConnection,
  type LookupConnectorOptions,
  type LookupSettings,
} from './threat-intel-config.js';
import {
  asRecord,
  count,
  integerOrNull,
  isoFromUnixSeconds,
  readVendorJson,
  recode,
  stringOrNull,
  vendorMessage,
  type VendorFailure,
} from './vendor-http.js';

/**
 * VirusTotal API v3 reputation lookups of IP addresses, domains and files
 * (`GET /api/v3/ip_addresses/{ip}`, `/domains/{domain}`, `/files/{hash}`,
 * key in the `x-apikey` header), normalised to one shape a playbook can
 * branch on: `found`, a `verdict` and the engine counts of the last
 * analysis. Answers are cached per instance (see lookup-cache.ts). Reads
 * only. See docs/connectors/virustotal.md.
 */

export const VIRUSTOTAL_DEFAULT_BASE_URL = 'https://www.virustotal.com';
/** Where a person looks at the report; the same whatever base_url the API calls use. */
export const VIRUSTOTAL_GUI_URL = 'https://www.virustotal.com/gui';

/** The lookup options (base URL, key, limits, cache; see threat-intel-config.ts). */
export interface VirusTotalConnectorOptions extends LookupConnectorOptions {
  readonly name: string;
  /** Sent as `x-apikey`; recorded as written (`${secret:VT_API_KEY}`). */
  readonly apiKey: SecretString;
}

export type VirusTotalVerdict = 'malicious' | 'suspicious' | 'harmless' | 'undetected' | 'unknown';

/** `type: virustotal` in connectors.yaml. */
export const VIRUSTOTAL_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'virustotal',
  keys: LOOKUP_KEYS,
  create({ name, config, reader }) {
    return createVirusTotalConnector({
      name,
      ...readLookupConnection(config, reader, VIRUSTOTAL_DEFAULT_BASE_URL),
    });
  },
};

export function createVirusTotalConnector(options: VirusTotalConnectorOptions): Connector {
  return new VirusTotalConnector(options);
}

// ---------------------------------------------------------------------------
// Actions

const nullable = (type: string): JsonSchema => ({ type: [type, 'null'] });

const COMMON_OUTPUT: Record<string, JsonSchema> = {
  found: {
    type: 'boolean',
    description: 'false when VirusTotal has no report (HTTP 404 NotFoundError)',
  },
  cached: { type: 'boolean', description: 'true when answered from the cache, without a request' },
  verdict: {
    enum: ['malicious', 'suspicious', 'harmless', 'undetected', 'unknown'],
    description:
      'malicious if any engine says so, else suspicious, else harmless, else undetected; unknown without an analysis',
  },
  malicious: { type: 'integer', minimum: 0 },
  suspicious: { type: 'integer', minimum: 0 },
  harmless: { type: 'integer', minimum: 0 },
  undetected: { type: 'integer', minimum: 0 },
  reputation: { ...nullable('integer'), description: 'community score; negative is bad' },
  last_analysis_date: { ...nullable('string'), description: 'ISO-8601' },
  tags: { type: 'array', items: { type: 'string' } },
  link: { type: 'string', description: 'the report in the VirusTotal web interface' },
};

function outputSchema(specific: Record<string, JsonSchema>): JsonSchema {
  const properties = { ...COMMON_OUTPUT, ...specific };
  return {
    type: 'object',
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  };
}

const ACTIONS: Record<string, ConnectorActionSpec> = {
  lookup_ip: {
    name: 'lookup_ip',
    description: 'VirusTotal report on an IPv4 or IPv6 address',
    effect: 'read',
    inputSchema: {
      type: 'object',
      properties: {
        ip: IP_INPUT_SCHEMA,
      },
      required: ['ip'],
      additionalProperties: false,
    },
    outputSchema: outputSchema({
      ip: { type: 'string' },
      as_owner: nullable('string'),
      asn: nullable('integer'),
      country: { ...nullable('string'), description: 'ISO 3166-1 alpha-2' },
      continent: nullable('string'),
      network: { ...nullable('string'), description: 'the announcing range, e.g. 203.0.113.0/24' },
    }),
  },
  lookup_domain: {
    name: 'lookup_domain',
    description: 'VirusTotal report on a domain name',
    effect: 'read',
    inputSchema: {
      type: 'object',
      properties: {
        domain: {
          type: 'string',
          minLength: 1,
          maxLength: 253,
          pattern: '^[^\\s/?#@:]+$',
          description: 'a domain name such as evil.example (no scheme, path or port)',
        },
      },
      required: ['domain'],
      additionalProperties: false,
    },
    outputSchema: outputSchema({
      domain: { type: 'string' },
      registrar: nullable('string'),
      creation_date: { ...nullable('string'), description: 'ISO-8601' },
      categories: {
        type: 'array',
        items: { type: 'string' },
        description: 'distinct categories given by the URL-categorisation services',
      },
    }),
  },
  lookup_file: {
    name: 'lookup_file',
    description: 'VirusTotal report on a file, by MD5, SHA-1 or SHA-256',
    effect: 'read',
    inputSchema: {
      type: 'object',
      properties: {
        hash: {
          type: 'string',
          pattern: '^([0-9A-Fa-f]{32}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$',
          description: 'MD5 (32), SHA-1 (40) or SHA-256 (64 hex digits)',
        },
      },
      required: ['hash'],
      additionalProperties: false,
    },
    outputSchema: outputSchema({
      hash: { type: 'string', description: 'the hash looked up, lower case' },
      sha256: nullable('string'),
      sha1: nullable('string'),
      md5: nullable('string'),
      meaningful_name: nullable('string'),
      type_description: nullable('string'),
      size: { ...nullable('integer'), description: 'bytes' },
      first_submission_date: { ...nullable('string'), description: 'ISO-8601' },
      times_submitted: nullable('integer'),
      threat_label: {
        ...nullable('string'),
        description: "popular_threat_classification's suggested label, e.g. trojan.emotet/x",
      },
    }),
  },
};

/** One lookup: the API path, the GUI path, and the type-specific fields. */
interface LookupKind {
  readonly apiPath: string;
  readonly guiPath: string;
  readonly queried: JsonObject;
  readonly specific: (attributes: Record<string, unknown> | undefined) => JsonObject;
}

const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

class VirusTotalConnector implements Connector {
  readonly type = 'virustotal';
  readonly name: string;
  readonly actions = ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly settings: LookupSettings;

  constructor(private readonly options: VirusTotalConnectorOptions) {
    this.name = options.name;
    this.settings = lookupSettings(options, VIRUSTOTAL_DEFAULT_BASE_URL);
    this.concurrency = this.settings.concurrency;
    if (this.settings.rateLimit) this.rateLimit = this.settings.rateLimit;
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const kind = this.lookupKind(call.action, asRecord(call.input) ?? {}, where);
    return this.settings.cache.lookup(`${call.action} ${kind.apiPath}`, () =>
      this.fetch(kind, where, call.signal),
    );
  }

  /** Reads change nothing: a call interrupted by a crash can simply be made again. */
  reconcile(): Promise<Reconciliation> {
    return Promise.resolve({ state: 'not_done' });
  }

  private lookupKind(action: string, input: Record<string, unknown>, where: string): LookupKind {
    const text = (field: string): string => {
      const value = input[field];
      if (typeof value !== 'string') {
        throw new ConnectorError('invalid_input', `${where}: input.${field} must be a string`);
      }
      return value.trim();
    };
    if (action === 'lookup_ip') {
      const ip = canonicalIp(text('ip'), where);
      return {
        // Digits, dots and colons only: nothing to escape in a path.
        apiPath: `/api/v3/ip_addresses/${ip}`,
        guiPath: `/ip-address/${ip}`,
        queried: { ip },
        specific: (attributes) => ({
          as_owner: stringOrNull(attributes?.as_owner),
          asn: integerOrNull(attributes?.asn),
          country: stringOrNull(attributes?.country),
          continent: stringOrNull(attributes?.continent),
          network: stringOrNull(attributes?.network),
        }),
      };
    }
    if (action === 'lookup_domain') {
      const domain = normalizeDomain(text('domain'));
      if (!HOSTNAME.test(domain)) {
        throw new ConnectorError('invalid_input', `${where}: input.domain is not a domain name`);
      }
      return {
        apiPath: `/api/v3/domains/${domain}`,
        guiPath: `/domain/${domain}`,
        queried: { domain },
        specific: (attributes) => ({
          registrar: stringOrNull(attributes?.registrar),
          creation_date: isoFromUnixSeconds(attributes?.creation_date),
          categories: distinctStrings(Object.values(asRecord(attributes?.categories) ?? {})),
        }),
      };
    }
    if (action === 'lookup_file') {
      const hash = text('hash').toLowerCase();
      if (!/^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/.test(hash)) {
        throw new ConnectorError(
          'invalid_input',
          `${where}: input.hash must be an MD5, SHA-1 or SHA-256 in hex`,
        );
      }
      return {
        apiPath: `/api/v3/files/${hash}`,
        guiPath: `/file/${hash}`,
        queried: { hash },
        specific: (attributes) => ({
          sha256: stringOrNull(attributes?.sha256),
          sha1: stringOrNull(attributes?.sha1),
          md5: stringOrNull(attributes?.md5),
          meaningful_name: stringOrNull(attributes?.meaningful_name),
          type_description: stringOrNull(attributes?.type_description),
          size: integerOrNull(attributes?.size),
          first_submission_date: isoFromUnixSeconds(attributes?.first_submission_date),
          times_submitted: integerOrNull(attributes?.times_submitted),
          threat_label: stringOrNull(
            asRecord(attributes?.popular_threat_classification)?.suggested_threat_label,
          ),
        }),
      };
    }
    throw new ConnectorError('unknown_action', `${this.name}: no action "${action}"`);
  }

  private async fetch(kind: LookupKind, where: string, signal: AbortSignal): Promise<LiveAnswer> {
    const answer = await readVendorJson({
      where,
      url: new URL(this.settings.baseUrl + kind.apiPath),
      headers: { accept: 'application/json', 'x-apikey': this.options.apiKey.value },
      recordedHeaders: { 'x-apikey': this.options.apiKey.recorded },
      timeoutMs: this.settings.timeoutMs,
      signal,
      redactor: this.settings.redactor,
      isResult: (status, body) => status === 404 && vtError(body)?.code === 'NotFoundError',
      refineError: (failure) => this.refineError(failure, where),
    });
    const link = `${VIRUSTOTAL_GUI_URL}${kind.guiPath}`;
    if (answer.status === 404) {
      return { output: report(kind, false, undefined, link), exchange: answer.exchange };
    }
    const attributes = asRecord(asRecord(asRecord(answer.body)?.data)?.attributes);
    if (attributes === undefined) {
      throw new ConnectorError('invalid_output', `${where}: the response has no data.attributes`, {
        status: answer.status,
        exchange: answer.exchange,
      });
    }
    return { output: report(kind, true, attributes, link), exchange: answer.exchange };
  }

  /** VirusTotal says what went wrong in `error.code`; the status alone is the fallback. */
  private refineError(failure: VendorFailure, where: string): ConnectorError {
    const error = vtError(failure.body);
    if (error === undefined) return failure.byStatus;
    const message = `${where}: HTTP ${failure.status} ${error.code}${
      error.message ? `: ${vendorMessage(error.message, this.settings.redactor)}` : ''
    }`;
    switch (error.code) {
      case 'QuotaExceededError':
      case 'TooManyRequestsError':
        return recode(failure.byStatus, 'rate_limited', message);
      case 'WrongCredentialsError':
      case 'AuthenticationRequiredError':
      case 'UserNotActiveError':
      case 'ForbiddenError':
        return recode(failure.byStatus, 'unauthorized', message);
      case 'TransientError':
      case 'NotAvailableYet':
        return recode(failure.byStatus, 'unavailable', message, { retryable: true });
      case 'DeadlineExceededError':
        return recode(failure.byStatus, 'timeout', message, { retryable: true });
      case 'NotFoundError':
      case 'BadRequestError':
      case 'InvalidArgumentError':
        return recode(failure.byStatus, 'rejected', message);
      default:
        return recode(failure.byStatus, failure.byStatus.code, message, {
          retryable: failure.byStatus.retryable,
        });
    }
  }
}

function vtError(body: unknown): { code: string; message: string | undefined } | undefined {
  const error = asRecord(asRecord(body)?.error);
  if (typeof error?.code !== 'string') return undefined;
  return {
    code: error.code,
    message: typeof error.message === 'string' ? error.message : undefined,
  };
}

function report(
  kind: LookupKind,
  found: boolean,
  attributes: Record<string, unknown> | undefined,
  link: string,
): JsonObject {
  const stats = asRecord(attributes?.last_analysis_stats);
  const counts = {
    malicious: count(stats?.malicious),
    suspicious: count(stats?.suspicious),
    harmless: count(stats?.harmless),
    undetected: count(stats?.undetected),
  };
  return {
    found,
    verdict: verdict(counts),
    ...counts,
    reputation: integerOrNull(attributes?.reputation),
    last_analysis_date: isoFromUnixSeconds(attributes?.last_analysis_date),
    tags: distinctStrings(Array.isArray(attributes?.tags) ? attributes.tags : []),
    link,
    ...kind.queried,
    ...kind.specific(attributes),
  };
}

/** The most severe category any engine reported in the last analysis. */
export function verdict(counts: {
  malicious: number;
  suspicious: number;
  harmless: number;
  undetected: number;
}): VirusTotalVerdict {
  if (counts.malicious > 0) return 'malicious';
  if (counts.suspicious > 0) return 'suspicious';
  if (counts.harmless > 0) return 'harmless';
  if (counts.undetected > 0) return 'undetected';
  return 'unknown';
}

function distinctStrings(values: readonly unknown[]): JsonValue[] {
  return [...new Set(values.filter((value): value is string => typeof value === 'string'))];
}
