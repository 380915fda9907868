import type { AlertFacts } from '../core/alert.js';
import type { Case, CaseChange } from '../core/case.js';
import type { ContainmentPolicy } from '../core/containment-policy.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { PlaybookRouter } from '../core/playbook-router.js';
import { applyCaseStep } from '../playbooks/case-step.js';
import type { JsonValue, Playbook } from '../playbooks/playbook.js';
import {
  resumeRun,
  startRun,
  type Advance,
  type RunCommand,
  type RunEnvironment,
  type RunState,
  type StepError,
  type StepOutcome,
  type TraceEvent,
} from '../playbooks/run-machine.js';
import { triggersForNewCase } from '../playbooks/run-trigger.js';
import type {
  ApprovalRecord,
  EffectRecord,
  PlaybookRunRecord,
  RunEventDraft,
  Store,
  StoreTransaction,
} from '../store/store.js';
import { GroupCommitter } from './group-committer.js';

/**
 * What the executor needs of a connector: the connectors module implements
 * it (a registry of guarded connectors); tests pass fakes.
 */
export interface ExecutorConnectors {
  call(
    connector: string,
    request: {
      action: string;
      input: JsonValue;
      idempotencyKey: string;
      attempt: number;
      signal: AbortSignal;
    },
  ): Promise<{ output: JsonValue; exchange?: unknown }>;
  /** After a crash between sending and recording a write: did it happen? */
  reconcile(
    connector: string,
    request: {
      action: string;
      input: JsonValue;
      idempotencyKey: string;
      attempt: number;
      signal: AbortSignal;
    },
  ): Promise<
    | { state: 'done'; output: JsonValue; exchange?: unknown }
    | { state: 'not_done' }
    | { state: 'unknown' }
  >;
}

/** A connector failure as the executor sees it (ConnectorError fits). */
interface CallFailure {
  code: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  exchange?: unknown;
}

export interface PlaybookExecutorOptions {
  store: Store;
  playbooks: readonly Playbook[];
  router: PlaybookRouter;
  policy: ContainmentPolicy;
  connectors: ExecutorConnectors;
  /** @default () => new Date() */
  clock?: () => Date;
  /**
   * Runs in progress at once; more wait, durably queued in the store.
   * @default 256
   */
  maxActiveRuns?: number;
  /** How often the store is asked for due runs (timers, answered approvals, restarts). @default 200 */
  pollMs?: number;
  /** Deadline of a connector step without its own `timeout`. @default 30000 */
  defaultStepTimeoutMs?: number;
}

const ACTOR = (playbookId: string): string => `playbook:${playbookId}`;

function failureOf(error: unknown): CallFailure {
  if (error && typeof error === 'object' && 'code' in error && 'retryable' in error) {
    const e = error as CallFailure & Error;
    return {
      code: String(e.code),
      message: e.message,
      retryable: Boolean(e.retryable),
      ...(typeof e.retryAfterMs === 'number' ? { retryAfterMs: e.retryAfterMs } : {}),
      ...(e.exchange === undefined ? {} : { exchange: e.exchange }),
    };
  }
  return {
    code: 'internal',
    message: error instanceof Error ? error.message : String(error),
    retryable: false,
  };
}

const stepError = ({ code, message, retryable, retryAfterMs }: CallFailure): StepError => ({
  code,
  message,
  retryable,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});

/** What performing a command gave: an outcome to feed back, or a reason to wait. */
type Performed =
  { kind: 'outcome'; outcome: StepOutcome } | { kind: 'suspend'; wakeAt: string | null };

/**
 * Runs playbooks durably. Every run and every step's state is in the store:
 * the machine's state and the command it is carrying out are written before
 * the command is performed, a write action is recorded as sent before the
 * call and with its result after, so after a crash each run continues from
 * its last recorded step and a call in doubt is reconciled, not repeated.
 *
 * Writes from many runs share transactions (group commit), so the cost of a
 * durable step is one share of a commit, not one commit.
 */
export class PlaybookExecutor {
  private readonly store: Store;
  private readonly playbooks: ReadonlyMap<string, Playbook>;
  private readonly options: PlaybookExecutorOptions;
  private readonly clock: () => Date;
  private readonly committer: GroupCommitter;
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private repoll = false;
  private stopped = false;

  constructor(options: PlaybookExecutorOptions) {
    this.options = options;
    this.store = options.store;
    this.playbooks = new Map(options.playbooks.map((p) => [p.id, p]));
    this.clock = options.clock ?? (() => new Date());
    this.committer = new GroupCommitter(options.store);
  }

  private now(): string {
    return this.clock().toISOString();
  }

  // ------------------------------------------------------------------ triggering

  /**
   * Called inside the transaction that opens a case: queues the runs the
   * router and the playbooks' triggers choose, in that same transaction, so
   * a committed case never misses its playbooks.
   */
  async queueRunsForNewCase(tx: StoreTransaction, c: Case, alert: AlertFacts): Promise<number> {
    const chosen = triggersForNewCase(alert, c, this.options.router, this.playbooks);
    const now = this.now();
    if (!Array.isArray(chosen)) return 0;
    for (const trigger of chosen) {
      const playbook = this.playbooks.get(trigger.playbookId) as Playbook;
      const run = this.newRun(playbook, c, alert.id, now, {}, null);
      await tx.insertRun(run);
      await tx.appendRunEvents(run.id, [
        { at: now, kind: 'run_queued', stepId: null, data: { reason: trigger.reason } },
      ]);
      await tx.appendTimeline({
        id: uuidv7(),
        caseId: c.id,
        at: now,
        actor: ACTOR(playbook.id),
        kind: 'playbook_started',
        message: `playbook ${playbook.id} v${playbook.version} queued: ${trigger.reason}`,
        data: { runId: run.id, playbookId: playbook.id, version: playbook.version },
      });
    }
    return chosen.length;
  }

  private newRun(
    playbook: Playbook,
    c: Pick<Case, 'id' | 'businessUnit'>,
    alertId: string,
    now: string,
    inputs: Record<string, JsonValue>,
    parent: { runId: string; stepId: string } | null,
  ): PlaybookRunRecord {
    return {
      id: uuidv7(),
      playbookId: playbook.id,
      playbookVersion: playbook.version,
      caseId: c.id,
      alertId,
      businessUnit: c.businessUnit,
      parentRunId: parent?.runId ?? null,
      parentStepId: parent?.stepId ?? null,
      status: 'queued',
      wakeAt: null,
      state: { inputs },
      command: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
  }

  // ------------------------------------------------------------------ the loop

  /** Starts looking for due runs (queued, woken, or left running by a crash). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Looks for due runs now (new runs were queued, an approval was answered). */
  wake(): void {
    if (this.stopped) return;
    if (this.polling) this.repoll = true;
    else this.schedule(0);
  }

  /** Stops taking runs and waits for the steps in progress to be recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.active.size > 0 || this.polling) {
      await Promise.allSettled([...this.active.values()]);
      await new Promise((r) => setImmediate(r));
    }
    await this.committer.drain();
  }

  /** Resolves when no run has work it can do now (tests, `warden playbook run`). */
  async idle(): Promise<void> {
    for (;;) {
      await this.poll();
      if (this.active.size === 0) return;
      await Promise.allSettled([...this.active.values()]);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling) {
      this.repoll = true;
      return;
    }
    this.polling = true;
    try {
      do {
        this.repoll = false;
        const room = (this.options.maxActiveRuns ?? 256) - this.active.size;
        if (room <= 0) break;
        const due = await this.store.dueRuns(this.now(), room + this.active.size);
        for (const run of due) {
          if (this.active.size >= (this.options.maxActiveRuns ?? 256)) break;
          if (this.active.has(run.id)) continue;
          const work = this.drive(run)
            .catch(() => undefined)
            .finally(() => {
              this.active.delete(run.id);
              this.wake();
            });
          this.active.set(run.id, work);
        }
      } while (this.repoll && !this.stopped);
    } finally {
      this.polling = false;
      this.schedule(this.options.pollMs ?? 200);
    }
  }

  // ------------------------------------------------------------------ one run

  private async environment(run: PlaybookRunRecord): Promise<RunEnvironment> {
    const [alert, c] = await Promise.all([
      this.store.getAlert(run.alertId),
      this.store.getCase(run.caseId),
    ]);
    if (!alert || !c) {
      throw new WardenError('not_found', `run ${run.id}: its ${alert ? 'case' : 'alert'} is gone`);
    }
    return { alert, case: c, policy: this.options.policy };
  }

  /** Carries a run forward until it waits or finishes. */
  private async drive(initial: PlaybookRunRecord): Promise<void> {
    let run = initial;
    const playbook = this.playbooks.get(run.playbookId);
    if (!playbook) {
      await this.abandon(run, 'unknown_playbook', `playbook ${run.playbookId} is no longer loaded`);
      return;
    }
    let env = await this.environment(run);
    for (;;) {
      if (this.stopped) return;
      let advance: Advance;
      if (run.command === null) {
        const inputs = (run.state as { inputs?: Record<string, JsonValue> }).inputs ?? {};
        try {
          advance = startRun(playbook, env, inputs);
        } catch (error) {
          await this.abandon(run, 'invalid_input', (error as Error).message);
          return;
        }
      } else {
        const state = run.state as RunState;
        const performed = await this.perform(run, playbook, state, run.command as RunCommand, env);
        if (performed.kind === 'suspend') {
          await this.suspend(run, performed.wakeAt);
          return;
        }
        // A case step changed the case the next expressions read.
        if ((run.command as RunCommand).kind === 'case') env = await this.environment(run);
        advance = resumeRun(playbook, state, env, performed.outcome);
      }
      run = await this.record(run, playbook, advance);
      if (advance.command.kind === 'finish') {
        await this.finished(run, playbook, advance);
        return;
      }
    }
  }

  /** Writes the machine's new state, its pending command and its trace in one (shared) commit. */
  private record(
    run: PlaybookRunRecord,
    playbook: Playbook,
    advance: Advance,
  ): Promise<PlaybookRunRecord> {
    const now = this.now();
    const finished = advance.command.kind === 'finish';
    const next: PlaybookRunRecord = {
      ...run,
      playbookVersion: playbook.version,
      status: finished
        ? (advance.command as Extract<RunCommand, { kind: 'finish' }>).status
        : advance.state.status === 'waiting'
          ? 'waiting'
          : 'running',
      wakeAt: null,
      state: advance.state,
      command: finished ? null : advance.command,
      updatedAt: now,
      finishedAt: finished ? now : null,
    };
    const events = advance.trace.map((t) => traceEvent(t, now));
    return this.committer.run(async (tx) => {
      await tx.updateRun(next);
      await tx.appendRunEvents(run.id, events);
      return next;
    });
  }

  private async suspend(run: PlaybookRunRecord, wakeAt: string | null): Promise<void> {
    await this.committer.run((tx) =>
      tx.updateRun({ ...run, status: 'waiting', wakeAt, updatedAt: this.now() }),
    );
  }

  private async abandon(run: PlaybookRunRecord, code: string, message: string): Promise<void> {
    const now = this.now();
    await this.committer.run(async (tx) => {
      await tx.updateRun({
        ...run,
        status: 'failed',
        command: null,
        updatedAt: now,
        finishedAt: now,
      });
      await tx.appendRunEvents(run.id, [
        {
          at: now,
          kind: 'run_finished',
          stepId: null,
          data: { status: 'failed', error: { code, message } },
        },
      ]);
    });
  }

  // ------------------------------------------------------------------ commands

  private perform(
    run: PlaybookRunRecord,
    playbook: Playbook,
    state: RunState,
    command: RunCommand,
    env: RunEnvironment,
  ): Promise<Performed> {
    switch (command.kind) {
      case 'call':
        return this.performCall(run, state, command);
      case 'approval':
        return this.performApproval(run, state, command, env.case);
      case 'case':
        return this.performCase(run, playbook, state, command);
      case 'wait':
        return Promise.resolve(this.performWait(run, command));
      case 'playbook':
        return this.performSubPlaybooks(run, state, command, env.case);
      case 'finish':
        throw new WardenError('internal', `run ${run.id} has a finish command pending`);
    }
  }

  /** The call's key: the same for every attempt and after restarts, distinct per visit of a step. */
  private effectKey(
    run: PlaybookRunRecord,
    state: RunState,
    stepId: string,
    item: number | null,
  ): string {
    return `${run.id}/${state.path.length}/${stepId}/${item ?? '-'}`;
  }

  private async performCall(
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'call' }>,
  ): Promise<Performed> {
    const timeoutMs = command.timeoutMs ?? this.options.defaultStepTimeoutMs ?? 30_000;
    const signal = AbortSignal.timeout(timeoutMs);
    const writes = command.stepKind !== 'enrich';
    const outputs: JsonValue[] = new Array<JsonValue>(command.calls.length).fill(null);
    let failure: CallFailure | undefined;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < command.calls.length && !failure) {
        const index = next++;
        const call = command.calls[index] as (typeof command.calls)[number];
        const key = this.effectKey(run, state, command.stepId, call.item);
        const request = {
          action: command.action,
          input: call.input,
          idempotencyKey: key,
          attempt: command.attempt,
          signal,
        };
        const result = writes
          ? await this.effectfulCall(run, command, key, call.item, request)
          : await this.options.connectors.call(command.connector, request).then(
              (r) => ({ ok: true as const, output: r.output }),
              (error: unknown) => ({ ok: false as const, failure: failureOf(error) }),
            );
        if (result.ok) outputs[index] = result.output;
        else failure ??= result.failure;
      }
    };
    await Promise.all(
      Array.from(
        { length: Math.max(1, Math.min(command.concurrency, command.calls.length)) },
        worker,
      ),
    );
    if (failure) return { kind: 'outcome', outcome: { kind: 'failed', error: stepError(failure) } };
    const single = command.calls.length === 1 && command.calls[0]?.item === null;
    return {
      kind: 'outcome',
      outcome: { kind: 'succeeded', output: single ? (outputs[0] ?? null) : outputs },
    };
  }

  /**
   * A write: recorded as sent (durably) before the call, and with its result
   * after. Found already succeeded, it is not sent again; found sent (a crash
   * in between), the connector reconciles it.
   */
  private async effectfulCall(
    run: PlaybookRunRecord,
    command: Extract<RunCommand, { kind: 'call' }>,
    key: string,
    item: number | null,
    request: Parameters<ExecutorConnectors['call']>[1],
  ): Promise<{ ok: true; output: JsonValue } | { ok: false; failure: CallFailure }> {
    const existing = await this.store.getEffect(key);
    const attemptOf = (e: EffectRecord): number =>
      (e.error as { attempt?: number } | null)?.attempt ?? 0;
    if (existing?.status === 'succeeded') return { ok: true, output: existing.output as JsonValue };
    if (existing?.status === 'failed' && attemptOf(existing) >= command.attempt) {
      const error = existing.error as CallFailure;
      return { ok: false, failure: error };
    }
    const base: EffectRecord = {
      idempotencyKey: key,
      runId: run.id,
      stepId: command.stepId,
      item,
      connector: command.connector,
      action: command.action,
      input: request.input,
      status: 'sent',
      output: null,
      error: null,
      exchange: null,
      sentAt: this.now(),
      finishedAt: null,
    };
    let outcome:
      { ok: true; output: JsonValue; exchange?: unknown } | { ok: false; failure: CallFailure };
    if (existing?.status === 'sent') {
      // Sent before a crash, result never recorded: ask, do not repeat blindly.
      const answer = await this.options.connectors
        .reconcile(command.connector, request)
        .catch(() => ({ state: 'unknown' as const }));
      if (answer.state === 'done')
        outcome = { ok: true, output: answer.output, exchange: answer.exchange };
      else if (answer.state === 'not_done') outcome = await this.send(command.connector, request);
      else {
        outcome = {
          ok: false,
          failure: {
            code: 'effect_unknown',
            message: `${command.connector}.${command.action} may have been sent before a restart and its result cannot be checked; it was not repeated`,
            retryable: false,
          },
        };
      }
    } else {
      await this.committer.run((tx) => tx.putEffect(base));
      outcome = await this.send(command.connector, request);
    }
    const now = this.now();
    await this.committer.run(async (tx) => {
      await tx.putEffect(
        outcome.ok
          ? {
              ...base,
              status: 'succeeded',
              output: outcome.output,
              exchange: outcome.exchange ?? null,
              finishedAt: now,
            }
          : {
              ...base,
              status: 'failed',
              error: { ...stepError(outcome.failure), attempt: command.attempt },
              exchange: outcome.failure.exchange ?? null,
              finishedAt: now,
            },
      );
      if (command.stepKind === 'act') {
        await tx.appendTimeline({
          id: uuidv7(),
          caseId: run.caseId,
          at: now,
          actor: ACTOR(run.playbookId),
          kind: 'action_taken',
          message: outcome.ok
            ? `${command.connector}.${command.action} done (step ${command.stepId})`
            : `${command.connector}.${command.action} failed: ${outcome.failure.code} (step ${command.stepId})`,
          data: { runId: run.id, stepId: command.stepId, idempotencyKey: key, ok: outcome.ok },
        });
      }
    });
    return outcome.ok ? { ok: true, output: outcome.output } : outcome;
  }

  private send(
    connector: string,
    request: Parameters<ExecutorConnectors['call']>[1],
  ): Promise<
    { ok: true; output: JsonValue; exchange?: unknown } | { ok: false; failure: CallFailure }
  > {
    return this.options.connectors.call(connector, request).then(
      (r) => ({
        ok: true as const,
        output: r.output,
        ...(r.exchange === undefined ? {} : { exchange: r.exchange }),
      }),
      (error: unknown) => ({ ok: false as const, failure: failureOf(error) }),
    );
  }

  private approvalId(run: PlaybookRunRecord, state: RunState, stepId: string): string {
    // Used in URLs (/api/v1/approvals/:id), so no slashes.
    return `${run.id}.${state.path.length}.${stepId}.${state.escalated ? 2 : 1}`;
  }

  private async performApproval(
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'approval' }>,
    c: Case,
  ): Promise<Performed> {
    const id = this.approvalId(run, state, command.stepId);
    const existing = await this.store.getApproval(id);
    const now = this.now();
    if (!existing) {
      const approval: ApprovalRecord = {
        id,
        runId: run.id,
        stepId: command.stepId,
        caseId: run.caseId,
        businessUnit: c.businessUnit,
        status: 'pending',
        approvers: command.approvers,
        message: command.message,
        requestedAt: now,
        deadline: new Date(Date.parse(now) + command.timeoutMs).toISOString(),
        answeredBy: null,
        answeredRole: null,
        answeredAt: null,
        comment: null,
      };
      await this.committer.run(async (tx) => {
        await tx.insertApproval(approval);
        await tx.appendTimeline({
          id: uuidv7(),
          caseId: run.caseId,
          at: now,
          actor: ACTOR(run.playbookId),
          kind: 'approval_requested',
          message: `approval needed from ${command.approvers.join(' or ')}: ${command.message}`,
          data: {
            approvalId: id,
            runId: run.id,
            stepId: command.stepId,
            deadline: approval.deadline,
          },
        });
      });
      return { kind: 'suspend', wakeAt: approval.deadline };
    }
    if (existing.status === 'approved' || existing.status === 'denied') {
      return {
        kind: 'outcome',
        outcome: {
          kind: 'answered',
          answer: {
            approved: existing.status === 'approved',
            by: { name: existing.answeredBy ?? 'unknown', role: existing.answeredRole ?? 'admin' },
          },
        },
      };
    }
    if (existing.status === 'timed_out') return { kind: 'outcome', outcome: { kind: 'timed_out' } };
    if (existing.deadline > now) return { kind: 'suspend', wakeAt: existing.deadline };
    try {
      await this.committer.run((tx) =>
        tx.updateApproval({ ...existing, status: 'timed_out', answeredAt: now }),
      );
    } catch (error) {
      // Answered just before the deadline passed: the answer stands.
      if (error instanceof WardenError && error.code === 'conflict') {
        return this.performApproval(run, state, command, c);
      }
      throw error;
    }
    return { kind: 'outcome', outcome: { kind: 'timed_out' } };
  }

  private async performCase(
    run: PlaybookRunRecord,
    playbook: Playbook,
    state: RunState,
    command: Extract<RunCommand, { kind: 'case' }>,
  ): Promise<Performed> {
    const key = this.effectKey(run, state, command.stepId, null);
    const done = await this.store.getEffect(key);
    if (done?.status === 'succeeded') return { kind: 'outcome', outcome: { kind: 'succeeded' } };
    const actor = ACTOR(playbook.id);
    try {
      await this.committer.run(async (tx) => {
        const c = await tx.getCase(run.caseId);
        if (!c) throw new WardenError('not_found', `case ${run.caseId} not found`);
        const now = this.now();
        const copy = structuredClone(c);
        const changes: CaseChange[] = applyCaseStep(copy, command.update, now);
        if (changes.length > 0) {
          copy.updatedAt = now;
          await tx.updateCase(copy);
          if (copy.status === 'closed') await tx.removeCorrelationKeys(copy.id);
        }
        for (const change of changes) {
          await tx.appendTimeline({
            id: uuidv7(),
            caseId: copy.id,
            at: now,
            actor,
            kind: change.kind,
            message: change.message,
            data: { ...change.data, runId: run.id, stepId: command.stepId },
          });
          await tx.appendAudit({
            at: now,
            actor,
            action: `case.${change.kind}`,
            subject: copy.id,
            data: {
              message: change.message,
              runId: run.id,
              stepId: command.stepId,
              ...change.data,
            },
          });
        }
        await tx.putEffect({
          idempotencyKey: key,
          runId: run.id,
          stepId: command.stepId,
          item: null,
          connector: 'case',
          action: 'update',
          input: command.update,
          status: 'succeeded',
          output: null,
          error: null,
          exchange: null,
          sentAt: now,
          finishedAt: now,
        });
      });
      return { kind: 'outcome', outcome: { kind: 'succeeded' } };
    } catch (error) {
      const e = error instanceof WardenError ? error : new WardenError('internal', String(error));
      return {
        kind: 'outcome',
        outcome: { kind: 'failed', error: { code: e.code, message: e.message, retryable: false } },
      };
    }
  }

  private performWait(
    run: PlaybookRunRecord,
    command: Extract<RunCommand, { kind: 'wait' }>,
  ): Performed {
    // The wake time is kept with the run, so a restart does not restart the backoff.
    const started = Date.parse(run.updatedAt);
    const wakeAt = new Date(started + command.delayMs).toISOString();
    if (run.status === 'waiting' && run.wakeAt !== null && run.wakeAt <= this.now()) {
      return { kind: 'outcome', outcome: { kind: 'waited' } };
    }
    return { kind: 'suspend', wakeAt: run.wakeAt ?? wakeAt };
  }

  private async performSubPlaybooks(
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'playbook' }>,
    c: Case,
  ): Promise<Performed> {
    const callee = this.playbooks.get(command.playbook);
    if (!callee) {
      return {
        kind: 'outcome',
        outcome: {
          kind: 'failed',
          error: {
            code: 'unknown_playbook',
            message: `playbook ${command.playbook} is not loaded`,
            retryable: false,
          },
        },
      };
    }
    const children = (await this.store.listRunsForCase(run.caseId)).filter(
      (r) =>
        r.parentRunId === run.id && r.parentStepId === `${command.stepId}@${state.path.length}`,
    );
    if (children.length === 0) {
      const now = this.now();
      await this.committer.run(async (tx) => {
        for (const call of command.calls) {
          const child = this.newRun(callee, c, run.alertId, now, call.inputs, {
            runId: run.id,
            stepId: `${command.stepId}@${state.path.length}`,
          });
          await tx.insertRun(child);
          await tx.appendRunEvents(child.id, [
            {
              at: now,
              kind: 'run_queued',
              stepId: null,
              data: {
                reason: `called by ${run.playbookId} step ${command.stepId}`,
                parentRunId: run.id,
              },
            },
          ]);
        }
      });
      this.wake();
      return { kind: 'suspend', wakeAt: null };
    }
    if (children.some((r) => r.status !== 'succeeded' && r.status !== 'failed')) {
      return { kind: 'suspend', wakeAt: null };
    }
    const failed = children.find((r) => r.status === 'failed');
    if (failed) {
      const error = (failed.state as RunState).error;
      return {
        kind: 'outcome',
        outcome: {
          kind: 'failed',
          error: {
            code: error?.code ?? 'playbook_failed',
            message: `sub-playbook ${callee.id} failed${error ? `: ${error.message}` : ''}`,
            retryable: false,
          },
        },
      };
    }
    const outputs = children.map((r) => ({ runId: r.id, steps: (r.state as RunState).path }));
    const single = command.calls.length === 1 && command.calls[0]?.item === null;
    return {
      kind: 'outcome',
      outcome: { kind: 'succeeded', output: single ? (outputs[0] ?? null) : outputs },
    };
  }

  private async finished(
    run: PlaybookRunRecord,
    playbook: Playbook,
    advance: Advance,
  ): Promise<void> {
    const command = advance.command as Extract<RunCommand, { kind: 'finish' }>;
    const now = this.now();
    await this.committer.run(async (tx) => {
      const actor = ACTOR(playbook.id);
      const entry = (
        kind: 'playbook_finished' | 'task',
        message: string,
        data: Record<string, unknown>,
      ) =>
        tx.appendTimeline({
          id: uuidv7(),
          caseId: run.caseId,
          at: now,
          actor,
          kind,
          message,
          data,
        });
      await entry(
        'playbook_finished',
        `playbook ${playbook.id} ${command.status}${command.error ? `: ${command.error.code} at ${command.error.stepId ?? 'start'}` : ''}`,
        {
          runId: run.id,
          status: command.status,
          steps: advance.state.path,
          ...(command.error ? { error: command.error } : {}),
          ...(command.handoff.evidence.length > 0 ? { evidence: command.handoff.evidence } : {}),
        },
      );
      for (const task of command.handoff.tasks) await entry('task', task, { runId: run.id });
      if (run.parentRunId) await tx.wakeRun(run.parentRunId, now);
    });
    if (command.handoff.notifyOwner) {
      const c = await this.store.getCase(run.caseId);
      await this.options.connectors
        .call('log', {
          action: 'notify',
          input: {
            to: c?.owner ?? 'unassigned',
            message: `case #${c?.number ?? '?'}: playbook ${playbook.id} ${command.status}`,
          },
          idempotencyKey: `${run.id}/handoff`,
          attempt: 1,
          signal: AbortSignal.timeout(this.options.defaultStepTimeoutMs ?? 30_000),
        })
        .catch(() => undefined);
    }
    if (run.parentRunId) this.wake();
  }
}

function traceEvent(event: TraceEvent, at: string): RunEventDraft {
  const { kind, ...rest } = event;
  const stepId = 'stepId' in rest ? rest.stepId : null;
  return { at, kind, stepId, data: rest };
}
