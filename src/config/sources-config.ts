import { isAbsolute, join, resolve } from 'node:path';
import { isMap, isScalar } from 'yaml';
import { WardenError } from '../core/errors.js';
import { resolveSecretReferences, type SecretSource } from '../connectors/secrets.js';
import { SOURCE_CONTEXT_FIELDS, sourceContextValue } from '../sources/source-context.js';
import type { SourceContext } from '../sources/source-format.js';
import { findSourceFormat } from '../sources/source-registry.js';
import { parseDuration } from './units.js';
import { YamlFile, deepFreeze, describeNode, optional, readIfExists } from './yaml-source.js';
import type { Fields } from './yaml-source.js';

export const SOURCES_FILE = 'sources.yaml';

/**
 * Where the next request starts: the poller sends the last cursor value as
 * the query parameter `param`, and takes the next value either from the
 * response (`response_field`, e.g. `next_cursor`) or as the greatest value of
 * a field of the items received (`item_field`, e.g. `time`). Exactly one of
 * the two is given.
 *
 * @example { param: 'since', itemField: 'updated_at', start: '2026-11-01T00:00:00Z' }
 */
export interface PollerCursor {
  readonly param: string;
  /** Dot path in the response body holding the next cursor. */
  readonly responseField?: string;
  /** Dot path in each item; the greatest value (numbers or times) becomes the cursor. */
  readonly itemField?: string;
  /** Sent on the very first request, before any checkpoint exists; else the parameter is left out. */
  readonly start?: string;
}

export interface PollerConfig {
  readonly name: string;
  readonly url: string;
  /** @default 60_000 (`interval: 1m`) */
  readonly intervalMs: number;
  /** Per request. @default 30_000 */
  readonly timeoutMs: number;
  /** With `${secret:NAME}` resolved: never log them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly cursor?: PollerCursor;
  /** Dot path to the array of alerts in the response; absent: the body is the array. */
  readonly items?: string;
  /** `?source=` format; absent: detected per alert. */
  readonly source?: string;
  readonly context: SourceContext;
}

export interface WatcherConfig {
  readonly name: string;
  /** Absolute; a relative `directory:` is read from the config directory. */
  readonly directory: string;
  /** Glob(s) on the file name (`*` and `?`). @default ['*.ndjson', '*.jsonl'] */
  readonly patterns: readonly string[];
  /** @default 5_000 (`interval: 5s`) */
  readonly intervalMs: number;
  readonly source?: string;
  readonly context: SourceContext;
}

export interface SourcesConfig {
  readonly pollers: readonly PollerConfig[];
  readonly watchers: readonly WatcherConfig[];
}

export const DEFAULT_POLL_INTERVAL_MS = 60_000;
export const DEFAULT_POLL_TIMEOUT_MS = 30_000;
export const DEFAULT_WATCH_INTERVAL_MS = 5_000;
export const DEFAULT_WATCH_PATTERNS: readonly string[] = Object.freeze(['*.ndjson', '*.jsonl']);

/** Names become checkpoint file names, so they stay plain. */
const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const DOT_PATH = /^[^.\s]+(\.[^.\s]+)*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

const ROOT_KEYS = ['pollers', 'watchers'] as const;
const POLLER_KEYS = [
  'name',
  'url',
  'interval',
  'timeout',
  'headers',
  'cursor',
  'items',
  'source',
  'context',
] as const;
const CURSOR_KEYS = ['param', 'response_field', 'item_field', 'start'] as const;
const WATCHER_KEYS = ['name', 'directory', 'pattern', 'interval', 'source', 'context'] as const;

/**
 * Reads `sources.yaml` from the config directory; undefined when there is
 * none. Header values may use `${secret:NAME}`; a problem throws
 * `invalid_config` with `file:line:column: field problem`, never quoting a
 * secret.
 */
export function loadSourcesConfig(dir: string, secrets: SecretSource): SourcesConfig | undefined {
  const path = join(dir, SOURCES_FILE);
  const text = readIfExists(path);
  if (text === undefined) return undefined;
  return readSourcesConfig(new YamlFile(path, text), resolve(dir), secrets);
}

function readSourcesConfig(file: YamlFile, dir: string, secrets: SecretSource): SourcesConfig {
  const root = file.root(ROOT_KEYS);
  const names = new Map<string, string>();
  const claimName = (entry: Fields): string => {
    const name = entry.requiredString('name');
    if (!SOURCE_NAME.test(name)) {
      entry.fail(
        'name',
        'must be letters, digits, "-" or "_" (at most 64), starting with a letter or digit',
      );
    }
    const first = names.get(name.toLowerCase());
    if (first !== undefined) entry.fail('name', `"${name}" is already used by ${first}`);
    names.set(name.toLowerCase(), entry.path);
    return name;
  };

  const pollers = root.list('pollers', POLLER_KEYS).map((entry): PollerConfig => {
    const name = claimName(entry);
    const url = entry.requiredString('url');
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
      entry.fail('url', `must be an http:// or https:// URL (got ${JSON.stringify(url)})`);
    }
    if (url.includes('${'))
      entry.fail('url', 'cannot contain ${…} references: secrets go in headers');
    const items = entry.optionalString('items');
    if (items !== undefined && !DOT_PATH.test(items)) {
      entry.fail('items', 'must be a dot path such as data.alerts');
    }
    const cursor = readCursor(entry);
    return {
      name,
      url,
      intervalMs: entry.withUnits('interval', parseDuration) ?? DEFAULT_POLL_INTERVAL_MS,
      timeoutMs: entry.withUnits('timeout', parseDuration) ?? DEFAULT_POLL_TIMEOUT_MS,
      headers: readHeaders(file, entry, secrets),
      ...optional('cursor', cursor),
      ...optional('items', items),
      ...optional('source', readFormat(entry)),
      context: readContext(entry),
    };
  });

  const watchers = root.list('watchers', WATCHER_KEYS).map((entry): WatcherConfig => {
    const name = claimName(entry);
    const directory = entry.requiredString('directory');
    const patterns = entry.oneOrMany(
      'pattern',
      (value) =>
        typeof value === 'string' && value.trim() !== '' && !value.includes('/')
          ? value.trim()
          : undefined,
      'a file-name pattern such as "*.jsonl" (no "/")',
    );
    return {
      name,
      directory: isAbsolute(directory) ? directory : resolve(dir, directory),
      patterns: patterns.length > 0 ? patterns : DEFAULT_WATCH_PATTERNS,
      intervalMs: entry.withUnits('interval', parseDuration) ?? DEFAULT_WATCH_INTERVAL_MS,
      ...optional('source', readFormat(entry)),
      context: readContext(entry),
    };
  });

  return deepFreeze({ pollers, watchers });
}

function readCursor(entry: Fields): PollerCursor | undefined {
  if (entry.value('cursor') === undefined) return undefined;
  const cursor = entry.section('cursor', CURSOR_KEYS);
  const param = cursor.requiredString('param');
  const responseField = cursor.optionalString('response_field');
  const itemField = cursor.optionalString('item_field');
  if ((responseField === undefined) === (itemField === undefined)) {
    entry.fail(
      'cursor',
      'needs exactly one of response_field (e.g. next_cursor) or item_field (e.g. time)',
    );
  }
  for (const [key, value] of [
    ['response_field', responseField],
    ['item_field', itemField],
  ] as const) {
    if (value !== undefined && !DOT_PATH.test(value))
      cursor.fail(key, 'must be a dot path such as meta.next');
  }
  const startNode = cursor.value('start');
  let start: string | undefined;
  if (startNode !== undefined) {
    const raw = isScalar(startNode) ? startNode.value : undefined;
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      cursor.fail('start', `must be a string or a number (got ${describeNode(startNode)})`);
    }
    start = String(raw);
  }
  return {
    param,
    ...optional('responseField', responseField),
    ...optional('itemField', itemField),
    ...optional('start', start),
  };
}

/** Header values are resolved here and never described in an error: they may be secrets. */
function readHeaders(file: YamlFile, entry: Fields, secrets: SecretSource): Record<string, string> {
  const node = entry.value('headers');
  const headers: Record<string, string> = {};
  if (node === undefined) return headers;
  if (!isMap(node)) entry.fail('headers', 'must be a mapping of header names to values');
  for (const pair of node.items) {
    const key = file.value(pair.key);
    if (!isScalar(key) || typeof key.value !== 'string' || !HEADER_NAME.test(key.value)) {
      file.fail(pair.key ?? node, `${entry.child('headers')} names must be HTTP header names`);
    }
    const field = `${entry.child('headers')}.${key.value}`;
    const value = file.value(pair.value);
    if (!isScalar(value) || typeof value.value !== 'string' || value.value === '') {
      file.fail(value ?? key, `${field} must be a non-empty string (quote it)`, field);
    }
    const resolved = resolveSecretReferences(value.value, secrets);
    if (!resolved.ok) file.fail(value, `${field} ${resolved.problem}`, field);
    headers[key.value] = resolved.value;
  }
  return headers;
}

function readFormat(entry: Fields): string | undefined {
  const source = entry.optionalString('source');
  if (source === undefined) return undefined;
  try {
    return findSourceFormat(source).name;
  } catch (error) {
    if (!(error instanceof WardenError)) throw error;
    return entry.fail(
      'source',
      error.message.replace(/^unknown source format "[^"]*"; /, 'is not a known format; '),
    );
  }
}

function readContext(entry: Fields): SourceContext {
  const fields = entry.section('context', SOURCE_CONTEXT_FIELDS);
  const context: SourceContext = {};
  for (const key of SOURCE_CONTEXT_FIELDS) {
    const node = fields.value(key);
    try {
      const value = sourceContextValue(isScalar(node) ? node.value : node, fields.child(key));
      if (value !== undefined) context[key] = value;
    } catch (error) {
      if (!(error instanceof WardenError)) throw error;
      fields.fail(
        key,
        `must be a non-empty string of at most 200 characters (got ${describeNode(node)})`,
      );
    }
  }
  return context;
}
