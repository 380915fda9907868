import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { LineCounter, isAlias, isMap, isNode, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { formatPosition, type SourcePosition } from '../core/source-position.js';
import { closest } from './did-you-mean.js';
import type { PathSegment } from './expressions.js';
import { ERROR_MESSAGES_KEYWORD, PLAYBOOK_SCHEMA } from './playbook-schema.js';

/**
 * One playbook file as a YAML document that remembers where every value is
 * written, and the translation of JSON Schema errors into messages that
 * name the YAML position and field: `file:line:col: steps[1]: problem`.
 */

/** One thing wrong with a playbook, at a position in its file. */
export interface PlaybookProblem {
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
  /** The field, e.g. `steps[2].decide[0].when`; empty for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

/** `file:line:col: path: message`, as printed. */
export function formatProblem(problem: PlaybookProblem): string {
  const where = formatPosition(problem);
  return problem.path
    ? `${where}: ${problem.path}: ${problem.message}`
    : `${where}: ${problem.message}`;
}

/** `steps[2].decide[0].when`; keys that are not identifiers as `input["x-y"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Point at the value (default) or at its key, e.g. for an unknown key. */
export type Anchor = 'value' | 'key';

export class PlaybookDocument {
  readonly problems: PlaybookProblem[] = [];
  /** The document as plain data; undefined when the YAML does not parse. */
  readonly value: unknown;
  private readonly lines = new LineCounter();
  private readonly doc: Document.Parsed;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, {
      lineCounter: this.lines,
      prettyErrors: false,
      uniqueKeys: true,
    });
    if (this.doc.errors.length > 0) {
      for (const error of this.doc.errors) {
        const message =
          error.code === 'MULTIPLE_DOCS'
            ? 'a playbook file holds one YAML document: split the file at "---"'
            : `invalid YAML: ${error.message}`;
        this.problems.push(this.problemAt(error.pos[0], [], message));
      }
      this.value = undefined;
      return;
    }
    this.value = this.doc.toJS({ maxAliasCount: 100 }) as unknown;
  }

  report(path: readonly PathSegment[], message: string, anchor: Anchor = 'value'): void {
    this.problems.push({ ...this.positionOf(path, anchor), path: formatPath(path), message });
  }

  /**
   * Where the value at `path` is written; for a path that does not exist
   * (a missing key), where its nearest existing parent is.
   */
  positionOf(path: readonly PathSegment[], anchor: Anchor = 'value'): SourcePosition {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node);
    for (const [index, segment] of path.entries()) {
      node = this.resolve(node);
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isPair(item) && String(keyValue(this.resolve(item.key))) === String(segment),
        );
        if (!pair) break;
        if (last && anchor === 'key') {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (item === undefined) break;
        node = item;
      } else {
        break;
      }
      offset = rangeStart(node) ?? offset;
    }
    const { line, col } = this.lines.linePos(offset ?? 0);
    return { file: this.file, line, column: col };
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  private problemAt(
    offset: number,
    path: readonly PathSegment[],
    message: string,
  ): PlaybookProblem {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col, path: formatPath(path), message };
  }
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) ? (node as YamlNode).range?.[0] : undefined;
}

function keyValue(node: unknown): unknown {
  return isScalar(node) ? node.value : node;
}

// ---------------------------------------------------------------------------
// Schema validation with readable errors

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, allowUnionTypes: true });
    // An annotation: the messages the loader shows; nothing to validate.
    ajv.addKeyword({ keyword: ERROR_MESSAGES_KEYWORD, schemaType: 'object' });
    validator = ajv.compile(PLAYBOOK_SCHEMA);
  }
  return validator;
}

/** Validates the document against the schema; problems go to `document.report`. */
export function validatePlaybookSchema(document: PlaybookDocument): boolean {
  const validate = schemaValidator();
  if (validate(document.value)) return true;
  const described = readableErrors(validate.errors ?? []).map((error) =>
    describeError(error, instancePath(document.value, error.instancePath)),
  );
  // A misspelt key also leaves its correct spelling missing: say it once.
  const suggested = new Set(
    described.flatMap((d) =>
      d.suggested ? [`${formatPath(d.segments.slice(0, -1))}\u0000${d.suggested}`] : [],
    ),
  );
  const seen = new Set<string>();
  for (const { segments, message, anchor, missing } of described) {
    if (missing !== undefined && suggested.has(`${formatPath(segments)}\u0000${missing}`)) continue;
    const key = `${formatPath(segments)}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    document.report(segments, message, anchor);
  }
  return false;
}

const COMBINATORS = new Set(['oneOf', 'anyOf', 'not', 'propertyNames']);

/**
 * Drops the noise: `if` errors (the `then`/`else` error says it), and the
 * errors inside a failed combinator, which are replaced by one message.
 */
function readableErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const covering = errors.filter(
    (error) =>
      COMBINATORS.has(error.keyword) &&
      (error.keyword !== 'propertyNames' || customMessage(error) !== undefined),
  );
  return errors.filter((error) => {
    if (error.keyword === 'if') return false;
    if (error.keyword === 'propertyNames' && customMessage(error) === undefined) return false;
    return !covering.some(
      (outer) => outer !== error && error.schemaPath.startsWith(`${outer.schemaPath}/`),
    );
  });
}

function customMessage(error: ErrorObject): string | undefined {
  const byKeyword = error.parentSchema?.[ERROR_MESSAGES_KEYWORD] as
    Record<string, string> | undefined;
  return byKeyword?.[error.keyword];
}

/** JSON pointer → path, with list indexes as numbers (looked up in the data). */
function instancePath(data: unknown, pointer: string): PathSegment[] {
  const path: PathSegment[] = [];
  let current = data;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      const index = Number(segment);
      path.push(index);
      current = current[index] as unknown;
    } else {
      path.push(segment);
      current =
        typeof current === 'object' && current !== null
          ? (current as Record<string, unknown>)[segment]
          : undefined;
    }
  }
  return path;
}

interface DescribedError {
  segments: PathSegment[];
  message: string;
  anchor: Anchor;
  /** For an unknown key: the known key it is probably a typo of. */
  suggested?: string;
  /** For a missing required key: its name. */
  missing?: string;
}

function describeError(error: ErrorObject, path: PathSegment[]): DescribedError {
  const params = error.params as Record<string, unknown>;
  const custom = customMessage(error);
  if (error.propertyName !== undefined) {
    const key = error.propertyName;
    return {
      segments: [...path, key],
      message: `key ${JSON.stringify(key)} ${custom ?? plainMessage(error)}`,
      anchor: 'key',
    };
  }
  if (custom !== undefined) {
    const got = error.keyword === 'pattern' ? ` (got ${describeValue(error.data)})` : '';
    return { segments: path, message: `${withFound(error, custom)}${got}`, anchor: 'value' };
  }
  if (error.keyword === 'additionalProperties') {
    const key = String(params.additionalProperty);
    const known = Object.keys(
      (error.parentSchema?.properties as Record<string, unknown> | undefined) ?? {},
    );
    const near = closest(key, known);
    const hint = near
      ? ` (did you mean "${near}"?)`
      : known.length > 0
        ? ` (expected one of: ${known.join(', ')})`
        : '';
    return {
      segments: [...path, key],
      message: `unknown key${hint}`,
      anchor: 'key',
      ...(near === undefined ? {} : { suggested: near }),
    };
  }
  const missing = error.keyword === 'required' ? String(params.missingProperty) : undefined;
  return {
    segments: path,
    message: plainMessage(error),
    anchor: 'value',
    ...(missing === undefined ? {} : { missing }),
  };
}

/** For "exactly one of" rules: which of the alternatives the value has. */
function withFound(error: ErrorObject, message: string): string {
  if (error.keyword !== 'oneOf' || typeof error.data !== 'object' || error.data === null) {
    return message;
  }
  const branches = (error.schema as { required?: string[] }[] | undefined) ?? [];
  if (branches.length === 0 || !branches.every((branch) => Array.isArray(branch.required))) {
    return message;
  }
  const alternatives = [...new Set(branches.flatMap((branch) => branch.required ?? []))];
  const found = alternatives.filter((key) => key in (error.data as object));
  return `${message} (found ${found.length === 0 ? 'none' : found.join(', ')})`;
}

function plainMessage(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `missing required key "${String(params.missingProperty)}"`;
    case 'type':
      return `must be ${typeNames(params.type)} (got ${describeValue(error.data)})`;
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const got = describeValue(error.data);
      const near = typeof error.data === 'string' ? closest(error.data, allowed) : undefined;
      return near
        ? `${got} is not allowed — did you mean "${near}"? (one of: ${allowed.join(', ')})`
        : `must be one of: ${allowed.join(', ')} (got ${got})`;
    }
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    case 'minItems':
      return params.limit === 1
        ? 'must not be empty'
        : `needs at least ${String(params.limit)} items`;
    case 'minLength':
      return params.limit === 1
        ? 'must not be empty'
        : `needs at least ${String(params.limit)} characters`;
    case 'minProperties':
      return params.limit === 1
        ? 'must not be empty'
        : `needs at least ${String(params.limit)} keys`;
    case 'minimum':
      return `must be at least ${String(params.limit)} (got ${describeValue(error.data)})`;
    case 'maximum':
      return `must be at most ${String(params.limit)} (got ${describeValue(error.data)})`;
    case 'exclusiveMinimum':
      return `must be greater than ${String(params.limit)} (got ${describeValue(error.data)})`;
    case 'uniqueItems':
      return `has the same value twice (items ${String(params.j)} and ${String(params.i)})`;
    case 'pattern':
      return `must match ${String(params.pattern)} (got ${describeValue(error.data)})`;
    case 'dependentRequired':
      return `"${String(params.property)}" needs "${String(params.missingProperty)}"`;
    case 'oneOf':
    case 'anyOf':
      return 'does not match any allowed form';
    case 'not':
      return 'is not allowed here';
    default:
      return error.message ?? `fails ${error.keyword}`;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'empty',
};

function typeNames(type: unknown): string {
  const types = String(type).split(',');
  return types.map((t) => TYPE_NAMES[t] ?? t).join(' or ');
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${value}`;
  return typeof value;
}
