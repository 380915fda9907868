import { dirname, resolve } from 'node:path';
import type { Role } from '../core/access.js';
import type { AlertType, SeverityLabel } from '../core/alert.js';
import type { CasePhase, ClosureReason } from '../core/case.js';
import type { ContainmentIntent } from '../core/containment-policy.js';
import { WardenError } from '../core/errors.js';
import { parseDuration } from '../config/units.js';
import {
  CASE_FIELDS,
  compileExpression,
  compileTemplate,
  isCelReservedWord,
  type CompileSites,
  type ExpectedType,
  type ExpressionScope,
  type PathSegment,
} from './expressions.js';
import { suggestion } from './did-you-mean.js';
import { PlaybookDocument, formatPath, validatePlaybookSchema } from './playbook-document.js';
import {
  END,
  RETRY_DEFAULTS,
  STEP_KINDS,
  type ApprovalTimeoutOutcome,
  type CelVariable,
  type CompiledExpression,
  type DecideBranch,
  type ForEach,
  type Handoff,
  type JsonObject,
  type JsonValue,
  type OnError,
  type Playbook,
  type PlaybookInput,
  type PlaybookInputType,
  type PlaybookTriggerEvent,
  type PlaybookTest,
  type RetryPolicy,
  type Step,
  type StepCommon,
  type StepKind,
  type Template,
  type TestApprovalAnswer,
  type TestResponse,
} from './playbook.js';

/**
 * One playbook file → a Playbook: the YAML is checked against the JSON
 * Schema, then for what a schema cannot say (unique step ids, goto targets,
 * durations, CEL and its references, test references). Every problem is
 * collected, none stops the others. References to other playbooks are left
 * to the loader, which sees every file.
 */

export interface CompileOptions {
  /** Checks a test's `alert_file` exists; without it the check is skipped (pure use). */
  readonly fileExists?: (path: string) => boolean;
}

/** A sub-playbook call, for the loader's checks across files. */
export interface SubPlaybookCall {
  readonly stepIndex: number;
  readonly target: string;
  /** The step's `input` map as written. */
  readonly input: JsonObject;
}

export interface CompiledFile {
  readonly document: PlaybookDocument;
  /** Undefined when the file has a problem. */
  readonly playbook: Playbook | undefined;
  /** The `id` as written, when it is a string (also for files with problems). */
  readonly id: string | undefined;
  readonly calls: readonly SubPlaybookCall[];
}

export function compilePlaybookFile(
  file: string,
  text: string,
  options: CompileOptions = {},
): CompiledFile {
  const document = new PlaybookDocument(file, text);
  const value = document.value;
  const rawId = isObject(value) && typeof value.id === 'string' ? value.id : undefined;
  if (document.problems.length > 0) return { document, playbook: undefined, id: rawId, calls: [] };
  if (!isObject(value)) {
    document.report([], 'a playbook file must be a mapping of keys to values');
    return { document, playbook: undefined, id: rawId, calls: [] };
  }
  if (!validatePlaybookSchema(document)) {
    return { document, playbook: undefined, id: rawId, calls: [] };
  }
  const compiler = new PlaybookCompiler(document, value as unknown as RawPlaybook, options);
  const playbook = compiler.compile();
  return {
    document,
    playbook: document.problems.length === 0 ? playbook : undefined,
    id: rawId,
    calls: compiler.calls,
  };
}

// ---------------------------------------------------------------------------
// The YAML as the schema guarantees it

interface RawPlaybook {
  id: string;
  version: number;
  title: string;
  description?: string;
  owner: string;
  trigger: { on?: PlaybookTriggerEvent; types?: AlertType[]; when?: string };
  inputs?: Record<string, RawInput>;
  steps: RawStep[];
  handoff?: { notify_owner?: boolean; tasks?: string[]; evidence?: string[] };
  tests?: RawTest[];
}

interface RawInput {
  type: PlaybookInputType;
  required?: boolean;
  default?: JsonValue;
  description?: string;
}

type Duration = string | number;

interface RawStep {
  id: string;
  when?: string;
  for_each?: string;
  concurrency?: number;
  timeout?: Duration;
  retry?: {
    count: number;
    backoff?: { initial?: Duration; max?: Duration; factor?: number };
    on?: string[];
  };
  on_error?: 'continue' | 'fail' | { goto: string };
  goto?: string;
  enrich?: RawConnectorCall & { evidence?: boolean };
  act?: RawConnectorCall & { intent?: ContainmentIntent };
  decide?: ({ when: string; goto: string } | { default: string })[];
  approval?: {
    approvers: Role[];
    message: string;
    timeout: Duration;
    on_timeout?: ApprovalTimeoutOutcome;
    escalate_to?: Role[];
  };
  playbook?: { id: string; input?: JsonObject };
  case?: {
    phase?: CasePhase;
    severity?: SeverityLabel;
    status?: 'open' | 'in_progress';
    note?: string;
    task?: string;
    close?: { reason: ClosureReason; note?: string };
  };
  notify?: { connector: string; to?: string; message: string };
}

interface RawConnectorCall {
  connector: string;
  action: string;
  input?: JsonValue;
}

interface RawTest {
  name: string;
  alert?: JsonObject;
  alert_file?: string;
  closed_as?: ClosureReason;
  responses?: Record<string, TestResponse>;
  approvals?: Record<string, TestApprovalAnswer>;
  expect: {
    steps?: string[];
    actions?: { step: string; input?: JsonValue }[];
    case?: JsonObject;
  };
}

// ---------------------------------------------------------------------------

/** Which step kinds each common field applies to. */
const APPLIES_TO: Record<'timeout' | 'retry' | 'for_each', readonly StepKind[]> = {
  timeout: ['enrich', 'act', 'notify', 'playbook'],
  retry: ['enrich', 'act', 'notify'],
  for_each: ['enrich', 'act', 'notify', 'playbook'],
};

/** Steps whose outcome comes from outside the playbook, so a test fakes it. */
const RESPONDING_KINDS: readonly StepKind[] = ['enrich', 'act', 'notify', 'playbook'];
/** Steps that call a connector with an input. */
const CALLING_KINDS: readonly StepKind[] = ['enrich', 'act', 'notify'];

const KIND_KEYS = STEP_KINDS.filter((kind) => kind !== 'goto');

class PlaybookCompiler {
  readonly calls: SubPlaybookCall[] = [];
  private readonly stepIds: string[];
  private readonly stepKinds = new Map<string, StepKind>();
  private readonly inputs: PlaybookInput[];

  constructor(
    private readonly document: PlaybookDocument,
    private readonly raw: RawPlaybook,
    private readonly options: CompileOptions,
  ) {
    this.stepIds = raw.steps.map((step) => step.id);
    for (const step of raw.steps) this.stepKinds.set(step.id, kindOf(step));
    this.inputs = this.compileInputs();
  }

  compile(): Playbook | undefined {
    const raw = this.raw;
    this.checkStepIds();
    const trigger = {
      on: raw.trigger.on ?? 'new_case',
      types: raw.trigger.types ?? [],
      ...optional(
        'when',
        this.expression(raw.trigger.when, ['trigger', 'when'], ['alert', 'case'], 'bool'),
      ),
    };
    const steps = raw.steps.map((step, index) => this.compileStep(step, index));
    const handoff = this.compileHandoff();
    const tests = (raw.tests ?? []).map((test, index) => this.compileTest(test, index));
    if (this.document.problems.length > 0) return undefined;
    return {
      id: raw.id,
      version: raw.version,
      title: raw.title,
      ...optional('description', raw.description),
      owner: raw.owner,
      trigger,
      inputs: this.inputs,
      steps: steps.filter((step): step is Step => step !== undefined),
      handoff,
      tests,
      source: this.document.positionOf(['id']),
    };
  }

  // -- inputs and ids -------------------------------------------------------

  private compileInputs(): PlaybookInput[] {
    return Object.entries(this.raw.inputs ?? {}).map(([name, input]) => {
      const path = ['inputs', name];
      if (isCelReservedWord(name)) {
        this.document.report(path, `"${name}" is a reserved word in CEL`, 'key');
      }
      if (input.default !== undefined) {
        if (input.required) {
          this.report([...path, 'default'], 'a required input cannot have a default');
        } else if (!hasInputType(input.default, input.type)) {
          this.report([...path, 'default'], `must be ${INPUT_TYPE_NAMES[input.type]}`);
        }
      }
      return {
        name,
        type: input.type,
        required: input.required ?? false,
        ...optional('default', input.default),
        ...optional('description', input.description),
      };
    });
  }

  private checkStepIds(): void {
    const first = new Map<string, number>();
    this.raw.steps.forEach((step, index) => {
      const path = ['steps', index, 'id'];
      const earlier = first.get(step.id);
      if (earlier !== undefined) {
        this.report(path, `"${step.id}" is already the id of steps[${earlier}]`);
      } else {
        first.set(step.id, index);
      }
      if (step.id === END) {
        this.report(path, `"${END}" is reserved: goto: ${END} finishes the run`);
      } else if (isCelReservedWord(step.id)) {
        this.report(
          path,
          `"${step.id}" is a reserved word in CEL (steps.${step.id} would not parse)`,
        );
      }
    });
  }

  // -- steps ----------------------------------------------------------------

  private compileStep(step: RawStep, index: number): Step | undefined {
    const at = (...rest: PathSegment[]): PathSegment[] => ['steps', index, ...rest];
    const kind = kindOf(step);
    this.checkApplicable(step, kind, index);

    const withPolicy = kind === 'act' && step.act?.intent !== undefined;
    const guardVariables: CelVariable[] = ['alert', 'case', 'steps', 'inputs'];
    if (withPolicy) guardVariables.push('policy');
    const fieldVariables: CelVariable[] =
      step.for_each !== undefined ? [...guardVariables, 'item'] : guardVariables;

    const when = this.expression(step.when, at('when'), guardVariables, 'bool');
    let forEach: ForEach | undefined;
    if (step.for_each !== undefined) {
      const items = this.expression(step.for_each, at('for_each'), guardVariables, 'list');
      if (items) forEach = { items, concurrency: step.concurrency ?? 1 };
    }
    if (step.goto !== undefined) this.checkTarget(at('goto'), step.goto);
    const common: Omit<StepCommon, 'kind'> = {
      id: step.id,
      index,
      ...optional('when', when),
      ...optional('goto', kind === 'decide' ? undefined : step.goto),
      onError: this.onError(step, index),
      source: this.document.positionOf(['steps', index]),
    };
    const timing = {
      ...optional('timeoutMs', this.duration(step.timeout, at('timeout'))),
    };
    const repeat = optional('forEach', forEach);
    const retry = optional('retry', this.retry(step, index));
    const template = (value: JsonValue | undefined, path: PathSegment[]): Template | undefined =>
      value === undefined ? undefined : this.template(value, path, fieldVariables);

    switch (kind) {
      case 'enrich': {
        const call = step.enrich as RawConnectorCall & { evidence?: boolean };
        const input = template(call.input ?? {}, at('enrich', 'input'));
        return (
          input && {
            ...common,
            ...timing,
            ...repeat,
            ...retry,
            kind,
            ...connector(call),
            ...(call.evidence === true ? { keepEvidence: true } : {}),
            input,
          }
        );
      }
      case 'act': {
        const call = step.act as RawConnectorCall & { intent?: ContainmentIntent };
        const input = template(call.input ?? {}, at('act', 'input'));
        return (
          input && {
            ...common,
            ...timing,
            ...repeat,
            ...retry,
            kind,
            ...connector(call),
            ...optional('intent', call.intent),
            input,
          }
        );
      }
      case 'decide':
        return this.decide(step, index, common, guardVariables);
      case 'approval': {
        const approval = step.approval as NonNullable<RawStep['approval']>;
        const message = template(approval.message, at('approval', 'message'));
        const timeoutMs = this.duration(approval.timeout, at('approval', 'timeout'));
        if (!message || timeoutMs === undefined) return undefined;
        return {
          ...common,
          kind,
          approvers: approval.approvers,
          message,
          timeoutMs,
          onTimeout: approval.on_timeout ?? 'deny',
          escalateTo: approval.escalate_to ?? [],
        };
      }
      case 'playbook': {
        const call = step.playbook as NonNullable<RawStep['playbook']>;
        const inputValue = call.input ?? {};
        this.calls.push({ stepIndex: index, target: call.id, input: inputValue });
        const input = template(inputValue, at('playbook', 'input'));
        return input && { ...common, ...timing, ...repeat, kind, playbook: call.id, input };
      }
      case 'case': {
        const change = step.case as NonNullable<RawStep['case']>;
        const note = template(change.note, at('case', 'note'));
        const task = template(change.task, at('case', 'task'));
        const closeNote = template(change.close?.note, at('case', 'close', 'note'));
        return {
          ...common,
          kind,
          ...optional('phase', change.phase),
          ...optional('severity', change.severity),
          ...optional('status', change.status),
          ...optional('note', note),
          ...optional('task', task),
          ...optional(
            'close',
            change.close && { reason: change.close.reason, ...optional('note', closeNote) },
          ),
        };
      }
      case 'notify': {
        const notify = step.notify as NonNullable<RawStep['notify']>;
        const message = template(notify.message, at('notify', 'message'));
        const to = template(notify.to, at('notify', 'to'));
        return (
          message && {
            ...common,
            ...timing,
            ...repeat,
            ...retry,
            kind,
            connector: notify.connector,
            ...optional('to', to),
            message,
          }
        );
      }
      case 'goto':
        return { ...common, kind, goto: step.goto as string };
    }
  }

  private checkApplicable(step: RawStep, kind: StepKind, index: number): void {
    for (const [field, kinds] of Object.entries(APPLIES_TO)) {
      if (step[field as keyof RawStep] === undefined || kinds.includes(kind)) continue;
      const hint = kind === 'approval' && field === 'timeout' ? ' (use approval.timeout)' : '';
      this.report(
        ['steps', index, field],
        `${field} applies only to ${kinds.join(', ')} steps, not to ${withArticle(kind)} step${hint}`,
      );
    }
    if (kind === 'decide' && step.goto !== undefined) {
      this.report(
        ['steps', index, 'goto'],
        'a decide step chooses its next step in its branches: remove goto',
      );
    }
  }

  private decide(
    step: RawStep,
    index: number,
    common: Omit<StepCommon, 'kind'>,
    variables: CelVariable[],
  ): Step | undefined {
    const items = step.decide ?? [];
    const path = ['steps', index, 'decide'];
    const branches: DecideBranch[] = [];
    let defaultTarget: string | undefined;
    items.forEach((item, branch) => {
      if ('default' in item) {
        this.checkTarget([...path, branch, 'default'], item.default);
        if (defaultTarget !== undefined) {
          this.report([...path, branch], 'only one default branch is allowed');
        } else if (branch !== items.length - 1) {
          this.report([...path, branch], 'the default branch must be the last one');
        }
        defaultTarget ??= item.default;
        return;
      }
      this.checkTarget([...path, branch, 'goto'], item.goto);
      const when = this.expression(item.when, [...path, branch, 'when'], variables, 'bool');
      if (when) branches.push({ when, goto: item.goto });
    });
    if (defaultTarget === undefined) {
      this.report(path, 'needs a last branch { default: <step id> } taken when no when is true');
      return undefined;
    }
    return { ...common, kind: 'decide', branches, default: defaultTarget };
  }

  private onError(step: RawStep, index: number): OnError {
    const value = step.on_error;
    if (value === undefined || value === 'fail') return { kind: 'fail' };
    if (value === 'continue') return { kind: 'continue' };
    this.checkTarget(['steps', index, 'on_error', 'goto'], value.goto);
    return { kind: 'goto', target: value.goto };
  }

  private retry(step: RawStep, index: number): RetryPolicy | undefined {
    const retry = step.retry;
    if (retry === undefined) return undefined;
    const path = ['steps', index, 'retry', 'backoff'];
    const initialMs =
      this.duration(retry.backoff?.initial, [...path, 'initial']) ?? RETRY_DEFAULTS.initialMs;
    const maxMs = this.duration(retry.backoff?.max, [...path, 'max']) ?? RETRY_DEFAULTS.maxMs;
    if (maxMs < initialMs) {
      this.report(
        retry.backoff?.max === undefined ? [...path, 'initial'] : [...path, 'max'],
        `backoff.max (${maxMs} ms) is shorter than backoff.initial (${initialMs} ms)`,
      );
    }
    return {
      count: retry.count,
      initialMs,
      maxMs,
      factor: retry.backoff?.factor ?? RETRY_DEFAULTS.factor,
      ...optional('on', retry.on),
    };
  }

  private checkTarget(path: PathSegment[], target: string): void {
    if (target === END || this.stepIds.includes(target)) return;
    const known = [...new Set([...this.stepIds, END])];
    this.report(
      path,
      `unknown step "${target}"${suggestion(target, known)} (known: ${known.join(', ')})`,
    );
  }

  // -- handoff and tests ----------------------------------------------------

  private compileHandoff(): Handoff {
    const handoff = this.raw.handoff ?? {};
    const variables: CelVariable[] = ['alert', 'case', 'steps', 'inputs'];
    const tasks = (handoff.tasks ?? []).map((task, index) =>
      this.template(task, ['handoff', 'tasks', index], variables),
    );
    const evidence = (handoff.evidence ?? []).map((expression, index) =>
      this.expression(expression, ['handoff', 'evidence', index], variables, 'any'),
    );
    return {
      notifyOwner: handoff.notify_owner ?? false,
      tasks: tasks.filter((task): task is Template => task !== undefined),
      evidence: evidence.filter((e): e is CompiledExpression => e !== undefined),
    };
  }

  private compileTest(test: RawTest, index: number): PlaybookTest {
    const at = (...rest: PathSegment[]): PathSegment[] => ['tests', index, ...rest];
    let alert: PlaybookTest['alert'];
    if (test.alert_file !== undefined) {
      const path = resolve(dirname(this.document.file), test.alert_file);
      if (this.options.fileExists && !this.options.fileExists(path)) {
        this.report(at('alert_file'), `file not found: ${path}`);
      }
      alert = { kind: 'file', path };
    } else {
      alert = { kind: 'inline', payload: test.alert ?? {} };
    }
    for (const stepId of Object.keys(test.responses ?? {})) {
      this.checkStepReference(at('responses', stepId), stepId, RESPONDING_KINDS, 'key');
    }
    for (const stepId of Object.keys(test.approvals ?? {})) {
      this.checkStepReference(at('approvals', stepId), stepId, ['approval', 'act'], 'key');
    }
    (test.expect.steps ?? []).forEach((stepId, i) => {
      this.checkStepReference(at('expect', 'steps', i), stepId, STEP_KINDS, 'value');
    });
    (test.expect.actions ?? []).forEach((action, i) => {
      this.checkStepReference(
        at('expect', 'actions', i, 'step'),
        action.step,
        CALLING_KINDS,
        'value',
      );
    });
    for (const field of Object.keys(test.expect.case ?? {})) {
      if (!CASE_FIELDS.includes(field)) {
        this.document.report(
          at('expect', 'case', field),
          `a case has no field "${field}"${suggestion(field, CASE_FIELDS)}`,
          'key',
        );
      }
    }
    if (test.closed_as !== undefined && this.raw.trigger.on !== 'case_closed') {
      this.report(
        at('closed_as'),
        'only a playbook with trigger on: case_closed closes its test case',
      );
    }
    return {
      name: test.name,
      alert,
      ...optional('closedAs', test.closed_as),
      responses: test.responses ?? {},
      approvals: test.approvals ?? {},
      expect: {
        ...optional('steps', test.expect.steps),
        ...optional('actions', test.expect.actions),
        ...optional('case', test.expect.case),
      },
      source: this.document.positionOf(['tests', index]),
    };
  }

  private checkStepReference(
    path: PathSegment[],
    stepId: string,
    kinds: readonly StepKind[],
    anchor: 'key' | 'value',
  ): void {
    const kind = this.stepKinds.get(stepId);
    if (kind === undefined) {
      const known = [...new Set(this.stepIds)];
      this.document.report(
        path,
        `unknown step "${stepId}"${suggestion(stepId, known)} (known: ${known.join(', ')})`,
        anchor,
      );
    } else if (!kinds.includes(kind)) {
      this.document.report(
        path,
        `step "${stepId}" is ${withArticle(kind)} step; only ${kinds.join(', ')} steps belong here`,
        anchor,
      );
    }
  }

  // -- helpers --------------------------------------------------------------

  private scope(variables: readonly CelVariable[]): ExpressionScope {
    return { variables, stepIds: this.stepIds, inputs: this.inputs };
  }

  private sites(path: readonly PathSegment[]): CompileSites {
    return {
      siteOf: (sub) => ({
        field: formatPath([...path, ...sub]),
        position: this.document.positionOf([...path, ...sub]),
      }),
      report: (sub, message) => this.report([...path, ...sub], message),
    };
  }

  private expression(
    source: string | undefined,
    path: PathSegment[],
    variables: readonly CelVariable[],
    expected: ExpectedType,
  ): CompiledExpression | undefined {
    if (source === undefined) return undefined;
    return compileExpression(source, this.scope(variables), this.sites(path), expected);
  }

  private template(
    value: JsonValue,
    path: PathSegment[],
    variables: readonly CelVariable[],
  ): Template | undefined {
    return compileTemplate(value, this.scope(variables), this.sites(path));
  }

  private duration(value: Duration | undefined, path: PathSegment[]): number | undefined {
    if (value === undefined) return undefined;
    const field = formatPath(path);
    try {
      return parseDuration(value, field);
    } catch (error) {
      if (!(error instanceof WardenError)) throw error;
      this.report(
        path,
        error.message.startsWith(field) ? error.message.slice(field.length + 1) : error.message,
      );
      return undefined;
    }
  }

  private report(path: readonly PathSegment[], message: string): void {
    this.document.report(path, message);
  }
}

function kindOf(step: RawStep): StepKind {
  return KIND_KEYS.find((kind) => step[kind] !== undefined) ?? 'goto';
}

function withArticle(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function connector(call: RawConnectorCall): { connector: string; action: string } {
  return { connector: call.connector, action: call.action };
}

const INPUT_TYPE_NAMES: Record<PlaybookInputType, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  list: 'a list',
  map: 'a mapping',
};

/** Whether a literal value fits an input type. */
export function hasInputType(value: JsonValue, type: PlaybookInputType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'map':
      return isObject(value);
  }
}

export function inputTypeName(type: PlaybookInputType): string {
  return INPUT_TYPE_NAMES[type];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ key: value }` when the value is present, so absent optionals stay absent. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
