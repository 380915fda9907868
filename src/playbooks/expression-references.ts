import type { ASTNode } from '@marcbachmann/cel-js';
import type {
  AlertEnrichment,
  AlertObservables,
  AlertSource,
  AllowlistMatch,
  DatasetObservable,
  ModelObservable,
  NormalizedAlert,
  ToolCallObservable,
} from '../core/alert.js';
import type { Case, CaseObservables } from '../core/case.js';
import { suggestion } from './did-you-mean.js';
import type { CelVariable, PlaybookInputType, StepResult } from './playbook.js';

/**
 * Load-time checks of what a CEL expression refers to: every identifier is
 * a variable bound where the expression is written (or a comprehension
 * variable), every `steps.<id>` a step and every `inputs.<name>` a declared
 * input, and every field path into the alert, case, step results and
 * containment decision exists in Warden's models. cel-js type-checks only
 * declared variables, and ours are maps, so without this a typo such as
 * `alert.enrichmnt.tier` would only fail when a run reaches it.
 */

/** What an expression may refer to where it is written. */
export interface ExpressionScope {
  /** Variables bound there. */
  readonly variables: readonly CelVariable[];
  /** Step ids of the playbook (for `steps.<id>`). */
  readonly stepIds: readonly string[];
  /** Declared inputs (for `inputs.<name>`). */
  readonly inputs: readonly { readonly name: string; readonly type: PlaybookInputType }[];
}

/** What the value of a bare expression must be. */
export type ExpectedType = 'bool' | 'list' | 'any';

// The shapes of the variables

type Shape =
  | { readonly kind: 'value'; readonly type: 'string' | 'number' | 'boolean' }
  | { readonly kind: 'any' }
  | { readonly kind: 'list'; readonly items: Shape }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, Shape>> };

const text: Shape = { kind: 'value', type: 'string' };
const num: Shape = { kind: 'value', type: 'number' };
const bool: Shape = { kind: 'value', type: 'boolean' };
const any: Shape = { kind: 'any' };
const list = (items: Shape): Shape => ({ kind: 'list', items });
const texts = list(text);

/**
 * Every key of T must be listed, so that a field added to the alert or case
 * model fails the type check here instead of being reported to playbook
 * authors as an unknown field.
 */
function object<T>(fields: { readonly [K in keyof Required<T>]: Shape }): Shape {
  return { kind: 'object', fields };
}

const ALLOWLIST_MATCH = object<AllowlistMatch>({ list: text, cidr: text, ip: text, reason: text });

const ALERT_SHAPE = object<NormalizedAlert>({
  id: text,
  source: object<AlertSource>({ format: text, product: text, vendor: text, uid: text }),
  type: text,
  title: text,
  description: text,
  severityId: num,
  severity: text,
  confidence: num,
  firstSeen: text,
  lastSeen: text,
  receivedAt: text,
  count: num,
  countIsTotal: bool,
  businessUnit: text,
  observables: object<AlertObservables>({
    ips: texts,
    cidrs: texts,
    users: texts,
    apiKeyIds: texts,
    sessionIds: texts,
    urls: texts,
    model: object<ModelObservable>({ id: text, version: text, endpoint: text, hash: text }),
    dataset: object<DatasetObservable>({ id: text, hash: text, featureStore: text }),
    toolCalls: list(object<ToolCallObservable>({ name: text, arguments: any })),
  }),
  atlasTechniques: texts,
  dedupKey: text,
  enrichment: object<AlertEnrichment>({
    modelId: text,
    modelName: text,
    businessUnit: text,
    tier: num,
    owner: text,
    environment: text,
    blastRadius: texts,
    allowlisted: list(ALLOWLIST_MATCH),
  }),
  caseId: text,
  raw: any,
});

const CASE_SHAPE = object<Case>({
  id: text,
  number: num,
  title: text,
  status: text,
  phase: text,
  severityId: num,
  severity: text,
  severityReason: text,
  severitySetBy: text,
  tier: num,
  businessUnit: text,
  modelIds: texts,
  owner: text,
  assignee: text,
  alertTypes: list(text),
  atlasTechniques: texts,
  observables: object<CaseObservables>({
    ips: texts,
    sourceRanges: texts,
    users: texts,
    apiKeyIds: texts,
    sessionIds: texts,
    datasets: texts,
    datasetHashes: texts,
    toolCalls: texts,
    urls: texts,
  }),
  blastRadius: texts,
  allowlisted: list(ALLOWLIST_MATCH),
  allAllowlisted: bool,
  alertCount: num,
  eventCount: num,
  maxAlertSeverityId: num,
  firstSeen: text,
  lastSeen: text,
  createdAt: text,
  updatedAt: text,
  closedAt: text,
  closureReason: text,
  closureNote: text,
  correlationKeys: texts,
});

/** Field names of a case, e.g. for checking a test's `expect.case`. */
export const CASE_FIELDS: readonly string[] = Object.freeze(
  Object.keys((CASE_SHAPE as { fields: object }).fields),
);

const STEP_RESULT_SHAPE = object<StepResult>({
  status: text,
  output: any,
  error: object<NonNullable<StepResult['error']>>({ code: text, message: text, retryable: bool }),
});

// ContainmentDecision is a union; `approvers` exists only when mode is "approval".
const POLICY_SHAPE: Shape = {
  kind: 'object',
  fields: { intent: text, mode: text, approvers: texts },
};

const INPUT_SHAPES: Record<PlaybookInputType, Shape> = {
  string: text,
  number: num,
  boolean: bool,
  list: list(any),
  map: any,
};

const UNBOUND_VARIABLE_HINTS: Record<CelVariable, string> = {
  alert: 'alert is always bound',
  case: 'case is always bound',
  steps: 'trigger.when sees only alert and case',
  inputs: 'trigger.when sees only alert and case',
  item: 'item is bound only in the fields of a step with for_each (not in its when or for_each)',
  policy: 'policy is bound only in an act step with an intent',
};

/** Macros whose first argument names a variable bound in the other arguments. */
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

// ---------------------------------------------------------------------------
// Reference checking

type Segment =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'index' }
  | { readonly kind: 'dynamic' };

/** A reference resolved to the shape of its value, e.g. `alert.title` → string. */
interface Resolved {
  readonly path: string;
  readonly shape: Shape;
}

class ReferenceChecker {
  readonly problems: string[] = [];

  constructor(private readonly scope: ExpressionScope) {}

  /** Checks `node`; when it is a plain reference, returns what it refers to. */
  walk(node: ASTNode, bound: ReadonlySet<string>): Resolved | undefined {
    switch (node.op) {
      case 'value':
        return undefined;
      case 'id':
        return this.chain(node.args, [], bound);
      case '.':
      case '.?':
      case '[]':
      case '[?]':
        return this.select(node, bound);
      case 'call':
        for (const arg of node.args[1]) this.walk(arg, bound);
        return undefined;
      case 'rcall':
        this.receiverCall(node.args[0], node.args[1], node.args[2], bound);
        return undefined;
      case 'list':
        for (const item of node.args) this.walk(item, bound);
        return undefined;
      case 'map':
        for (const [key, value] of node.args) {
          this.walk(key, bound);
          this.walk(value, bound);
        }
        return undefined;
      case '!_':
      case '-_':
        this.walk(node.args, bound);
        return undefined;
      default:
        for (const arg of node.args) this.walk(arg, bound);
        return undefined;
    }
  }

  private receiverCall(
    name: string,
    receiver: ASTNode,
    args: ASTNode[],
    bound: ReadonlySet<string>,
  ): void {
    const first = args[0];
    if (receiver.op === 'id' && receiver.args === 'cel' && !bound.has('cel') && name === 'bind') {
      // cel.bind(var, init, expr)
      if (first?.op === 'id' && args.length === 3) {
        this.walk(args[1] as ASTNode, bound);
        this.walk(args[2] as ASTNode, new Set([...bound, first.args]));
        return;
      }
    }
    this.walk(receiver, bound);
    if (COMPREHENSIONS.has(name) && first?.op === 'id' && args.length >= 2) {
      const inner = new Set([...bound, first.args]);
      for (const arg of args.slice(1)) this.walk(arg, inner);
      return;
    }
    for (const arg of args) this.walk(arg, bound);
  }

  /** A chain of field selections and indexes, checked from its root variable. */
  private select(node: ASTNode, bound: ReadonlySet<string>): Resolved | undefined {
    const segments: Segment[] = [];
    let current: ASTNode = node;
    for (;;) {
      if (current.op === '.' || current.op === '.?') {
        segments.unshift({ kind: 'field', name: current.args[1] });
        current = current.args[0];
      } else if (current.op === '[]' || current.op === '[?]') {
        const [target, index] = current.args;
        segments.unshift(literalSegment(index));
        if (index.op !== 'value') this.walk(index, bound);
        current = target;
      } else {
        break;
      }
    }
    if (current.op === 'id') return this.chain(current.args, segments, bound);
    this.walk(current, bound);
    return undefined;
  }

  private chain(
    root: string,
    segments: readonly Segment[],
    bound: ReadonlySet<string>,
  ): Resolved | undefined {
    if (bound.has(root)) return undefined;
    if (!isCelVariable(root)) {
      const known = this.scope.variables;
      this.problems.push(
        `unknown variable "${root}"${suggestion(root, known)} (available: ${known.join(', ')})`,
      );
      return undefined;
    }
    if (!this.scope.variables.includes(root)) {
      this.problems.push(`"${root}" is not available here: ${UNBOUND_VARIABLE_HINTS[root]}`);
      return undefined;
    }
    switch (root) {
      case 'alert':
        return this.follow('alert', ALERT_SHAPE, segments);
      case 'case':
        return this.follow('case', CASE_SHAPE, segments);
      case 'policy':
        return this.follow('policy', POLICY_SHAPE, segments);
      case 'item':
        return undefined;
      case 'steps':
        return this.stepReference(segments);
      case 'inputs':
        return this.inputReference(segments);
    }
  }

  private stepReference(segments: readonly Segment[]): Resolved | undefined {
    const [step, ...rest] = segments;
    if (step?.kind !== 'field') return undefined;
    const known = [...new Set(this.scope.stepIds)];
    if (!known.includes(step.name)) {
      this.problems.push(
        `unknown step "${step.name}"${suggestion(step.name, known)} (known: ${known.join(', ')})`,
      );
      return undefined;
    }
    return this.follow(`steps.${step.name}`, STEP_RESULT_SHAPE, rest);
  }

  private inputReference(segments: readonly Segment[]): Resolved | undefined {
    const [input, ...rest] = segments;
    if (input?.kind !== 'field') return undefined;
    const declared = this.scope.inputs.find((i) => i.name === input.name);
    if (!declared) {
      const names = this.scope.inputs.map((i) => i.name);
      this.problems.push(
        `unknown input "${input.name}"${suggestion(input.name, names)} ` +
          `(declared: ${names.length > 0 ? names.join(', ') : 'none'})`,
      );
      return undefined;
    }
    return this.follow(`inputs.${input.name}`, INPUT_SHAPES[declared.type], rest);
  }

  private follow(path: string, shape: Shape, segments: readonly Segment[]): Resolved | undefined {
    let current = shape;
    let at = path;
    for (const segment of segments) {
      switch (current.kind) {
        case 'any':
          return undefined;
        case 'value':
          this.problems.push(`${at} is a ${current.type} and has no fields or elements`);
          return undefined;
        case 'list':
          if (segment.kind === 'field') {
            this.problems.push(
              `${at} is a list: "${segment.name}" is not a field of it (use an index such as [0], or exists/all/map/filter)`,
            );
            return undefined;
          }
          current = current.items;
          at = `${at}[]`;
          break;
        case 'object': {
          if (segment.kind !== 'field') return undefined;
          const next = current.fields[segment.name];
          if (next === undefined) {
            const fields = Object.keys(current.fields);
            const hint = suggestion(segment.name, fields) || ` (fields: ${fields.join(', ')})`;
            this.problems.push(`${at} has no field "${segment.name}"${hint}`);
            return undefined;
          }
          current = next;
          at = `${at}.${segment.name}`;
        }
      }
    }
    return { path: at, shape: current };
  }
}

/** Why a plain reference cannot have the expected type, if it cannot. */
function shapeMismatch(resolved: Resolved, expected: ExpectedType): string | undefined {
  const { shape } = resolved;
  const what =
    shape.kind === 'value'
      ? `a ${shape.type}`
      : shape.kind === 'list'
        ? 'a list'
        : shape.kind === 'object'
          ? 'a map'
          : undefined;
  if (what === undefined) return undefined;
  if (expected === 'bool' && !(shape.kind === 'value' && shape.type === 'boolean')) {
    return `must be a boolean expression, but ${resolved.path} is ${what}`;
  }
  if (expected === 'list' && shape.kind !== 'list') {
    return `must evaluate to a list, but ${resolved.path} is ${what}`;
  }
  return undefined;
}

function literalSegment(node: ASTNode): Segment {
  if (node.op !== 'value') return { kind: 'dynamic' };
  const value = node.args;
  if (typeof value === 'string') return { kind: 'field', name: value };
  if (typeof value === 'bigint' || typeof value === 'number') return { kind: 'index' };
  return { kind: 'dynamic' };
}

function isCelVariable(name: string): name is CelVariable {
  return (
    name === 'alert' ||
    name === 'case' ||
    name === 'steps' ||
    name === 'inputs' ||
    name === 'item' ||
    name === 'policy'
  );
}

/**
 * The first problem with the references of `ast` (all of them, joined), or
 * undefined. A plain reference whose type is known (`alert.title`) is also
 * checked against `expected`.
 */
export function checkReferences(
  ast: ASTNode,
  scope: ExpressionScope,
  expected: ExpectedType,
): string | undefined {
  const checker = new ReferenceChecker(scope);
  const resolved = checker.walk(ast, new Set());
  if (checker.problems.length > 0) return [...new Set(checker.problems)].join('; ');
  return resolved && shapeMismatch(resolved, expected);
}
