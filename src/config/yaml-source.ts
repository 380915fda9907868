import { readFileSync } from 'node:fs';
import {
  LineCounter,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { WardenError } from '../core/errors.js';
import type { SourcePosition } from '../core/source-position.js';

/**
 * YAML access that keeps source positions, shared by every config file
 * loader: any problem throws `invalid_config` with
 * `file:line:column: field.path problem` and `details: { file, line, column }`.
 */

/** The file's text; undefined when it does not exist. */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const reason = error instanceof Error ? error.message : String(error);
    throw new WardenError('invalid_config', `${path}: cannot read: ${reason}`, { cause: error });
  }
}

/** The parsed file; undefined when it does not exist. */
export function readYamlFile(path: string): YamlFile | undefined {
  const text = readIfExists(path);
  return text === undefined ? undefined : new YamlFile(path, text);
}

export type Value = Scalar | YAMLMap | YAMLSeq;

export class YamlFile {
  private readonly lines = new LineCounter();
  private readonly doc: Document.Parsed;

  constructor(
    readonly path: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false });
    const error = this.doc.errors[0];
    if (error) this.failAt(error.pos[0], `invalid YAML: ${error.message}`);
  }

  root(allowed: readonly string[]): Fields {
    const contents = this.value(this.doc.contents);
    if (contents !== undefined && !isMap(contents)) {
      this.fail(contents, 'the top level must be a mapping of keys to values');
    }
    return new Fields(this, contents, '', allowed);
  }

  /** Aliases resolved; a key with no value (`on_call:`) counts as absent. */
  value(node: unknown): Value | undefined {
    const target = isAlias(node) ? node.resolve(this.doc) : node;
    if (isScalar(target)) return target.value === null ? undefined : target;
    return isMap(target) || isSeq(target) ? target : undefined;
  }

  /** Where a node starts; the top of the file for anything else. */
  position(node: unknown): SourcePosition {
    const { line, col } = this.lines.linePos(isNode(node) ? (node.range?.[0] ?? 0) : 0);
    return { file: this.path, line, column: col };
  }

  fail(node: unknown, message: string, field?: string): never {
    return this.failAt(isNode(node) ? (node.range?.[0] ?? 0) : 0, message, field);
  }

  private failAt(offset: number, message: string, field?: string): never {
    const { line, col } = this.lines.linePos(offset);
    throw new WardenError('invalid_config', `${this.path}:${line}:${col}: ${message}`, {
      ...(field === undefined ? {} : { field }),
      details: { file: this.path, line, column: col },
    });
  }
}

interface Entry {
  key: Scalar;
  value: Value | undefined;
}

/** One YAML mapping with a fixed set of allowed keys. */
export class Fields {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly file: YamlFile,
    private readonly node: YAMLMap | undefined,
    readonly path: string,
    allowed: readonly string[],
  ) {
    for (const pair of node?.items ?? []) {
      const key = file.value(pair.key);
      if (!isScalar(key) || typeof key.value !== 'string') {
        file.fail(pair.key ?? node, `${this.describe()} keys must be plain strings`);
      }
      if (!allowed.includes(key.value)) {
        const expected = allowed.join(', ');
        file.fail(
          key,
          `${this.child(key.value)} is not a known key (expected one of: ${expected})`,
        );
      }
      this.entries.set(key.value, { key, value: file.value(pair.value) });
    }
  }

  value(key: string): Value | undefined {
    return this.entries.get(key)?.value;
  }

  /** The keys present, in file order (including keys written with no value). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Where `key` is written, else where this mapping starts. */
  position(key?: string): SourcePosition {
    const entry = key === undefined ? undefined : this.entries.get(key);
    return this.file.position(entry?.key ?? this.node);
  }

  /** Points at the value, else at the key, else at the mapping itself. */
  fail(key: string, problem: string): never {
    const entry = this.entries.get(key);
    return this.file.fail(
      entry?.value ?? entry?.key ?? this.node,
      `${this.child(key)} ${problem}`,
      this.child(key),
    );
  }

  failItem(key: string, index: number, problem: string): never {
    const list = this.value(key);
    const item = isSeq(list) ? list.items[index] : undefined;
    const field = `${this.child(key)}[${index}]`;
    return this.file.fail(item ?? list, `${field} ${problem}`, field);
  }

  requiredString(key: string): string {
    const value = this.optionalString(key);
    if (value === undefined) this.fail(key, 'is required');
    return value;
  }

  optionalString(key: string): string | undefined {
    const node = this.value(key);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== 'string') {
      this.fail(key, `must be a string (got ${describeNode(node)})`);
    }
    const text = node.value.trim();
    if (text === '') this.fail(key, 'must not be empty');
    return text;
  }

  stringList(key: string, options: { required?: boolean } = {}): string[] {
    const node = this.value(key);
    if (node === undefined) {
      if (options.required) this.fail(key, 'is required');
      return [];
    }
    if (!isSeq(node)) this.fail(key, `must be a list (got ${describeNode(node)})`);
    if (options.required && node.items.length === 0) this.fail(key, 'must not be empty');
    return node.items.map((item, index) => {
      const value = this.file.value(item);
      if (!isScalar(value) || typeof value.value !== 'string' || value.value.trim() === '') {
        this.failItem(key, index, `must be a non-empty string (got ${describeNode(value)})`);
      }
      return value.value.trim();
    });
  }

  /**
   * A scalar or a non-empty list of scalars, each passed through `accept`
   * (which returns undefined to reject it); `expected` completes "must be …".
   */
  oneOrMany<T>(key: string, accept: (value: unknown) => T | undefined, expected: string): T[] {
    const node = this.value(key);
    if (node === undefined) return [];
    if (isScalar(node)) {
      const value = accept(node.value);
      if (value === undefined) this.fail(key, `must be ${expected} (got ${describeNode(node)})`);
      return [value];
    }
    if (!isSeq(node)) {
      this.fail(key, `must be ${expected} or a list of them (got ${describeNode(node)})`);
    }
    if (node.items.length === 0) this.fail(key, 'must not be an empty list');
    return node.items.map((item, index) => {
      const scalar = this.file.value(item);
      const value = isScalar(scalar) ? accept(scalar.value) : undefined;
      if (value === undefined) {
        this.failItem(key, index, `must be ${expected} (got ${describeNode(scalar)})`);
      }
      return value;
    });
  }

  /** Each item of a list of mappings, e.g. `models[3]`. */
  list(key: string, allowed: readonly string[]): Fields[] {
    const node = this.value(key);
    if (node === undefined) return [];
    if (!isSeq(node)) this.fail(key, `must be a list (got ${describeNode(node)})`);
    return node.items.map((item, index) => {
      const value = this.file.value(item);
      const path = `${this.child(key)}[${index}]`;
      if (!isMap(value)) {
        this.file.fail(
          value ?? item ?? node,
          `${path} must be a mapping (got ${describeNode(value)})`,
          path,
        );
      }
      return new Fields(this.file, value, path, allowed);
    });
  }

  /**
   * A nested mapping such as `server:`; absent means all defaults, unless
   * `required`, when a missing or empty value is an error.
   */
  section(key: string, allowed: readonly string[], options: { required?: boolean } = {}): Fields {
    const node = this.value(key);
    if (node === undefined && options.required) {
      this.fail(key, 'must be a mapping (got nothing)');
    }
    if (node !== undefined && !isMap(node)) {
      this.fail(key, `must be a mapping (got ${describeNode(node)})`);
    }
    return new Fields(this.file, node, this.child(key), allowed);
  }

  /** A string-or-number value run through a units parser such as parseDuration. */
  withUnits(
    key: string,
    parse: (text: string | number, field: string) => number,
  ): number | undefined {
    const node = this.value(key);
    if (node === undefined) return undefined;
    const raw = isScalar(node) ? node.value : undefined;
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      this.fail(key, `must be a string or a number (got ${describeNode(node)})`);
    }
    try {
      return parse(raw, this.child(key));
    } catch (error) {
      if (!(error instanceof WardenError)) throw error;
      return this.file.fail(node, error.message, this.child(key));
    }
  }

  child(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  private describe(): string {
    return this.path || 'top-level';
  }
}

export function describeNode(node: Value | undefined): string {
  if (node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  return typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.value);
}

/** `{ key: value }` when the value is present, so absent optionals stay absent. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Config read from files is frozen so nothing downstream can change it by accident. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
