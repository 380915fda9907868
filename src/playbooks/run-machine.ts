import type { Role } from '../core/access.js';
import type { NormalizedAlert, SeverityLabel } from '../core/alert.js';
import type { Case, CasePhase, ClosureReason } from '../core/case.js';
import {
  decideContainment,
  type ContainmentDecision,
  type ContainmentIntent,
  type ContainmentPolicy,
} from '../core/containment-policy.js';
import { WardenError } from '../core/errors.js';
import { pendingStepResults } from './expressions.js';
import {
  END,
  type ActStep,
  type ApprovalStep,
  type ApprovalTimeoutOutcome,
  type CompiledExpression,
  type ExpressionContext,
  type JsonValue,
  type Playbook,
  type Step,
  type StepResult,
} from './playbook.js';

/**
 * The pure heart of a playbook run. Given the playbook, the run's state and
 * the outcome of the last command, it decides what happens next and says
 * why (the trace). It performs no I/O and reads no clock, so the same inputs
 * always give the same run: the durable executor replays nothing it has
 * recorded, and `warden playbook test` drives exactly this code with canned
 * connector responses.
 *
 * Conditions (`when`, `decide`, policy) are evaluated here; everything with
 * an effect (a connector call, an approval, a case change, a sub-playbook) is
 * returned as a command for the executor to carry out and report back.
 */

export type RunStatus = 'running' | 'waiting' | 'succeeded' | 'failed';

export interface StepError {
  code: string;
  message: string;
  retryable: boolean;
  /** From a rate-limited connector: wait at least this long before retrying. */
  retryAfterMs?: number;
}

/** Who answered an approval (`by.role` is checked against the policy's approvers). */
export interface ApprovalAnswer {
  approved: boolean;
  by: { name: string; role: Role | 'timeout' };
}

/** Everything a run must remember between commands; JSON, stored with the run. */
export interface RunState {
  status: RunStatus;
  /** Index of the current step; `steps.length` once the run has finished. */
  cursor: number;
  /** One entry per step of the playbook (`pending` until it runs). */
  steps: Record<string, StepResult>;
  inputs: Record<string, JsonValue>;
  /** Attempt of the current step's call, from 1. */
  attempt: number;
  /** The current step's guard was evaluated and it was entered (retries and approvals do not re-enter). */
  entered: boolean;
  /** The current approval was escalated once already. */
  escalated: boolean;
  /** Approvals given in this run, by step id (an act step's policy approval is kept under its own id). */
  approvals: Record<string, ApprovalAnswer>;
  /** Ids of the steps that ran (not skipped), in order. */
  path: string[];
  error?: StepError & { stepId?: string };
}

/** What the run sees of the world; the executor passes the current case each time. */
export interface RunEnvironment {
  alert: NormalizedAlert;
  case: Case;
  policy: ContainmentPolicy;
}

export type TraceEvent =
  | { kind: 'run_started'; playbook: string; version: number; inputs: Record<string, JsonValue> }
  | { kind: 'step_skipped'; stepId: string; reason: string }
  | {
      kind: 'branch';
      stepId: string;
      conditions: { when: string; value: boolean }[];
      goto: string;
    }
  | { kind: 'policy'; stepId: string; decision: ContainmentDecision; satisfiedBy?: string }
  | { kind: 'step_started'; stepId: string; attempt: number }
  | { kind: 'step_succeeded'; stepId: string; output?: JsonValue }
  | { kind: 'step_failed'; stepId: string; error: StepError; next: string }
  | { kind: 'retry_scheduled'; stepId: string; attempt: number; delayMs: number }
  | { kind: 'approval_answered'; stepId: string; answer: ApprovalAnswer }
  | { kind: 'run_finished'; status: 'succeeded' | 'failed'; error?: StepError };

export interface ConnectorCallSpec {
  /** Index in the for_each list; null for a step without for_each. */
  item: number | null;
  input: JsonValue;
}

/** The rendered change a `case` step asks for. */
export interface CaseCommandUpdate {
  phase?: CasePhase;
  severity?: SeverityLabel;
  status?: 'open' | 'in_progress';
  note?: string;
  task?: string;
  close?: { reason: ClosureReason; note?: string };
}

export interface RenderedHandoff {
  notifyOwner: boolean;
  tasks: string[];
  evidence: JsonValue[];
}

export type RunCommand =
  | {
      kind: 'call';
      stepId: string;
      stepKind: 'enrich' | 'act' | 'notify';
      connector: string;
      action: string;
      calls: ConnectorCallSpec[];
      concurrency: number;
      timeoutMs?: number;
      attempt: number;
      decision?: ContainmentDecision;
      /** An enrich step's `evidence: true`: keep each response on the case. */
      keepEvidence?: boolean;
    }
  | {
      kind: 'approval';
      stepId: string;
      approvers: Role[];
      message: string;
      timeoutMs: number;
      /** Asked for by the containment policy before an act step, not by an approval step. */
      forPolicy: boolean;
    }
  | { kind: 'case'; stepId: string; update: CaseCommandUpdate }
  | {
      kind: 'playbook';
      stepId: string;
      playbook: string;
      calls: { item: number | null; inputs: Record<string, JsonValue> }[];
      concurrency: number;
    }
  | { kind: 'wait'; stepId: string; delayMs: number }
  | {
      kind: 'finish';
      status: 'succeeded' | 'failed';
      error?: StepError & { stepId?: string };
      handoff: RenderedHandoff;
    };

/** What the executor reports after carrying out a command. */
export type StepOutcome =
  | { kind: 'succeeded'; output?: JsonValue }
  | { kind: 'failed'; error: StepError }
  | { kind: 'answered'; answer: ApprovalAnswer }
  | { kind: 'timed_out' }
  | { kind: 'waited' };

export interface Advance {
  state: RunState;
  command: RunCommand;
  trace: TraceEvent[];
}

/** The action a `notify` step calls on its connector, with input `{ to, message }`. */
export const NOTIFY_ACTION = 'notify';
/**
 * The action an approval request is announced through when a connector has
 * it: a case summary with the approval's approve/deny links (`slack`).
 * Others get `notify` with a message.
 */
export const POST_CASE_ACTION = 'post_case';

/** Default approval window when a policy asks for approval before an act step. */
export const POLICY_APPROVAL_TIMEOUT_MS = 60 * 60 * 1000;

const policyApprovalId = (stepId: string): string => `${stepId}#policy`;

function expressionFailure(error: unknown): StepError {
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: error instanceof WardenError ? error.code : 'expression_failed',
    message,
    retryable: false,
  };
}

function asText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function asInputs(value: JsonValue): Record<string, JsonValue> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
  throw new WardenError('expression_failed', 'a playbook step input must render to a map');
}

/** Starts a run: applies input defaults and advances to the first command. */
export function startRun(
  playbook: Playbook,
  env: RunEnvironment,
  inputs: Record<string, JsonValue> = {},
): Advance {
  const resolved: Record<string, JsonValue> = {};
  for (const input of playbook.inputs) {
    const value = inputs[input.name] ?? input.default;
    if (value === undefined) {
      if (input.required) {
        throw new WardenError(
          'invalid_field',
          `playbook ${playbook.id} needs input "${input.name}"`,
          { field: `inputs.${input.name}` },
        );
      }
      continue;
    }
    resolved[input.name] = value;
  }
  const state: RunState = {
    status: 'running',
    cursor: 0,
    steps: pendingStepResults(playbook),
    inputs: resolved,
    attempt: 1,
    entered: false,
    escalated: false,
    approvals: {},
    path: [],
  };
  const trace: TraceEvent[] = [
    { kind: 'run_started', playbook: playbook.id, version: playbook.version, inputs: resolved },
  ];
  return new RunStepper(playbook, state, env, trace).advance();
}

/** Feeds the outcome of the last command back and advances to the next command. */
export function resumeRun(
  playbook: Playbook,
  previous: RunState,
  env: RunEnvironment,
  outcome: StepOutcome,
): Advance {
  const stepper = new RunStepper(playbook, nextState(previous), env, []);
  return stepper.resume(outcome);
}

/**
 * A copy of `previous` for the stepper to change, leaving `previous` as it
 * was. The stepper only sets top-level fields, replaces entries of `steps`
 * and `approvals` and appends to `path`, so those are copied one level deep
 * and what lies under them (step outputs, answers, inputs) is shared: a deep
 * copy of every step's output at every step was most of a run's allocations.
 */
function nextState(previous: RunState): RunState {
  return {
    ...previous,
    steps: { ...previous.steps },
    approvals: { ...previous.approvals },
    path: [...previous.path],
  };
}

class RunStepper {
  constructor(
    private readonly playbook: Playbook,
    private readonly state: RunState,
    private readonly env: RunEnvironment,
    private readonly trace: TraceEvent[],
  ) {}

  private context(item?: JsonValue, policy?: ContainmentDecision): ExpressionContext {
    return {
      alert: this.env.alert,
      case: this.env.case,
      steps: this.state.steps,
      inputs: this.state.inputs,
      ...(item === undefined ? {} : { item }),
      ...(policy === undefined ? {} : { policy }),
    };
  }

  private get step(): Step | undefined {
    return this.playbook.steps[this.state.cursor];
  }

  private indexOf(target: string): number {
    if (target === END) return this.playbook.steps.length;
    const index = this.playbook.steps.findIndex((s) => s.id === target);
    // The loader resolved every target; a miss means a corrupted stored state.
    if (index < 0) throw new WardenError('internal', `unknown step "${target}"`);
    return index;
  }

  private nextAfterSuccess(step: Step): number {
    return step.goto !== undefined ? this.indexOf(step.goto) : step.index + 1;
  }

  private moveTo(index: number): void {
    this.state.cursor = index;
    this.state.attempt = 1;
    this.state.entered = false;
    this.state.escalated = false;
  }

  private succeed(step: Step, output?: JsonValue): void {
    this.state.steps[step.id] = {
      status: 'succeeded',
      ...(output === undefined ? {} : { output }),
    };
    this.trace.push({
      kind: 'step_succeeded',
      stepId: step.id,
      ...(output === undefined ? {} : { output }),
    });
    this.moveTo(this.nextAfterSuccess(step));
  }

  /** A step failed for good (retries spent): its on_error decides what follows. */
  private fail(step: Step, error: StepError): Advance | undefined {
    this.state.steps[step.id] = { status: 'failed', error };
    const onError = step.onError;
    const next =
      onError.kind === 'fail'
        ? 'fail the run'
        : onError.kind === 'continue'
          ? 'continue'
          : `goto ${onError.target}`;
    this.trace.push({ kind: 'step_failed', stepId: step.id, error, next });
    if (onError.kind === 'fail') return this.finish('failed', { ...error, stepId: step.id });
    this.moveTo(
      onError.kind === 'continue' ? this.nextAfterSuccess(step) : this.indexOf(onError.target),
    );
    return undefined;
  }

  resume(outcome: StepOutcome): Advance {
    const step = this.step;
    if (!step || this.state.status === 'succeeded' || this.state.status === 'failed') {
      throw new WardenError('conflict', 'the run has already finished');
    }
    this.state.status = 'running';
    const done = this.applyOutcome(step, outcome);
    return done ?? this.advance();
  }

  private applyOutcome(step: Step, outcome: StepOutcome): Advance | undefined {
    switch (outcome.kind) {
      case 'waited':
        // A retry's backoff has elapsed: run the same step again.
        return undefined;
      case 'succeeded':
        this.succeed(step, outcome.output);
        return undefined;
      case 'failed':
        return this.failOrRetry(step, outcome.error);
      case 'answered':
        return this.answer(step, outcome.answer);
      case 'timed_out':
        return this.approvalTimedOut(step);
    }
  }

  private failOrRetry(step: Step, error: StepError): Advance | undefined {
    const retry = 'retry' in step ? step.retry : undefined;
    // A listed code is retried only when the connector says retrying is safe: an uncertain write is not.
    const retryable = error.retryable && (!retry?.on || retry.on.includes(error.code));
    if (retry && retryable && this.state.attempt <= retry.count) {
      const backoff = Math.min(
        retry.initialMs * retry.factor ** (this.state.attempt - 1),
        retry.maxMs,
      );
      const delayMs = Math.max(backoff, error.retryAfterMs ?? 0);
      this.state.attempt += 1;
      this.state.status = 'waiting';
      this.trace.push({
        kind: 'retry_scheduled',
        stepId: step.id,
        attempt: this.state.attempt,
        delayMs,
      });
      return this.emit({ kind: 'wait', stepId: step.id, delayMs });
    }
    return this.fail(step, error);
  }

  private answer(step: Step, answer: ApprovalAnswer): Advance | undefined {
    const forPolicy = step.kind === 'act';
    this.state.approvals[forPolicy ? policyApprovalId(step.id) : step.id] = answer;
    this.trace.push({ kind: 'approval_answered', stepId: step.id, answer });
    if (answer.approved) {
      // An approved act step goes on to its call, which advance() now issues.
      if (!forPolicy) this.succeed(step, { approved: true, by: answer.by.name });
      return undefined;
    }
    return this.fail(step, {
      code: 'approval_denied',
      message: `${answer.by.name} denied the approval`,
      retryable: false,
    });
  }

  private approvalTimedOut(step: Step): Advance | undefined {
    const onTimeout: ApprovalTimeoutOutcome = step.kind === 'approval' ? step.onTimeout : 'deny';
    if (onTimeout === 'escalate' && step.kind === 'approval' && !this.state.escalated) {
      this.state.escalated = true;
      this.state.status = 'waiting';
      return this.emit({
        kind: 'approval',
        stepId: step.id,
        approvers: [...step.escalateTo],
        message: this.renderMessage(step),
        timeoutMs: step.timeoutMs,
        forPolicy: false,
      });
    }
    if (onTimeout === 'approve') {
      return this.answer(step, { approved: true, by: { name: 'timeout', role: 'timeout' } });
    }
    return this.fail(step, {
      code: 'approval_timeout',
      message: 'nobody answered the approval in time',
      retryable: false,
    });
  }

  private renderMessage(step: ApprovalStep): string {
    return asText(step.message.render(this.context()));
  }

  private emit(command: RunCommand): Advance {
    if (command.kind !== 'finish') {
      // Waiting: on a person or a timer. Running: the executor has the command in hand.
      this.state.status =
        command.kind === 'approval' || command.kind === 'wait' ? 'waiting' : 'running';
    }
    return { state: this.state, command, trace: this.trace };
  }

  private finish(status: 'succeeded' | 'failed', error?: StepError & { stepId?: string }): Advance {
    this.state.status = status;
    this.state.cursor = this.playbook.steps.length;
    if (error) this.state.error = error;
    let handoff: RenderedHandoff = {
      notifyOwner: this.playbook.handoff.notifyOwner,
      tasks: [],
      evidence: [],
    };
    try {
      handoff = {
        notifyOwner: this.playbook.handoff.notifyOwner,
        tasks: this.playbook.handoff.tasks.map((t) => asText(t.render(this.context()))),
        evidence: this.playbook.handoff.evidence.map((e) => e.evaluate(this.context())),
      };
    } catch (failure) {
      // The run's outcome stands; a handoff that cannot render is reported, not fatal.
      handoff.tasks.push(`Handoff could not be rendered: ${expressionFailure(failure).message}`);
    }
    this.trace.push({ kind: 'run_finished', status, ...(error ? { error } : {}) });
    return this.emit({ kind: 'finish', status, ...(error ? { error } : {}), handoff });
  }

  /** Evaluates steps until one needs the executor, or the run ends. */
  advance(): Advance {
    // Each pass moves the cursor or returns; a decide loop in a playbook is bounded by this guard.
    for (let guard = 0; guard < 10_000; guard += 1) {
      const step = this.step;
      if (!step) return this.finish('succeeded');
      try {
        const result = this.evaluate(step);
        if (result) return result;
      } catch (error) {
        const done = this.fail(step, expressionFailure(error));
        if (done) return done;
      }
    }
    return this.finish('failed', {
      code: 'step_limit',
      message: 'the run took 10,000 steps without finishing: does a decide loop forever?',
      retryable: false,
    });
  }

  /** One step: a command to emit, or undefined after moving the cursor. */
  private evaluate(step: Step): Advance | undefined {
    if (!this.state.entered) {
      if (step.when && !step.when.evaluateBoolean(this.context())) {
        this.state.steps[step.id] = { status: 'skipped' };
        this.trace.push({
          kind: 'step_skipped',
          stepId: step.id,
          reason: `when: ${step.when.source} is false`,
        });
        this.moveTo(step.index + 1);
        return undefined;
      }
      if (step.kind === 'act' && step.intent && this.skippedByPolicy(step, step.intent)) {
        return undefined;
      }
      this.state.entered = true;
      this.state.path.push(step.id);
      this.trace.push({ kind: 'step_started', stepId: step.id, attempt: 1 });
    }

    switch (step.kind) {
      case 'goto':
        this.succeed(step);
        return undefined;
      case 'decide': {
        const conditions: { when: string; value: boolean }[] = [];
        let target = step.default;
        for (const branch of step.branches) {
          const value = branch.when.evaluateBoolean(this.context());
          conditions.push({ when: branch.when.source, value });
          if (value) {
            target = branch.goto;
            break;
          }
        }
        this.trace.push({ kind: 'branch', stepId: step.id, conditions, goto: target });
        this.state.steps[step.id] = { status: 'succeeded', output: target };
        this.moveTo(this.indexOf(target));
        return undefined;
      }
      case 'enrich':
      case 'notify':
        return this.call(step, undefined);
      case 'act':
        return this.act(step);
      case 'approval':
        return this.emit({
          kind: 'approval',
          stepId: step.id,
          approvers: [...(this.state.escalated ? step.escalateTo : step.approvers)],
          message: this.renderMessage(step),
          timeoutMs: step.timeoutMs,
          forPolicy: false,
        });
      case 'case': {
        const context = this.context();
        const update: CaseCommandUpdate = {
          ...(step.phase ? { phase: step.phase } : {}),
          ...(step.severity ? { severity: step.severity } : {}),
          ...(step.status ? { status: step.status } : {}),
          ...(step.note ? { note: asText(step.note.render(context)) } : {}),
          ...(step.task ? { task: asText(step.task.render(context)) } : {}),
          ...(step.close
            ? {
                close: {
                  reason: step.close.reason,
                  ...(step.close.note ? { note: asText(step.close.note.render(context)) } : {}),
                },
              }
            : {}),
        };
        return this.emit({ kind: 'case', stepId: step.id, update });
      }
      case 'playbook': {
        const calls = this.items(step.forEach?.items).map((entry) => ({
          item: entry.index,
          inputs: asInputs(step.input.render(this.context(entry.value))),
        }));
        return this.emit({
          kind: 'playbook',
          stepId: step.id,
          playbook: step.playbook,
          calls,
          concurrency: step.forEach?.concurrency ?? 1,
        });
      }
    }
  }

  /** An act the policy forbids or only recommends is skipped, with the reason traced. */
  private skippedByPolicy(step: ActStep, intent: ContainmentIntent): boolean {
    const decision = decideContainment(this.env.alert, intent, this.env.policy);
    if (decision.mode !== 'forbidden' && decision.mode !== 'notify_only') return false;
    this.trace.push({ kind: 'policy', stepId: step.id, decision });
    this.state.steps[step.id] = {
      status: 'skipped',
      output: { performed: false, policy: decision.mode },
    };
    this.trace.push({
      kind: 'step_skipped',
      stepId: step.id,
      reason:
        decision.mode === 'forbidden'
          ? `the containment policy does not allow ${intent} here`
          : `the containment policy only recommends ${intent} here (notify only)`,
    });
    this.moveTo(this.nextAfterSuccess(step));
    return true;
  }

  private act(step: ActStep): Advance | undefined {
    if (!step.intent) {
      return this.call(step, undefined);
    }
    const decision = decideContainment(this.env.alert, step.intent, this.env.policy);
    if (decision.mode === 'approval') {
      const satisfiedBy = this.approvalCovering(decision.approvers, step.id);
      if (!satisfiedBy) {
        this.trace.push({ kind: 'policy', stepId: step.id, decision });
        return this.emit({
          kind: 'approval',
          stepId: step.id,
          approvers: [...decision.approvers],
          message: `Approve ${step.intent} (${step.connector}.${step.action}) for case #${this.env.case.number}?`,
          timeoutMs: POLICY_APPROVAL_TIMEOUT_MS,
          forPolicy: true,
        });
      }
      this.trace.push({ kind: 'policy', stepId: step.id, decision, satisfiedBy });
    } else {
      this.trace.push({ kind: 'policy', stepId: step.id, decision });
    }
    return this.call(step, decision);
  }

  /** An approval given earlier in this run by a person holding one of `roles`. */
  private approvalCovering(roles: readonly Role[], stepId: string): string | undefined {
    for (const [id, answer] of Object.entries(this.state.approvals)) {
      if (!answer.approved || answer.by.role === 'timeout') continue;
      if (!roles.includes(answer.by.role)) continue;
      if (id === policyApprovalId(stepId) || !id.endsWith('#policy')) {
        return `${id} (approved by ${answer.by.name})`;
      }
    }
    return undefined;
  }

  private items(
    expression: CompiledExpression | undefined,
  ): { index: number | null; value?: JsonValue }[] {
    if (!expression) return [{ index: null }];
    return expression.evaluateList(this.context()).map((value, index) => ({ index, value }));
  }

  private call(
    step: Extract<Step, { kind: 'enrich' | 'act' | 'notify' }>,
    decision: ContainmentDecision | undefined,
  ): Advance | undefined {
    const entries = this.items(step.forEach?.items);
    if (entries.length === 0) {
      // for_each over an empty list: nothing to do, and nothing failed.
      this.succeed(step, []);
      return undefined;
    }
    const calls = entries.map((entry) => {
      const context = this.context(entry.value, decision);
      const input =
        step.kind === 'notify'
          ? {
              ...(step.to ? { to: asText(step.to.render(context)) } : {}),
              message: asText(step.message.render(context)),
            }
          : step.input.render(context);
      return { item: entry.index, input };
    });
    return this.emit({
      kind: 'call',
      stepId: step.id,
      stepKind: step.kind,
      connector: step.connector,
      action: step.kind === 'notify' ? NOTIFY_ACTION : step.action,
      calls,
      concurrency: step.forEach?.concurrency ?? 1,
      ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }),
      attempt: this.state.attempt,
      ...(decision ? { decision } : {}),
      ...(step.kind === 'enrich' && step.keepEvidence ? { keepEvidence: true } : {}),
    });
  }
}
