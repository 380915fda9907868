import { isMap, isScalar, isSeq } from 'yaml';
import { WardenError } from '../core/errors.js';
import { parseDuration } from '../config/units.js';
import { Fields, describeNode, type YamlFile } from '../config/yaml-source.js';
import type { Connector, JsonValue, RateLimit } from './connector.js';
import { hasReference, resolveSecretReferences, type SecretSource } from './secrets.js';

/**
 * How a connector type reads its instance configuration from
 * connectors.yaml. A vendor connector adds one definition; the loader finds
 * it by `type:`.
 */
export interface ConnectorTypeDefinition {
  /** The value of `type:` in connectors.yaml, e.g. `http`. */
  readonly type: string;
  /** Instance keys besides `type`; any other key is rejected with its position. */
  readonly keys: readonly string[];
  /** Builds the instance; problems throw `invalid_config` through `reader`/`config.fail`. */
  create(instance: ConnectorInstanceConfig): Connector;
}

export interface ConnectorInstanceConfig {
  /** The instance name (the key under `connectors:`). */
  readonly name: string;
  /** The instance's mapping, path `connectors.<name>`. */
  readonly config: Fields;
  readonly reader: ConnectorConfigReader;
}

/** A secret-bearing string as sent and as recorded (the text as written). */
export interface SecretString {
  readonly value: string;
  readonly recorded: string;
}

/** The keys `ConnectorConfigReader.limits` reads, which most connector types accept. */
export const LIMIT_KEYS = ['timeout', 'concurrency', 'rate_limit'] as const;

/** The client-side limits of an instance: `timeout`, `concurrency`, `rate_limit`. */
export interface ConnectorLimits {
  /** Per request. */
  readonly timeoutMs: number;
  readonly concurrency: number;
  /** Absent: unlimited. */
  readonly rateLimit?: RateLimit;
}

export interface HttpUrlOptions {
  /** Whether a query is allowed (a fragment never is). @default false */
  readonly query?: boolean;
  /** Follows "must not contain credentials": where they go instead. */
  readonly credentialsHint?: string;
}

/**
 * Reading helpers beyond `Fields`, for one connector instance: mappings
 * with free keys (header and action names), JSON values (schemas),
 * numbers with units, strings with `${secret:NAME}` references (and
 * credentials, which may only be such references), http(s) URLs, and the
 * `timeout`/`concurrency`/`rate_limit` limits. It remembers every secret
 * value used so the connector can redact them.
 */
export class ConnectorConfigReader {
  private readonly secretsUsed = new Set<string>();

  constructor(
    private readonly file: YamlFile,
    private readonly secrets: SecretSource,
  ) {}

  /** Every secret value this instance's config used. */
  secretValues(): string[] {
    return [...this.secretsUsed];
  }

  /** A mapping whose keys are names chosen by the author; absent → empty. */
  openSection(parent: Fields, key: string): Fields {
    const node = parent.value(key);
    const path = parent.child(key);
    if (node === undefined) return new Fields(this.file, undefined, path, []);
    if (!isMap(node)) parent.fail(key, `must be a mapping (got ${describeNode(node)})`);
    const keys = node.items.map((pair) => {
      const name = this.file.value(pair.key);
      if (!isScalar(name) || typeof name.value !== 'string' || name.value.trim() === '') {
        this.file.fail(pair.key ?? node, `${path} keys must be non-empty strings`, path);
      }
      return name.value;
    });
    return new Fields(this.file, node, path, keys);
  }

  /** A string with its `${secret:NAME}` references resolved. */
  secretString(fields: Fields, key: string): SecretString | undefined {
    const recorded = fields.optionalString(key);
    if (recorded === undefined) return undefined;
    const resolved = resolveSecretReferences(recorded, this.secrets);
    if (!resolved.ok) fields.fail(key, resolved.problem);
    for (const value of resolved.used.values()) this.secretsUsed.add(value);
    return { value: resolved.value, recorded };
  }

  /**
   * A credential: it may only be written as `${secret:NAME}` references, so
   * it never sits in the file; undefined when absent. `why` ends the
   * message for a value written out. Messages never quote the value.
   */
  credential(
    fields: Fields,
    key: string,
    why = ': credentials do not go in this file',
  ): SecretString | undefined {
    const secret = this.secretString(fields, key);
    if (secret !== undefined && !hasReference(secret.recorded)) {
      fields.fail(key, `must be a \${secret:NAME} reference${why}`);
    }
    return secret;
  }

  /** A plain string where secrets are not allowed (URLs, paths). */
  plainString(fields: Fields, key: string, required: boolean): string | undefined {
    const text = required ? fields.requiredString(key) : fields.optionalString(key);
    if (text !== undefined && hasReference(text)) {
      fields.fail(key, 'cannot contain ${…} references: secrets go in headers');
    }
    return text;
  }

  /**
   * An absolute http(s) URL written as plain text, without credentials, query
   * or fragment (see `checkHttpUrl`); returned without trailing slashes.
   */
  httpUrl(
    fields: Fields,
    key: string,
    options: HttpUrlOptions & { readonly required: true },
  ): string;
  httpUrl(
    fields: Fields,
    key: string,
    options?: HttpUrlOptions & { readonly required?: boolean },
  ): string | undefined;
  httpUrl(
    fields: Fields,
    key: string,
    options: HttpUrlOptions & { readonly required?: boolean } = {},
  ): string | undefined {
    const text = this.plainString(fields, key, options.required === true);
    if (text === undefined) return undefined;
    return checkHttpUrl(fields, key, text, options).href.replace(/\/+$/, '');
  }

  /** The value as JSON, aliases resolved. */
  json(fields: Fields, key: string): JsonValue | undefined {
    const node = fields.value(key);
    return node === undefined ? undefined : this.toJson(node);
  }

  private toJson(node: unknown): JsonValue {
    const value = this.file.value(node);
    if (value === undefined) return null;
    if (isMap(value)) {
      const object: Record<string, JsonValue> = {};
      for (const pair of value.items) {
        const key = this.file.value(pair.key);
        if (!isScalar(key)) this.file.fail(pair.key, 'keys must be plain values');
        object[String(key.value)] = this.toJson(pair.value);
      }
      return object;
    }
    if (isSeq(value)) return value.items.map((item) => this.toJson(item));
    const scalar = value.value;
    if (
      typeof scalar === 'string' ||
      typeof scalar === 'boolean' ||
      (typeof scalar === 'number' && Number.isFinite(scalar))
    ) {
      return scalar;
    }
    return this.file.fail(value, `${describeNode(value)} is not a JSON value`);
  }

  /** Milliseconds from "5s", "500ms", … */
  duration(fields: Fields, key: string): number | undefined {
    return fields.withUnits(key, parseDuration);
  }

  positiveInteger(fields: Fields, key: string): number | undefined {
    return fields.withUnits(key, (raw, field) => {
      const value = typeof raw === 'number' ? raw : Number(raw.trim());
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new WardenError('invalid_config', `${field} must be a positive integer`, { field });
      }
      return value;
    });
  }

  /**
   * `timeout`, `concurrency` and `rate_limit`, each falling back to
   * `defaults`; no rate limit when neither sets one.
   */
  limits(fields: Fields, defaults: ConnectorLimits): ConnectorLimits {
    const rateLimit = this.rateLimit(fields, 'rate_limit') ?? defaults.rateLimit;
    return {
      timeoutMs: this.duration(fields, 'timeout') ?? defaults.timeoutMs,
      concurrency: this.positiveInteger(fields, 'concurrency') ?? defaults.concurrency,
      ...(rateLimit === undefined ? {} : { rateLimit }),
    };
  }

  /** `10/s`, `4/m`, `1000/h`, or a number of requests per second. */
  rateLimit(fields: Fields, key: string): RateLimit | undefined {
    let limit: RateLimit | undefined;
    fields.withUnits(key, (raw, field) => {
      limit = parseRateLimit(raw, field);
      return 0;
    });
    return limit;
  }
}

/**
 * Fails `key` unless `text` is an absolute http or https URL without
 * credentials (they belong in a `${secret:NAME}` setting), a fragment, or
 * (unless `options.query`) a query.
 */
export function checkHttpUrl(
  fields: Fields,
  key: string,
  text: string,
  options: HttpUrlOptions = {},
): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fields.fail(key, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fields.fail(key, 'must be an http or https URL');
  }
  if (url.username || url.password) {
    fields.fail(key, `must not contain credentials${options.credentialsHint ?? ''}`);
  }
  if (options.query === true) {
    if (url.hash) fields.fail(key, 'must not have a fragment');
  } else if (url.search || url.hash) {
    fields.fail(key, 'must not have a query or fragment');
  }
  return url;
}

const RATE_UNITS_MS = new Map([
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
]);

/** Throws `invalid_config` naming `field` unless `raw` is a rate such as "10/s". */
export function parseRateLimit(raw: string | number, field: string): RateLimit {
  const match =
    typeof raw === 'number' ? null : /^(\d+(?:\.\d+)?)\s*\/\s*([smh])$/i.exec(raw.trim());
  const requests = typeof raw === 'number' ? raw : Number(match?.[1]);
  const intervalMs =
    typeof raw === 'number' ? 1000 : RATE_UNITS_MS.get((match?.[2] ?? '').toLowerCase());
  if (intervalMs === undefined || !Number.isFinite(requests) || requests <= 0) {
    throw new WardenError(
      'invalid_config',
      `${field} must be a rate such as "10/s", "30/m" or "1000/h" (got ${JSON.stringify(raw)})`,
      { field },
    );
  }
  // Below one request per interval, the bucket holds one token and refills more slowly.
  return requests < 1
    ? { requests: 1, intervalMs: intervalMs / requests }
    : { requests, intervalMs };
}
