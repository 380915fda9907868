import type { Role } from '../core/access.js';
import type { AlertType, NormalizedAlert, SeverityLabel } from '../core/alert.js';
import type { Case, CasePhase, ClosureReason } from '../core/case.js';
import type { ContainmentDecision, ContainmentIntent } from '../core/containment-policy.js';
import type { SourcePosition } from '../core/source-position.js';

/**
 * A playbook as loaded from `playbooks/*.yaml`: validated against the JSON
 * Schema, every CEL expression compiled, every reference (step ids, goto
 * targets, inputs, sub-playbooks) resolved, and the whole object deeply
 * frozen. The runner executes these; nothing here performs I/O.
 *
 * Field names are camelCase; the YAML keys they come from are snake_case
 * (`on_error` → `onError`). See docs/playbooks.md for the format.
 */
export interface Playbook {
  /** `^[a-z][a-z0-9-]*$`, unique across the playbook directory. */
  readonly id: string;
  /** A positive integer the author bumps on each change; runs record it. */
  readonly version: number;
  readonly title: string;
  readonly description?: string;
  /** Who maintains the playbook (a person or a team address). */
  readonly owner: string;
  readonly trigger: PlaybookTrigger;
  /** Parameters a calling playbook passes (`playbook:` steps), in file order. */
  readonly inputs: readonly PlaybookInput[];
  /** Non-empty; executed in order unless a step jumps with `goto`. */
  readonly steps: readonly Step[];
  readonly handoff: Handoff;
  /** Inline tests; the runner executes them, the loader only checks their shape. */
  readonly tests: readonly PlaybookTest[];
  /** The file the playbook was read from and where its `id` is written. */
  readonly source: SourcePosition;
}

/**
 * What starts a playbook: a case opened by an alert (the router, when there
 * is one, picks among these), or a case closing (every such playbook whose
 * conditions hold starts, e.g. to resolve the page or the ticket it opened).
 */
export const PLAYBOOK_TRIGGER_EVENTS = ['new_case', 'case_closed'] as const;
export type PlaybookTriggerEvent = (typeof PLAYBOOK_TRIGGER_EVENTS)[number];

/** When a playbook starts on its own. Both conditions must hold when both are given. */
export interface PlaybookTrigger {
  readonly on: PlaybookTriggerEvent;
  /**
   * Alert types that start the playbook; empty means any type (then `when`
   * decides). On `case_closed`: any of the case's alert types.
   */
  readonly types: readonly AlertType[];
  /** Boolean CEL over `alert` and `case` only. */
  readonly when?: CompiledExpression;
}

export const PLAYBOOK_INPUT_TYPES = ['string', 'number', 'boolean', 'list', 'map'] as const;
export type PlaybookInputType = (typeof PLAYBOOK_INPUT_TYPES)[number];

/** One declared input, visible to expressions as `inputs.<name>`. */
export interface PlaybookInput {
  /** `^[a-z][a-z0-9_]*$` */
  readonly name: string;
  readonly type: PlaybookInputType;
  /** A caller must pass it. @default false */
  readonly required: boolean;
  /** Used when a caller does not pass the input; already checked against `type`. */
  readonly default?: JsonValue;
  readonly description?: string;
}

/** The step kinds; a step has exactly one of these keys in YAML. */
export const STEP_KINDS = [
  'enrich',
  'decide',
  'act',
  'approval',
  'playbook',
  'case',
  'notify',
  'goto',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** The goto target that finishes the run successfully. */
export const END = 'end';

/** A step: discriminate on `kind`. */
export type Step =
  | EnrichStep
  | DecideStep
  | ActStep
  | ApprovalStep
  | SubPlaybookStep
  | CaseStep
  | NotifyStep
  | GotoStep;

/** What every step kind shares. */
export interface StepCommon {
  /** `^[a-z][a-z0-9_]*$`, unique in the playbook; `steps.<id>` in CEL. */
  readonly id: string;
  /** Position in `Playbook.steps`. */
  readonly index: number;
  readonly kind: StepKind;
  /**
   * Guard evaluated once before the step (before `forEach`; `item` is not
   * bound in it). False skips the step: its status is `skipped` and the run
   * continues with the next step.
   */
  readonly when?: CompiledExpression;
  /**
   * After success, jump to this step id or to {@link END}. Absent: the next
   * step in order (after the last step, the run ends). Never set on `decide`.
   */
  readonly goto?: string;
  /** What happens when the step fails after its retries. @default { kind: 'fail' } */
  readonly onError: OnError;
  /** Where the step is written (its first key). */
  readonly source: SourcePosition;
}

/**
 * Steps that may run once per list item: `forEach` evaluates to a list and
 * the step's templates see each element as `item`.
 */
export interface RepeatableStep {
  readonly forEach?: ForEach;
}

/** Steps with a deadline for one execution (all items of a for_each together). */
export interface TimedStep {
  /** Milliseconds; absent means the runner's default. */
  readonly timeoutMs?: number;
}

/** Steps that call a connector and may retry it. */
export interface RetryableStep {
  readonly retry?: RetryPolicy;
}

export interface ForEach {
  /** CEL evaluating to a list. */
  readonly items: CompiledExpression;
  /** How many items run at once. @default 1 */
  readonly concurrency: number;
}

/**
 * `fail` (default) fails the run; `continue` records the step as failed and
 * goes on with the next step (or the step's `goto`); `goto` jumps to a step.
 * `steps.<id>.error` is set in every case.
 */
export type OnError =
  | { readonly kind: 'fail' }
  | { readonly kind: 'continue' }
  | { readonly kind: 'goto'; readonly target: string };

/**
 * Exponential backoff: the n-th retry (1-based) waits
 * `min(initialMs * factor^(n-1), maxMs)`.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (so up to `count + 1` attempts). */
  readonly count: number;
  /** @default 1000 */
  readonly initialMs: number;
  /** @default 30000 */
  readonly maxMs: number;
  /** @default 2 */
  readonly factor: number;
  /**
   * Error codes to retry. Absent: every error the connector marks
   * `retryable` is retried.
   */
  readonly on?: readonly string[];
}

export const RETRY_DEFAULTS = Object.freeze({ initialMs: 1000, maxMs: 30_000, factor: 2 });

/** Reads from a connector; should have no side effects. */
export interface EnrichStep extends StepCommon, RepeatableStep, TimedStep, RetryableStep {
  readonly kind: 'enrich';
  /** Connector instance name, as configured. */
  readonly connector: string;
  readonly action: string;
  /** Rendered per execution (per item with forEach); `{}` when absent in YAML. */
  readonly input: Template;
  /** Keep the response on the case as evidence (`evidence: true`). */
  readonly keepEvidence?: boolean;
}

/** Changes something outside Warden through a connector. */
export interface ActStep extends StepCommon, RepeatableStep, TimedStep, RetryableStep {
  readonly kind: 'act';
  readonly connector: string;
  readonly action: string;
  /**
   * Containment intent: the runner consults the containment policy matrix
   * for it before acting, and binds the decision as `policy` in the step's
   * expressions.
   */
  readonly intent?: ContainmentIntent;
  readonly input: Template;
}

/** Chooses the next step: the first branch whose `when` is true, else `default`. */
export interface DecideStep extends StepCommon {
  readonly kind: 'decide';
  readonly branches: readonly DecideBranch[];
  /** Step id or {@link END}. */
  readonly default: string;
}

export interface DecideBranch {
  readonly when: CompiledExpression;
  /** Step id or {@link END}. */
  readonly goto: string;
}

export const APPROVAL_TIMEOUT_OUTCOMES = ['deny', 'approve', 'escalate'] as const;
export type ApprovalTimeoutOutcome = (typeof APPROVAL_TIMEOUT_OUTCOMES)[number];

/** Waits for a person holding one of `approvers` to approve or deny. */
export interface ApprovalStep extends StepCommon {
  readonly kind: 'approval';
  /** Any one of these roles may answer. */
  readonly approvers: readonly Role[];
  readonly message: Template;
  readonly timeoutMs: number;
  /** @default 'deny' */
  readonly onTimeout: ApprovalTimeoutOutcome;
  /** Non-empty exactly when `onTimeout` is `escalate`. */
  readonly escalateTo: readonly Role[];
}

/** Runs another playbook (by id) on the same alert and case, with inputs. */
export interface SubPlaybookStep extends StepCommon, RepeatableStep, TimedStep {
  readonly kind: 'playbook';
  /** The called playbook's id; it exists and calls form no cycle. */
  readonly playbook: string;
  /** Renders to a map of the callee's input names to values. */
  readonly input: Template;
}

/** Changes the case. At least one field is set; `close` only with `note`. */
export interface CaseStep extends StepCommon {
  readonly kind: 'case';
  readonly phase?: CasePhase;
  readonly severity?: SeverityLabel;
  /** Closing is done with `close`. */
  readonly status?: 'open' | 'in_progress';
  /** A timeline comment. */
  readonly note?: Template;
  /** A task for the analyst. */
  readonly task?: Template;
  readonly close?: { readonly reason: ClosureReason; readonly note?: Template };
}

/** Sends a message through a connector (chat, e-mail, log). */
export interface NotifyStep extends StepCommon, RepeatableStep, TimedStep, RetryableStep {
  readonly kind: 'notify';
  readonly connector: string;
  readonly to?: Template;
  readonly message: Template;
}

/** Only jumps. */
export interface GotoStep extends StepCommon {
  readonly kind: 'goto';
  readonly goto: string;
}

/** What the run leaves for the analyst when it finishes. */
export interface Handoff {
  /** Notify the case owner that the run finished. @default false */
  readonly notifyOwner: boolean;
  /** Task texts (templates) added to the case. */
  readonly tasks: readonly Template[];
  /** Values attached to the case as evidence. */
  readonly evidence: readonly CompiledExpression[];
}

export const TEST_APPROVAL_ANSWERS = ['approved', 'denied', 'timeout'] as const;
export type TestApprovalAnswer = (typeof TEST_APPROVAL_ANSWERS)[number];

/** An inline test; all step ids it names exist in the playbook. */
export interface PlaybookTest {
  readonly name: string;
  /** A native alert (the JSON accepted by POST /api/v1/alerts), inline or in a file. */
  readonly alert:
    | { readonly kind: 'inline'; readonly payload: { readonly [key: string]: JsonValue } }
    /** Absolute path, resolved against the playbook file's directory. */
    | { readonly kind: 'file'; readonly path: string };
  /** On `case_closed`: the reason the test case is closed with before the run. */
  readonly closedAs?: ClosureReason;
  /** Fake connector results by step id (enrich, act, notify, playbook steps). */
  readonly responses: Readonly<Record<string, TestResponse>>;
  /**
   * Answers by approval step id, or by act step id for the approval the
   * containment policy asks for before that act; one not listed times out.
   */
  readonly approvals: Readonly<Record<string, TestApprovalAnswer>>;
  readonly expect: TestExpectation;
  readonly source: SourcePosition;
}

export type TestResponse =
  | { readonly output: JsonValue }
  | {
      readonly error: {
        readonly code: string;
        readonly retryable: boolean;
        readonly message?: string;
      };
    };

export interface TestExpectation {
  /** Step ids in the order they ran (skipped steps not included). */
  readonly steps?: readonly string[];
  /** Connector calls of enrich, act and notify steps, in order, with their rendered input. */
  readonly actions?: readonly { readonly step: string; readonly input?: JsonValue }[];
  /** Fields of the case after the run (`Case` field names, e.g. `phase`, `closureReason`). */
  readonly case?: Readonly<Record<string, JsonValue>>;
}

// ---------------------------------------------------------------------------
// Expressions: what the runner evaluates

/** A JSON value: what expressions and templates produce, and what YAML literals are. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** The variables a CEL expression can use. */
export const CEL_VARIABLES = ['alert', 'case', 'steps', 'inputs', 'item', 'policy'] as const;
export type CelVariable = (typeof CEL_VARIABLES)[number];

/**
 * What the runner passes to `evaluate` / `render`. Numbers are plain JS
 * numbers; in CEL every one of them is a `double` (see docs/playbooks.md,
 * "Numbers").
 */
export interface ExpressionContext {
  readonly alert: NormalizedAlert;
  readonly case: Case;
  /** Results of the steps that ran so far, by step id. @default {} */
  readonly steps?: Readonly<Record<string, StepResult>>;
  /** The playbook's inputs, defaults applied. @default {} */
  readonly inputs?: Readonly<Record<string, JsonValue>>;
  /** The current element inside a for_each step. */
  readonly item?: JsonValue;
  /** The containment decision for the current act step's intent. */
  readonly policy?: ContainmentDecision;
}

/**
 * A step as expressions see it (`steps.<id>.status`, `.output`, `.error`).
 * The runner keeps an entry for EVERY step of the playbook (`pending` until
 * it runs; see `pendingStepResults`), so `has(steps.x.output)` is the one
 * test an author needs. `output` is absent when the step produced none
 * (pending, skipped, failed, case, goto steps); for a for_each step it is
 * the list of per-item outputs.
 */
export interface StepResult {
  readonly status: StepStatus;
  readonly output?: JsonValue;
  readonly error?: { readonly code: string; readonly message: string; readonly retryable: boolean };
}

export const STEP_STATUSES = ['pending', 'succeeded', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/**
 * A CEL expression compiled once at load. Evaluation is pure and
 * deterministic; failures throw `WardenError` code `expression_failed`
 * naming the file position and field.
 */
export interface CompiledExpression {
  /** The CEL text as written. */
  readonly source: string;
  /** Where it is in the playbook, e.g. `steps[2].decide[0].when`. */
  readonly field: string;
  readonly position: SourcePosition;
  /** The type CEL inferred at load: `bool`, `string`, `list`, `dyn`, … */
  readonly type: string;
  /** The value as JSON (CEL ints, uints → number, timestamps → ISO-8601 text, …). */
  evaluate(context: ExpressionContext): JsonValue;
  /** Fails unless the value is a boolean. */
  evaluateBoolean(context: ExpressionContext): boolean;
  /** Fails unless the value is a list. */
  evaluateList(context: ExpressionContext): JsonValue[];
}

/**
 * A YAML value whose strings may contain `${{ expr }}`. A string that is
 * exactly one `${{ expr }}` renders to the expression's value with its type;
 * any other string interpolates each value as text. Map keys are literal.
 */
export interface Template {
  /** The YAML value as written. */
  readonly source: JsonValue;
  /** True when there is no `${{ }}` anywhere: `render` returns `source`. */
  readonly isStatic: boolean;
  /** Every expression in the template, in document order. */
  readonly expressions: readonly CompiledExpression[];
  render(context: ExpressionContext): JsonValue;
}
