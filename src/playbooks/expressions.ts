import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { WardenError } from '../core/errors.js';
import { formatPosition, type SourcePosition } from '../core/source-position.js';
import {
  checkReferences,
  type ExpectedType,
  type ExpressionScope,
} from './expression-references.js';
import type {
  CompiledExpression,
  ExpressionContext,
  JsonObject,
  JsonValue,
  Playbook,
  StepResult,
  Template,
} from './playbook.js';

/**
 * CEL for playbooks, on @marcbachmann/cel-js: compile once at load (parse,
 * check every identifier and field reference against what the playbook and
 * Warden's alert and case models define, type-check), evaluate many times.
 *
 * Numbers: cel-js reads every JS number in the context as a CEL `double`
 * and every integer literal as an `int` (a BigInt), and CEL has no implicit
 * conversion, so `alert.count + 1` would fail. We keep the JSON reading (all
 * context numbers are doubles, as cel-go does for JSON) and add mixed
 * `int`/`double` overloads of `+ - * /` that promote to double, so
 * arithmetic with literals works and the type of a value never depends on
 * whether it happens to be whole. Results go back to plain JSON: ints and
 * uints become numbers (an error beyond 2^53), timestamps ISO-8601 text,
 * durations text like "90s", bytes base64.
 */

export type { ExpectedType, ExpressionScope } from './expression-references.js';
export { CASE_FIELDS } from './expression-references.js';

/** A step in a path to a YAML value: a map key or a list index. */
export type PathSegment = string | number;

/** Where an expression or template is, for errors at load and at run time. */
export interface ExpressionSite {
  /** The field path, e.g. `steps[2].decide[0].when`. */
  readonly field: string;
  readonly position: SourcePosition;
}

/** How the loader tells the compiler where values are and collects problems. */
export interface CompileSites {
  /** Field and position of the value at `path`, relative to the compiled value. */
  siteOf(path: readonly PathSegment[]): ExpressionSite;
  report(path: readonly PathSegment[], message: string): void;
}

// ---------------------------------------------------------------------------
// The CEL environment

const environment = createEnvironment();

function createEnvironment(): Environment {
  const env = new Environment({
    // Templates build maps such as {"ip": alert.observables.ips[0], "count": 1}.
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 2000, maxDepth: 50 },
  })
    .registerVariable('alert', 'map')
    .registerVariable('case', 'map')
    .registerVariable('steps', 'map')
    .registerVariable('inputs', 'map')
    .registerVariable('item', 'dyn')
    .registerVariable('policy', 'map');
  const arithmetic = {
    '+': (a: number, b: number) => a + b,
    '-': (a: number, b: number) => a - b,
    '*': (a: number, b: number) => a * b,
    '/': (a: number, b: number) => a / b,
  };
  for (const [op, apply] of Object.entries(arithmetic)) {
    env.registerOperator(`double ${op} int: double`, (a: number, b: bigint) => apply(a, Number(b)));
    env.registerOperator(`int ${op} double: double`, (a: bigint, b: number) => apply(Number(a), b));
  }
  return env;
}

/** Words CEL reserves: they cannot be step ids or input names (`steps.if` does not parse). */
const CEL_RESERVED = new Set([
  'as',
  'break',
  'const',
  'continue',
  'else',
  'false',
  'for',
  'function',
  'if',
  'import',
  'in',
  'let',
  'loop',
  'namespace',
  'null',
  'package',
  'return',
  'true',
  'var',
  'void',
  'while',
]);

export function isCelReservedWord(name: string): boolean {
  return CEL_RESERVED.has(name);
}

// ---------------------------------------------------------------------------
// Compiling

/**
 * Compiles one bare CEL expression; problems go to `sites.report([])`.
 * Undefined when there was a problem.
 */
export function compileExpression(
  source: string,
  scope: ExpressionScope,
  sites: CompileSites,
  expected: ExpectedType = 'any',
): CompiledExpression | undefined {
  const site = sites.siteOf([]);
  const result = compileCel(source, scope, expected);
  if (typeof result === 'string') {
    sites.report([], result);
    return undefined;
  }
  return new CelExpression(source, site, result.program, result.type);
}

function compileCel(
  source: string,
  scope: ExpressionScope,
  expected: ExpectedType,
): { program: ParseResult; type: string } | string {
  if (source.trim() === '') return 'is an empty expression';
  let program: ParseResult;
  try {
    program = environment.parse(source);
  } catch (error) {
    return `CEL syntax error${celColumn(error)}: ${celSummary(error)} in ${quote(source)}`;
  }
  const problem = checkReferences(program.ast, scope, expected);
  if (problem !== undefined) return problem;
  const checked = program.check();
  if (!checked.valid || checked.type === undefined) {
    return `CEL type error${celColumn(checked.error)}: ${celSummary(checked.error)} in ${quote(source)}`;
  }
  const type = checked.type;
  if (expected === 'bool' && type !== 'bool' && type !== 'dyn') {
    return `must be a boolean expression, but ${quote(source)} is ${article(type)}`;
  }
  if (expected === 'list' && !isListType(type) && type !== 'dyn') {
    return `must evaluate to a list, but ${quote(source)} is ${article(type)}`;
  }
  return { program, type };
}

function isListType(type: string): boolean {
  return type === 'list' || type.startsWith('list<');
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function celSummary(error: unknown): string {
  if (error instanceof Error) {
    const summary = (error as { summary?: unknown }).summary;
    return typeof summary === 'string' ? summary : (error.message.split('\n')[0] ?? '');
  }
  return String(error);
}

function celColumn(error: unknown): string {
  const range = (error as { range?: { start?: unknown } } | undefined)?.range;
  return typeof range?.start === 'number' ? ` at column ${range.start + 1}` : '';
}

function quote(source: string): string {
  return JSON.stringify(source);
}

class CelExpression implements CompiledExpression {
  readonly #program: ParseResult;

  constructor(
    readonly source: string,
    site: ExpressionSite,
    program: ParseResult,
    readonly type: string,
  ) {
    this.field = site.field;
    this.position = site.position;
    this.#program = program;
  }

  readonly field: string;
  readonly position: SourcePosition;

  evaluate(context: ExpressionContext): JsonValue {
    return this.toJson(this.run(context));
  }

  evaluateBoolean(context: ExpressionContext): boolean {
    const value = this.run(context);
    if (typeof value !== 'boolean') {
      throw this.failure(`must evaluate to a boolean, got ${describeCel(value)}`);
    }
    return value;
  }

  evaluateList(context: ExpressionContext): JsonValue[] {
    const value = this.evaluate(context);
    if (!Array.isArray(value)) {
      throw this.failure(`must evaluate to a list, got ${describeCel(value)}`);
    }
    return value;
  }

  private run(context: ExpressionContext): unknown {
    try {
      return this.#program(activation(context)) as unknown;
    } catch (error) {
      throw this.failure(celSummary(error), error);
    }
  }

  /** Errors name the file position, field and expression, e.g. for the run log. */
  private failure(problem: string, cause?: unknown): WardenError {
    const code = (cause as { code?: unknown } | undefined)?.code;
    return new WardenError(
      'expression_failed',
      `${formatPosition(this.position)}: ${this.field}: ${problem} (in ${quote(this.source)})`,
      {
        field: this.field,
        ...(cause === undefined ? {} : { cause }),
        details: {
          ...this.position,
          expression: this.source,
          ...(typeof code === 'string' ? { celCode: code } : {}),
        },
      },
    );
  }

  private toJson(value: unknown): JsonValue {
    try {
      return celToJson(value);
    } catch (error) {
      if (error instanceof UnconvertibleValue) throw this.failure(error.message);
      throw error;
    }
  }
}

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});

function activation(context: ExpressionContext): Record<string, unknown> {
  const variables: Record<string, unknown> = {
    alert: context.alert,
    case: context.case,
    steps: context.steps ?? EMPTY,
    inputs: context.inputs ?? EMPTY,
  };
  if (context.item !== undefined) variables.item = context.item;
  if (context.policy !== undefined) variables.policy = context.policy;
  return variables;
}

/** A CEL value that has no JSON form; the expression turns it into its own error. */
class UnconvertibleValue extends Error {}

/** A CEL value as JSON. */
function celToJson(value: unknown): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new UnconvertibleValue(`the result ${value} is not a finite number`);
      }
      return value;
    case 'bigint':
      return bigintToJson(value);
    case 'undefined':
      return null;
    case 'object':
      return value === null ? null : objectToJson(value);
    default:
      throw new UnconvertibleValue(`cannot convert a ${typeof value} to JSON`);
  }
}

function bigintToJson(value: bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new UnconvertibleValue(`the integer ${value} is too large for a JSON number`);
  }
  return n;
}

function objectToJson(value: object): JsonValue {
  if (Array.isArray(value)) return value.map(celToJson);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  const out: JsonObject = {};
  if (value instanceof Map) {
    for (const [key, item] of value) out[String(key)] = celToJson(item);
    return out;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype === Object.prototype || prototype === null) {
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = celToJson(item);
    }
    return out;
  }
  // cel-js's uint, duration and type values: a uint's valueOf is a BigInt, the
  // others print as CEL writes them ("90s", "int").
  const celValue = value as { valueOf(): unknown; toString(): string };
  const primitive = celValue.valueOf();
  if (typeof primitive === 'bigint') return bigintToJson(primitive);
  return celValue.toString();
}

function describeCel(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (typeof value === 'bigint') return `the int ${value}`;
  if (typeof value === 'number' || typeof value === 'boolean')
    return `the ${typeof value} ${value}`;
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------
// Templates

type TemplatePart = string | CompiledExpression;

type TemplateNode =
  | { readonly kind: 'literal'; readonly value: JsonValue }
  | { readonly kind: 'value'; readonly expression: CompiledExpression }
  | { readonly kind: 'text'; readonly parts: readonly TemplatePart[] }
  | { readonly kind: 'list'; readonly items: readonly TemplateNode[] }
  | { readonly kind: 'map'; readonly entries: readonly (readonly [string, TemplateNode])[] };

const OPEN = '${{';

/**
 * Compiles a YAML value whose strings may contain `${{ expr }}`. Problems
 * are reported at the path of the string inside `value`. Undefined when
 * there was a problem.
 */
export function compileTemplate(
  value: JsonValue,
  scope: ExpressionScope,
  sites: CompileSites,
): Template | undefined {
  const expressions: CompiledExpression[] = [];
  let failed = false;
  const compileAt = (node: JsonValue, path: PathSegment[]): TemplateNode => {
    if (typeof node === 'string') {
      if (!node.includes(OPEN)) return { kind: 'literal', value: node };
      const split = splitTemplate(node);
      if (typeof split === 'string') {
        sites.report(path, split);
        failed = true;
        return { kind: 'literal', value: node };
      }
      const nested: CompileSites = {
        siteOf: (sub) => sites.siteOf([...path, ...sub]),
        report: (sub, message) => sites.report([...path, ...sub], message),
      };
      const parts: TemplatePart[] = [];
      for (const part of split) {
        if (typeof part === 'string') {
          parts.push(part);
          continue;
        }
        const compiled = compileExpression(part.source, scope, nested);
        if (compiled === undefined) failed = true;
        else {
          parts.push(compiled);
          expressions.push(compiled);
        }
      }
      const only = parts[0];
      return parts.length === 1 && typeof only === 'object'
        ? { kind: 'value', expression: only }
        : { kind: 'text', parts };
    }
    if (Array.isArray(node)) {
      const items = node.map((item, index) => compileAt(item, [...path, index]));
      return items.every((item) => item.kind === 'literal')
        ? { kind: 'literal', value: node }
        : { kind: 'list', items };
    }
    if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node).map(
        ([key, item]) => [key, compileAt(item, [...path, key])] as const,
      );
      return entries.every(([, item]) => item.kind === 'literal')
        ? { kind: 'literal', value: node }
        : { kind: 'map', entries };
    }
    return { kind: 'literal', value: node };
  };
  const root = compileAt(value, []);
  return failed ? undefined : new CompiledTemplate(value, root, expressions);
}

/** `text ${{ a }} more` → ["text ", {source: " a "}, " more"]; a string message on error. */
function splitTemplate(value: string): (string | { source: string })[] | string {
  const parts: (string | { source: string })[] = [];
  let position = 0;
  for (;;) {
    const open = value.indexOf(OPEN, position);
    if (open < 0) break;
    if (open > position) parts.push(value.slice(position, open));
    const start = open + OPEN.length;
    const end = closingBraces(value, start);
    if (end < 0) return `has an unterminated "\${{" at character ${open + 1}: close it with "}}"`;
    const source = value.slice(start, end);
    if (source.trim() === '') return `has an empty "\${{ }}" at character ${open + 1}`;
    parts.push({ source });
    position = end + 2;
  }
  if (position < value.length) parts.push(value.slice(position));
  return parts;
}

/** Index of the `}}` closing an expression, skipping CEL strings and nested braces. */
function closingBraces(value: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < value.length) {
    const c = value[i];
    if (c === '"' || c === "'") {
      const triple = value.startsWith(c.repeat(3), i);
      const delimiter = triple ? c.repeat(3) : c;
      i += delimiter.length;
      while (i < value.length && !value.startsWith(delimiter, i)) i += value[i] === '\\' ? 2 : 1;
      i += delimiter.length;
      continue;
    }
    if (c === '{') depth += 1;
    else if (c === '}') {
      if (depth === 0 && value[i + 1] === '}') return i;
      depth = Math.max(0, depth - 1);
    }
    i += 1;
  }
  return -1;
}

class CompiledTemplate implements Template {
  readonly #root: TemplateNode;

  constructor(
    readonly source: JsonValue,
    root: TemplateNode,
    readonly expressions: readonly CompiledExpression[],
  ) {
    this.#root = root;
    this.isStatic = expressions.length === 0;
  }

  readonly isStatic: boolean;

  render(context: ExpressionContext): JsonValue {
    return renderNode(this.#root, context);
  }
}

function renderNode(node: TemplateNode, context: ExpressionContext): JsonValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'value':
      return node.expression.evaluate(context);
    case 'text':
      return node.parts
        .map((part) => (typeof part === 'string' ? part : asText(part.evaluate(context))))
        .join('');
    case 'list':
      return node.items.map((item) => renderNode(item, context));
    case 'map': {
      const out: JsonObject = {};
      for (const [key, item] of node.entries) out[key] = renderNode(item, context);
      return out;
    }
  }
}

/** How a value reads inside text: strings as they are, null as "null", lists and maps as JSON. */
function asText(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value);
}

/** Renders a template (see {@link Template.render}); absent renders to undefined. */
export function renderTemplate(
  template: Template | undefined,
  context: ExpressionContext,
): JsonValue | undefined {
  return template?.render(context);
}

/** `steps` before a run: every step `pending`, so `has(steps.x.output)` never fails. */
export function pendingStepResults(playbook: Pick<Playbook, 'steps'>): Record<string, StepResult> {
  return Object.fromEntries(
    playbook.steps.map((step) => [step.id, { status: 'pending' } satisfies StepResult]),
  );
}
