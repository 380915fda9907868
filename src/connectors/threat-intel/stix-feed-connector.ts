import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  ConnectorError,
  toConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonSchema,
  type JsonValue,
  type Reconciliation,
  type WireExchange,
} from '../connector.js';
import {
  checkHttpUrl,
  type ConnectorTypeDefinition,
  type SecretString,
} from '../connector-config-reader.js';
import { withDeadline } from '../../core/deadline.js';
import { readHeaders } from '../http/http-connector-config.js';
import { sendHttpRequest } from '../http/http-exchange.js';
import { parseJson } from '../http/json-api.js';
import { SecretRedactor } from '../secrets.js';
import {
  collectIndicators,
  matchAsJson,
  matchIndicators,
  readFeedPage,
  type FeedIndicator,
} from './stix-indicators.js';
import type { Observables } from './stix-pattern.js';
import { THREAT_INTEL_DEFAULTS, durationOrZero } from './threat-intel-config.js';

/**
 * A local STIX 2.1 indicator feed, read from a bundle file or a TAXII 2.1
 * collection, matched against a call's observables (IPs, domains, URLs,
 * hashes, e-mail addresses) with the patterning subset of stix-pattern.ts.
 *
 * The feed is read when a call needs it and at most once per `refresh`; a
 * failed refresh keeps the last good indicators, reported `stale`, for up
 * to `max_stale` past due, after which calls fail with the refresh's
 * error. Reads only. See docs/connectors/stix-feed.md.
 */

export const STIX_FEED_DEFAULTS = Object.freeze({
  refreshMs: 15 * 60 * 1000,
  maxStaleMs: 24 * 60 * 60 * 1000,
  maxPages: 100,
  /** Per page (or file). */
  maxResponseBytes: 32 * 1024 * 1024,
  /** After a failed refresh, the next is tried no sooner than this (or `refresh`, if shorter). */
  retryAfterFailureMs: 60 * 1000,
});

export const TAXII_ACCEPT = 'application/taxii+json;version=2.1';
export const MATCH_OBSERVABLES = 'match_observables';

export type StixFeedSource =
  | { readonly kind: 'file'; readonly path: string }
  | {
      readonly kind: 'url';
      /** A TAXII 2.1 collection's objects URL, or any URL serving a STIX bundle. */
      readonly url: string;
      /** Sent with every page, e.g. `Authorization: Basic ${secret:TAXII_AUTH}`. */
      readonly headers?: Readonly<Record<string, SecretString>>;
    };

export interface StixFeedConnectorOptions {
  readonly name: string;
  readonly source: StixFeedSource;
  /** The feed is read again at most this often; 0 reads it for every call. @default 15 min */
  readonly refreshMs?: number;
  /** How long past due the last good indicators are still used when refreshes fail. @default 24 h */
  readonly maxStaleMs?: number;
  /** Per request (page) or file read. @default 10000 */
  readonly timeoutMs?: number;
  /** TAXII pages followed per refresh; a feed with more fails the refresh. @default 100 */
  readonly maxPages?: number;
  /** @default 4 */
  readonly concurrency?: number;
  /** Redacted from every record. @default the header values */
  readonly secretValues?: readonly string[];
  /** The clock, for validity and feed age (tests). @default Date.now */
  readonly now?: () => number;
}

/** `type: stix_feed` in connectors.yaml. */
export const STIX_FEED_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'stix_feed',
  keys: ['file', 'url', 'headers', 'refresh', 'max_stale', 'timeout', 'max_pages', 'concurrency'],
  create({ name, config, reader }) {
    const file = reader.plainString(config, 'file', false);
    const url = reader.plainString(config, 'url', false);
    if (file !== undefined && url !== undefined) {
      config.fail('url', 'cannot be set together with file: a feed has one source');
    }
    const headers = readHeaders(config, reader);
    let source: StixFeedSource;
    if (url !== undefined) {
      checkHttpUrl(config, 'url', url, {
        query: true,
        credentialsHint: ': send them in headers with ${secret:NAME}',
      });
      source = { kind: 'url', url, headers };
    } else if (file !== undefined) {
      if (Object.keys(headers).length > 0) config.fail('headers', 'apply only to a url feed');
      // Relative to connectors.yaml's directory (the config directory), like inventory.yaml.
      const configDir = dirname(resolve(config.position().file));
      source = { kind: 'file', path: isAbsolute(file) ? file : resolve(configDir, file) };
    } else {
      return config.fail(
        'file',
        'or url is required: a STIX 2.1 bundle file, or a TAXII 2.1 collection objects URL',
      );
    }
    const refreshMs = durationOrZero(config, 'refresh');
    const maxStaleMs = durationOrZero(config, 'max_stale');
    const timeoutMs = reader.duration(config, 'timeout');
    const maxPages = reader.positiveInteger(config, 'max_pages');
    const concurrency = reader.positiveInteger(config, 'concurrency');
    return createStixFeedConnector({
      name,
      source,
      ...(refreshMs === undefined ? {} : { refreshMs }),
      ...(maxStaleMs === undefined ? {} : { maxStaleMs }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(maxPages === undefined ? {} : { maxPages }),
      ...(concurrency === undefined ? {} : { concurrency }),
      secretValues: reader.secretValues(),
    });
  },
};

export function createStixFeedConnector(options: StixFeedConnectorOptions): Connector {
  return new StixFeedConnector(options);
}

// ---------------------------------------------------------------------------
// The action

const observableList = (description: string, maxLength: number): JsonSchema => ({
  type: 'array',
  items: { type: 'string', minLength: 1, maxLength },
  maxItems: 1000,
  description,
});

const KILL_CHAIN_PHASE: JsonSchema = {
  type: 'object',
  properties: { kill_chain_name: { type: 'string' }, phase_name: { type: 'string' } },
  required: ['kill_chain_name', 'phase_name'],
  additionalProperties: false,
};

const MATCH: JsonSchema = {
  type: 'object',
  properties: {
    indicator_id: { type: 'string' },
    name: { type: ['string', 'null'] },
    pattern: { type: 'string' },
    matched_value: { type: 'string', description: 'the observable, as given, that matched' },
    indicator_types: { type: 'array', items: { type: 'string' } },
    confidence: { type: ['integer', 'null'] },
    labels: { type: 'array', items: { type: 'string' } },
    valid_until: { type: ['string', 'null'] },
    kill_chain_phases: { type: 'array', items: KILL_CHAIN_PHASE },
    atlas_techniques: {
      type: 'array',
      items: { type: 'string' },
      description: 'external ids of the mitre-atlas external references, e.g. AML.T0051',
    },
  },
  required: [
    'indicator_id',
    'name',
    'pattern',
    'matched_value',
    'indicator_types',
    'confidence',
    'labels',
    'valid_until',
    'kill_chain_phases',
    'atlas_techniques',
  ],
  additionalProperties: false,
};

const ACTIONS: Record<string, ConnectorActionSpec> = {
  [MATCH_OBSERVABLES]: {
    name: MATCH_OBSERVABLES,
    description: "Match observables against the feed's current STIX 2.1 indicators",
    effect: 'read',
    inputSchema: {
      type: 'object',
      properties: {
        ips: observableList('IPv4/IPv6 addresses or CIDR ranges', 100),
        domains: observableList('domain names', 253),
        urls: observableList('URLs', 8192),
        hashes: observableList('file hashes (MD5, SHA-1, SHA-256, SHA-512), hex', 128),
        emails: observableList('e-mail addresses', 320),
      },
      additionalProperties: false,
    },
    outputSchema: {
      type: 'object',
      properties: {
        matched: { type: 'boolean' },
        matches: {
          type: 'array',
          items: MATCH,
          description: 'one per (indicator, observable that makes it match)',
        },
        indicators_loaded: {
          type: 'integer',
          minimum: 0,
          description: 'indicators in force: not revoked, valid now',
        },
        unsupported_patterns: {
          type: 'integer',
          minimum: 0,
          description: 'of those, how many have a pattern this matcher cannot evaluate',
        },
        feed_age_seconds: { type: 'integer', minimum: 0, description: 'since the feed was read' },
        stale: {
          type: 'boolean',
          description: 'the last refresh failed: these are the last good indicators',
        },
        stale_reason: { type: 'string', description: 'why, when stale' },
      },
      required: [
        'matched',
        'matches',
        'indicators_loaded',
        'unsupported_patterns',
        'feed_age_seconds',
        'stale',
      ],
      additionalProperties: false,
    },
  },
};

// ---------------------------------------------------------------------------
// The connector

interface LoadedFeed {
  readonly indicators: readonly FeedIndicator[];
  readonly loadedAt: number;
}

interface RefreshOutcome {
  /** The last request's record (URL feeds). */
  readonly exchange?: WireExchange;
  readonly error?: ConnectorError;
}

class StixFeedConnector implements Connector {
  readonly type = 'stix_feed';
  readonly name: string;
  readonly actions = ACTIONS;
  readonly concurrency: number;
  private readonly refreshMs: number;
  private readonly maxStaleMs: number;
  private readonly timeoutMs: number;
  private readonly maxPages: number;
  private readonly redactor: SecretRedactor;
  private readonly now: () => number;
  private readonly where: string;
  private feed: LoadedFeed | undefined;
  private failure: { readonly error: ConnectorError; readonly at: number } | undefined;
  private refreshing: Promise<RefreshOutcome> | undefined;

  constructor(private readonly options: StixFeedConnectorOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? THREAT_INTEL_DEFAULTS.concurrency;
    this.refreshMs = options.refreshMs ?? STIX_FEED_DEFAULTS.refreshMs;
    this.maxStaleMs = options.maxStaleMs ?? STIX_FEED_DEFAULTS.maxStaleMs;
    this.timeoutMs = options.timeoutMs ?? THREAT_INTEL_DEFAULTS.timeoutMs;
    this.maxPages = options.maxPages ?? STIX_FEED_DEFAULTS.maxPages;
    const source = options.source;
    const headerSecrets =
      source.kind === 'url'
        ? Object.values(source.headers ?? {}).map((header) => header.value)
        : [];
    this.redactor = new SecretRedactor(options.secretValues ?? headerSecrets);
    this.now = options.now ?? Date.now;
    this.where = `${options.name}.${MATCH_OBSERVABLES}`;
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    if (call.action !== MATCH_OBSERVABLES) {
      throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
    let outcome: RefreshOutcome = {};
    if (this.refreshing !== undefined || this.refreshDue()) {
      outcome = await untilAborted(this.startRefresh(), call.signal, this.where);
    }
    const now = this.now();
    const { feed, failure } = this;
    const failedSinceRead =
      failure !== undefined && (feed === undefined || failure.at >= feed.loadedAt);
    // max_stale 0: never answer from indicators a refresh failed to replace.
    const tooStale =
      failedSinceRead &&
      (this.maxStaleMs === 0 || now - ((feed?.loadedAt ?? 0) + this.refreshMs) > this.maxStaleMs);
    if (feed === undefined || tooStale) {
      throw this.failureFor(outcome, failure);
    }
    const input =
      typeof call.input === 'object' && call.input !== null && !Array.isArray(call.input)
        ? (call.input as Observables)
        : {};
    const summary = matchIndicators(feed.indicators, input, now);
    const output: Record<string, JsonValue> = {
      matched: summary.matches.length > 0,
      matches: summary.matches.map(matchAsJson),
      indicators_loaded: summary.active,
      unsupported_patterns: summary.unsupported,
      feed_age_seconds: Math.max(0, Math.floor((now - feed.loadedAt) / 1000)),
      stale: failedSinceRead,
      ...(failedSinceRead && failure ? { stale_reason: failure.error.message } : {}),
    };
    return { output, ...(outcome.exchange === undefined ? {} : { exchange: outcome.exchange }) };
  }

  /** Reads change nothing: a call interrupted by a crash can simply be made again. */
  reconcile(): Promise<Reconciliation> {
    return Promise.resolve({ state: 'not_done' });
  }

  private refreshDue(): boolean {
    const now = this.now();
    if (this.feed !== undefined && now - this.feed.loadedAt < this.refreshMs) return false;
    // A failing feed is not asked again on every call.
    const backoff = Math.min(this.refreshMs, STIX_FEED_DEFAULTS.retryAfterFailureMs);
    return this.failure === undefined || now - this.failure.at >= backoff;
  }

  /** One refresh at a time; calls arriving meanwhile wait for the same one. */
  private startRefresh(): Promise<RefreshOutcome> {
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Never rejects: the outcome is recorded in `feed` or `failure`. */
  private async refresh(): Promise<RefreshOutcome> {
    try {
      const { objects, exchange } =
        this.options.source.kind === 'file'
          ? await this.readFile(this.options.source.path)
          : await this.readUrl(this.options.source);
      this.feed = { indicators: collectIndicators(objects), loadedAt: this.now() };
      this.failure = undefined;
      return exchange === undefined ? {} : { exchange };
    } catch (thrown) {
      const error = toConnectorError(thrown, this.where, (text) => this.redactor.redact(text));
      this.failure = { error, at: this.now() };
      return { error, ...(error.exchange === undefined ? {} : { exchange: error.exchange }) };
    }
  }

  /**
   * The error a call fails with when there are no usable indicators: the
   * refresh's own when this call made it, else a copy (without another
   * call's exchange) saying when it happened.
   */
  private failureFor(
    outcome: RefreshOutcome,
    failure: { error: ConnectorError; at: number } | undefined,
  ): ConnectorError {
    if (failure === undefined) {
      return new ConnectorError('internal', `${this.where}: the feed has not been read`);
    }
    if (outcome.error === failure.error) return failure.error;
    const seconds = Math.max(0, Math.round((this.now() - failure.at) / 1000));
    return new ConnectorError(
      failure.error.code,
      `${failure.error.message} (the last attempt to read the feed, ${seconds}s ago)`,
      {
        retryable: failure.error.retryable,
        ...(failure.error.status === undefined ? {} : { status: failure.error.status }),
      },
    );
  }

  private async readFile(path: string): Promise<{ objects: unknown[]; exchange?: WireExchange }> {
    let text: string;
    try {
      text = await withDeadline(this.timeoutMs, (signal) =>
        readFile(path, { encoding: 'utf8', signal }),
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'EPERM') {
        throw new ConnectorError(
          'misconfigured',
          `${this.where}: cannot read the feed file ${path} (${code})`,
        );
      }
      if (
        error instanceof Error &&
        (error.name === 'AbortError' || error.name === 'TimeoutError')
      ) {
        throw new ConnectorError(
          'timeout',
          `${this.where}: the feed file ${path} was not read within ${this.timeoutMs} ms`,
        );
      }
      throw new ConnectorError(
        'unavailable',
        `${this.where}: cannot read the feed file ${path} (${code ?? String(error)})`,
      );
    }
    const page = readFeedPage(parseJson(text));
    if (page === undefined) {
      throw new ConnectorError(
        'invalid_output',
        `${this.where}: the feed file ${path} is not a STIX 2.1 bundle ({"type": "bundle", "objects": [...]})`,
      );
    }
    return { objects: [...page.objects] };
  }

  /** Follows TAXII 2.1 pages (`more` / `next`) up to `maxPages`. */
  private async readUrl(
    source: Extract<StixFeedSource, { kind: 'url' }>,
  ): Promise<{ objects: unknown[]; exchange?: WireExchange }> {
    const headers: Record<string, string> = { Accept: TAXII_ACCEPT };
    const recordedHeaders: Record<string, string> = {};
    for (const [name, header] of Object.entries(source.headers ?? {})) {
      headers[name] = header.value;
      recordedHeaders[name] = header.recorded;
    }
    // The refresh outlives the call that started it (others may be waiting for
    // it); each page is bounded by the connector timeout instead.
    const signal = new AbortController().signal;
    const objects: unknown[] = [];
    let url = new URL(source.url);
    for (let page = 1; ; page += 1) {
      const response = await sendHttpRequest(
        { method: 'GET', url, headers, recordedHeaders },
        {
          where: this.where,
          timeoutMs: this.timeoutMs,
          signal,
          redactor: this.redactor,
          safeToRepeat: true,
          maxResponseBytes: STIX_FEED_DEFAULTS.maxResponseBytes,
        },
      );
      const feedPage = readFeedPage(parseJson(response.text));
      if (feedPage === undefined) {
        throw new ConnectorError(
          'invalid_output',
          `${this.where}: the response is neither a TAXII 2.1 envelope nor a STIX 2.1 bundle`,
          { status: response.status, exchange: response.exchange },
        );
      }
      for (const object of feedPage.objects) objects.push(object);
      if (!feedPage.more) return { objects, exchange: response.exchange };

      const next = new URL(source.url);
      const addedLast = response.headers.get('x-taxii-date-added-last');
      if (feedPage.next !== undefined) next.searchParams.set('next', feedPage.next);
      else if (addedLast !== null) next.searchParams.set('added_after', addedLast);
      else {
        throw new ConnectorError(
          'invalid_output',
          `${this.where}: the envelope says more objects follow but gives no next cursor`,
          { status: response.status, exchange: response.exchange },
        );
      }
      if (page >= this.maxPages) {
        throw new ConnectorError(
          'misconfigured',
          `${this.where}: the feed has more than ${this.maxPages} pages; raise max_pages`,
          { status: response.status, exchange: response.exchange },
        );
      }
      url = next;
    }
  }
}

/** The promise's value, or a `timeout` when the call's deadline passes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, where: string): Promise<T> {
  const deadline = (): ConnectorError =>
    new ConnectorError('timeout', `${where}: the step deadline passed while the feed was read`);
  if (signal.aborted) return Promise.reject(deadline());
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = (): void => reject(deadline());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
