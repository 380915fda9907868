import { ConnectorError, type WireExchange } from '../connector.js';
import {
  sendHttpRequest,
  statusError,
  parseRetryAfter,
  type ResponseHeaders,
} from '../http/http-exchange.js';
import type { SecretRedactor } from '../secrets.js';

/**
 * The slice of the MLflow Model Registry REST API 2.0 (model_registry.proto,
 * paths under `/api/2.0/mlflow/`) the connector uses, with MLflow's error
 * bodies (`{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": …}`) mapped
 * to the connector error vocabulary. Vendor shapes stay in this folder.
 */

/** A model version as MLflow describes it, fields renamed and tags as a map. */
export interface MlflowModelVersion {
  readonly name: string;
  readonly version: string;
  readonly creationTimestamp: number | undefined;
  readonly lastUpdatedTimestamp: number | undefined;
  readonly userId: string | undefined;
  readonly currentStage: string | undefined;
  readonly description: string | undefined;
  readonly source: string | undefined;
  readonly runId: string | undefined;
  /** PENDING_REGISTRATION, FAILED_REGISTRATION or READY. */
  readonly status: string | undefined;
  readonly statusMessage: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly aliases: readonly string[];
}

export interface MlflowRegisteredModel {
  readonly name: string;
  readonly creationTimestamp: number | undefined;
  readonly lastUpdatedTimestamp: number | undefined;
  readonly description: string | undefined;
  readonly latestVersions: readonly MlflowModelVersion[];
  readonly tags: Readonly<Record<string, string>>;
  /** alias → version */
  readonly aliases: Readonly<Record<string, string>>;
}

/** A lookup's answer: the thing, or MLflow's word that it does not exist. */
export type Lookup<T> =
  | { readonly found: true; readonly value: T; readonly exchange: WireExchange }
  | { readonly found: false; readonly message: string; readonly exchange: WireExchange };

export interface MlflowApiOptions {
  /** The tracking server, possibly with a path prefix; no trailing slash needed. */
  readonly baseUrl: string;
  /** Sent with every request, credentials included. */
  readonly headers: Readonly<Record<string, string>>;
  /** How credential headers appear in exchanges (`Bearer ${secret:MLFLOW_TOKEN}`). */
  readonly recordedHeaders: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly redactor: SecretRedactor;
}

/** Per call: where errors say they come from, the deadline, and whether writes may repeat. */
export interface MlflowCallContext {
  /** `connector.action`, the start of every error message. */
  readonly where: string;
  readonly signal: AbortSignal;
}

/** Largest page asked for; both MLflow and Databricks accept it. */
export const SEARCH_PAGE_SIZE = 1000;
/** Pages read at most when listing every version of a model. */
export const SEARCH_MAX_PAGES = 10;

interface Reply {
  readonly body: unknown;
  readonly exchange: WireExchange;
}

type Missing = {
  readonly missing: true;
  readonly message: string;
  readonly exchange: WireExchange;
};

export class MlflowApi {
  constructor(private readonly options: MlflowApiOptions) {}

  /** GET registered-models/get */
  async getRegisteredModel(
    name: string,
    context: MlflowCallContext,
  ): Promise<Lookup<MlflowRegisteredModel>> {
    const reply = await this.request('GET', 'registered-models/get', { query: { name } }, context);
    if ('missing' in reply)
      return { found: false, message: reply.message, exchange: reply.exchange };
    const model = parseRegisteredModel(field(reply.body, 'registered_model'));
    if (model === undefined) throw this.invalidOutput(context, 'registered_model', reply);
    return { found: true, value: model, exchange: reply.exchange };
  }

  /** GET model-versions/get */
  async getModelVersion(
    name: string,
    version: string,
    context: MlflowCallContext,
  ): Promise<Lookup<MlflowModelVersion>> {
    const reply = await this.request(
      'GET',
      'model-versions/get',
      { query: { name, version } },
      context,
    );
    return this.versionLookup(reply, context);
  }

  /** GET registered-models/alias: the version an alias points at. */
  async getVersionByAlias(
    name: string,
    alias: string,
    context: MlflowCallContext,
  ): Promise<Lookup<MlflowModelVersion>> {
    const reply = await this.request(
      'GET',
      'registered-models/alias',
      { query: { name, alias } },
      context,
    );
    return this.versionLookup(reply, context);
  }

  /**
   * GET model-versions/search with `name='…'`, following page tokens up to
   * `maxPages` pages; newest (highest version number) first. `truncated`
   * when more pages were left unread.
   */
  async listVersions(
    name: string,
    context: MlflowCallContext,
    maxPages = SEARCH_MAX_PAGES,
  ): Promise<{
    versions: MlflowModelVersion[];
    truncated: boolean;
    exchange: WireExchange;
  }> {
    const versions: MlflowModelVersion[] = [];
    let pageToken: string | undefined;
    let exchange: WireExchange | undefined;
    for (let page = 0; page < maxPages; page += 1) {
      const query: Record<string, string> = {
        filter: nameFilter(name),
        max_results: String(SEARCH_PAGE_SIZE),
        ...(pageToken === undefined ? {} : { page_token: pageToken }),
      };
      const reply = await this.request('GET', 'model-versions/search', { query }, context);
      // Search answers an empty list for an unknown model; a "missing" error here is unexpected.
      if ('missing' in reply) throw this.missingAsRejected(context, reply);
      exchange = reply.exchange;
      const listed = field(reply.body, 'model_versions') ?? [];
      if (!Array.isArray(listed)) throw this.invalidOutput(context, 'model_versions', reply);
      for (const item of listed) {
        const version = parseModelVersion(item);
        if (version === undefined) throw this.invalidOutput(context, 'model_versions', reply);
        versions.push(version);
      }
      const next = field(reply.body, 'next_page_token');
      pageToken = typeof next === 'string' && next !== '' ? next : undefined;
      if (pageToken === undefined) break;
    }
    versions.sort((a, b) => compareVersions(b.version, a.version));
    return {
      versions,
      truncated: pageToken !== undefined,
      exchange: exchange as WireExchange,
    };
  }

  /** POST registered-models/alias {name, alias, version} */
  async setAlias(
    name: string,
    alias: string,
    version: string,
    context: MlflowCallContext,
  ): Promise<WireExchange> {
    return this.write('registered-models/alias', { name, alias, version }, context);
  }

  /** POST model-versions/set-tag {name, version, key, value} */
  async setVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
    context: MlflowCallContext,
  ): Promise<WireExchange> {
    return this.write('model-versions/set-tag', { name, version, key, value }, context);
  }

  /** A write MLflow does not deduplicate: an uncertain failure is not retryable. */
  private async write(
    path: string,
    body: Record<string, string>,
    context: MlflowCallContext,
  ): Promise<WireExchange> {
    const reply = await this.request('POST', path, { body }, context, false);
    if ('missing' in reply) throw this.missingAsRejected(context, reply);
    return reply.exchange;
  }

  private versionLookup(reply: Reply | Missing, context: MlflowCallContext) {
    if ('missing' in reply) {
      return { found: false as const, message: reply.message, exchange: reply.exchange };
    }
    const version = parseModelVersion(field(reply.body, 'model_version'));
    if (version === undefined) throw this.invalidOutput(context, 'model_version', reply);
    return { found: true as const, value: version, exchange: reply.exchange };
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    parts: { query?: Record<string, string>; body?: Record<string, string> },
    context: MlflowCallContext,
    safeToRepeat = true,
  ): Promise<Reply | Missing> {
    const url = new URL(`${this.options.baseUrl.replace(/\/+$/, '')}/api/2.0/mlflow/${path}`);
    for (const [key, value] of Object.entries(parts.query ?? {})) url.searchParams.set(key, value);
    const body = parts.body === undefined ? undefined : JSON.stringify(parts.body);
    const exchangeOptions = {
      where: context.where,
      timeoutMs: this.options.timeoutMs,
      signal: context.signal,
      redactor: this.options.redactor,
      safeToRepeat,
    };
    const response = await sendHttpRequest(
      {
        method,
        url,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...this.options.headers,
        },
        recordedHeaders: this.options.recordedHeaders,
        ...(body === undefined ? {} : { body }),
      },
      // 4xx and 5xx come back here so MLflow's error_code can be read; 3xx is refused inside.
      { ...exchangeOptions, accept: (status) => (status >= 200 && status < 300) || status >= 400 },
    );
    const { status, exchange } = response;
    if (status >= 200 && status < 300) {
      if (response.text.trim() === '') return { body: {}, exchange };
      try {
        return { body: JSON.parse(response.text) as unknown, exchange };
      } catch {
        throw new ConnectorError('invalid_output', `${context.where}: the response is not JSON`, {
          status,
          exchange,
        });
      }
    }
    const error = parseMlflowError(response.text);
    const redact = (text: string): string => this.options.redactor.redact(text);
    if (error !== undefined && isMissing(error)) {
      return { missing: true, message: redact(error.message), exchange };
    }
    throw mlflowStatusError(status, response.headers, error, exchange, exchangeOptions, redact);
  }

  private missingAsRejected(context: MlflowCallContext, reply: Missing): ConnectorError {
    const status = reply.exchange.status;
    return new ConnectorError('rejected', `${context.where}: ${reply.message}`, {
      exchange: reply.exchange,
      ...(status === undefined ? {} : { status }),
    });
  }

  private invalidOutput(context: MlflowCallContext, what: string, reply: Reply): ConnectorError {
    const status = reply.exchange.status;
    return new ConnectorError(
      'invalid_output',
      `${context.where}: the response has no valid ${what} (is base_url an MLflow tracking server?)`,
      { exchange: reply.exchange, ...(status === undefined ? {} : { status }) },
    );
  }
}

// ---------------------------------------------------------------------------
// Errors

interface MlflowErrorBody {
  readonly code: string;
  readonly message: string;
}

function parseMlflowError(text: string): MlflowErrorBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const code = field(body, 'error_code');
  if (typeof code !== 'string' || code === '') return undefined;
  const message = field(body, 'message');
  return { code, message: typeof message === 'string' ? message : code };
}

/**
 * RESOURCE_DOES_NOT_EXIST, and MLflow's own way of saying an alias is not
 * set (INVALID_PARAMETER_VALUE "Registered model alias champion not found.").
 */
function isMissing(error: MlflowErrorBody): boolean {
  if (error.code === 'RESOURCE_DOES_NOT_EXIST') return true;
  return (
    error.code === 'INVALID_PARAMETER_VALUE' && /\balias\b.*\bnot found\b/i.test(error.message)
  );
}

const REJECTED_CODES = new Set([
  'INVALID_PARAMETER_VALUE',
  'BAD_REQUEST',
  'MALFORMED_REQUEST',
  'RESOURCE_ALREADY_EXISTS',
  'RESOURCE_DOES_NOT_EXIST',
  'INVALID_STATE',
]);

/**
 * MLflow's error_code decides when there is one (it is what MLflow and
 * Databricks document); otherwise, and for INTERNAL_ERROR and unknown
 * codes, the HTTP status does (see statusError).
 */
function mlflowStatusError(
  status: number,
  headers: ResponseHeaders,
  error: MlflowErrorBody | undefined,
  exchange: WireExchange,
  options: { where: string; safeToRepeat: boolean },
  redact: (text: string) => string,
): ConnectorError {
  if (error === undefined) {
    return statusError(status, headers, exchange.responseBody ?? '', exchange, options);
  }
  const said = redact(error.message).replace(/\s+/g, ' ').trim().slice(0, 200);
  const message = `${options.where}: ${error.code} (HTTP ${status}): ${said}`;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  const common = { status, exchange, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (REJECTED_CODES.has(error.code)) return new ConnectorError('rejected', message, common);
  if (error.code === 'ENDPOINT_NOT_FOUND') {
    return new ConnectorError('rejected', `${message} (is base_url the tracking server?)`, common);
  }
  if (error.code === 'PERMISSION_DENIED' || error.code === 'UNAUTHENTICATED') {
    return new ConnectorError('unauthorized', message, common);
  }
  if (error.code === 'REQUEST_LIMIT_EXCEEDED') {
    return new ConnectorError('rate_limited', message, common);
  }
  if (error.code === 'TEMPORARILY_UNAVAILABLE') {
    return new ConnectorError('unavailable', message, { ...common, retryable: true });
  }
  return statusError(status, headers, exchange.responseBody ?? '', exchange, options);
}

// ---------------------------------------------------------------------------
// Shapes

/**
 * `name='fraud-detection'`. MLflow's filter parser strips the quotes
 * without unescaping, so a name containing `'` is quoted with `"` instead;
 * only a name containing both falls back to a backslash escape.
 */
export function nameFilter(name: string): string {
  if (!name.includes("'")) return `name='${name}'`;
  if (!name.includes('"')) return `name="${name}"`;
  return `name='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Numeric order of MLflow version strings ("10" after "9"). */
export function compareVersions(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return (value as Record<string, unknown>)[key];
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** int64 arrives as a number, or as a string from proto-JSON gateways. */
function timestamp(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}

function tagMap(value: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  if (!Array.isArray(value)) return tags;
  for (const tag of value) {
    const key = field(tag, 'key');
    const tagValue = field(tag, 'value');
    if (typeof key === 'string') tags[key] = typeof tagValue === 'string' ? tagValue : '';
  }
  return tags;
}

export function parseModelVersion(value: unknown): MlflowModelVersion | undefined {
  const name = field(value, 'name');
  const rawVersion = field(value, 'version');
  const version = typeof rawVersion === 'number' ? String(rawVersion) : rawVersion;
  if (typeof name !== 'string' || typeof version !== 'string' || version === '') return undefined;
  const aliases = field(value, 'aliases');
  return {
    name,
    version,
    creationTimestamp: timestamp(field(value, 'creation_timestamp')),
    lastUpdatedTimestamp: timestamp(field(value, 'last_updated_timestamp')),
    userId: optionalText(field(value, 'user_id')),
    currentStage: optionalText(field(value, 'current_stage')),
    description: optionalText(field(value, 'description')),
    source: optionalText(field(value, 'source')),
    runId: optionalText(field(value, 'run_id')),
    status: optionalText(field(value, 'status')),
    statusMessage: optionalText(field(value, 'status_message')),
    tags: tagMap(field(value, 'tags')),
    aliases: Array.isArray(aliases)
      ? aliases.filter((alias): alias is string => typeof alias === 'string')
      : [],
  };
}

export function parseRegisteredModel(value: unknown): MlflowRegisteredModel | undefined {
  const name = field(value, 'name');
  if (typeof name !== 'string') return undefined;
  const aliases: Record<string, string> = {};
  const rawAliases = field(value, 'aliases');
  if (Array.isArray(rawAliases)) {
    for (const entry of rawAliases) {
      const alias = field(entry, 'alias');
      const version = field(entry, 'version');
      if (typeof alias === 'string' && (typeof version === 'string' || typeof version === 'number'))
        aliases[alias] = String(version);
    }
  }
  const latest = field(value, 'latest_versions');
  const latestVersions = Array.isArray(latest)
    ? latest
        .map(parseModelVersion)
        .filter((version): version is MlflowModelVersion => version !== undefined)
    : [];
  return {
    name,
    creationTimestamp: timestamp(field(value, 'creation_timestamp')),
    lastUpdatedTimestamp: timestamp(field(value, 'last_updated_timestamp')),
    description: optionalText(field(value, 'description')),
    latestVersions,
    tags: tagMap(field(value, 'tags')),
    aliases,
  };
}
