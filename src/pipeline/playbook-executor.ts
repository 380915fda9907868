import type { AlertFacts, NormalizedAlert } from '../core/alert.js';
import type { Case, CaseChange, TimelineEntry } from '../core/case.js';
import type { ContainmentPolicy } from '../core/containment-policy.js';
import { deadline, withDeadline } from '../core/deadline.js';
import { WardenError } from '../core/errors.js';
import { sealEvidence, type StoredEvidence } from '../core/evidence.js';
import { uuidv7 } from '../core/ids.js';
import { cloneJson } from '../core/json-clone.js';
import type { PlaybookRouter } from '../core/playbook-router.js';
import { applyCaseStep } from '../playbooks/case-step.js';
import type { JsonValue, Playbook } from '../playbooks/playbook.js';
import {
  NOTIFY_ACTION,
  POST_CASE_ACTION,
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
import { collectEvidence } from './evidence-workflow.js';
import { isoTime } from '../core/iso-time.js';
import { GroupCommitter } from './group-committer.js';
import {
  ClosedCaseRuns,
  newRunRecord,
  playbookActor as ACTOR,
  queueTriggeredRuns,
} from './run-queue.js';

/**
 * What the executor needs of a connector: the connectors module implements
 * it (a registry of guarded connectors); tests pass fakes.
 */
/** One call as the executor makes it (a connector's `ConnectorCall`). */
export interface ExecutorCall {
  action: string;
  input: JsonValue;
  idempotencyKey: string;
  attempt: number;
  signal: AbortSignal;
}

export interface ExecutorConnectors {
  call(connector: string, request: ExecutorCall): Promise<CallResult>;
  /** The actions a connector has; absent: assume it can only `notify`. */
  actionsOf?(connector: string): readonly string[];
  /** After a crash between sending and recording a write: did it happen? */
  reconcile(
    connector: string,
    request: ExecutorCall,
  ): Promise<({ state: 'done' } & CallResult) | { state: 'not_done' } | { state: 'unknown' }>;
}

/** A connector's answer: its output, what went over the wire, and the action's OpenC2 form. */
export interface CallResult {
  output: JsonValue;
  exchange?: unknown;
  openc2?: JsonValue;
}

type CallAnswer = ({ ok: true } & CallResult) | { ok: false; failure: CallFailure };

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

/**
 * A run as a commit left it. `next` says what its driver does now: `write` —
 * make the write call just recorded as sent; `continue` — go on (a read comes
 * next); `stop` — the run waits or has finished.
 */
interface Recorded {
  run: PlaybookRunRecord;
  advance: Advance;
  env: RunEnvironment;
  next: 'write' | 'continue' | 'stop';
}

/** A run just queued by this process, with what its first drive needs. */
interface QueuedRun {
  run: PlaybookRunRecord;
  alert: AlertFacts;
  raw: string;
  /** When it was kept (epoch ms). */
  at: number;
}

// Enough for the runs a burst of new cases starts at once (the executor drives at most 256), few enough to bound memory in a storm.
const QUEUED_RUNS_KEPT = 2_000;
const QUEUED_RUN_STALE_MS = 60_000;

/** What a run has to record with its next commit: its trace, and the results of writes made since. */
interface Carry {
  trace: TraceEvent[];
  effects: EffectRecord[];
  timeline: TimelineEntry[];
  evidence: StoredEvidence[];
}

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
  private readonly closedCaseRuns: ClosedCaseRuns;
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private repoll = false;
  /** The next poll looks for every kind of due run, not only queued ones (see `wake`). */
  private fullPollWanted = true;
  /** When a poll last looked for every kind of due run (performance.now()). */
  private lastFullPoll = -Infinity;
  /** Active runs that have not committed yet: the store may still list them as queued. */
  private readonly starting = new Set<string>();
  private stopped = false;
  /** Runs are only taken once started: a process that only queues them never does. */
  private started = false;
  /**
   * Runs this process queued, with the alert that started them, so their
   * first drive needs no store reads for the run and its alert. Used once;
   * an entry whose transaction rolled back is never due and goes once stale.
   */
  private readonly queued = new Map<string, QueuedRun>();
  /** Announcing the approvals a crash left unannounced (see `start`). */
  private recovering: Promise<void> = Promise.resolve();
  /**
   * While `recovering`: approvals this process asked for, which the runs
   * that asked announce themselves.
   */
  private askedHere: Set<string> | undefined;
  /** Whether `queueRunsForNewCase` queued a run since `wakeForNewRuns` last looked. */
  private queuedSinceWake = false;

  constructor(options: PlaybookExecutorOptions) {
    this.options = options;
    this.store = options.store;
    this.playbooks = new Map(options.playbooks.map((p) => [p.id, p]));
    this.clock = options.clock ?? (() => new Date());
    this.committer = new GroupCommitter(options.store);
    this.closedCaseRuns = new ClosedCaseRuns(options.store, this.playbooks);
  }

  /** The last instant `now` formatted, and its text: under load many calls share a millisecond. */
  private nowMs = Number.NaN;
  private nowText = '';

  private now(): string {
    const ms = this.clock().getTime();
    if (ms !== this.nowMs) {
      this.nowMs = ms;
      this.nowText = isoTime(ms);
    }
    return this.nowText;
  }

  private get maxActiveRuns(): number {
    return this.options.maxActiveRuns ?? 256;
  }

  // ------------------------------------------------------------------ triggering

  /**
   * Called inside the transaction that opens a case: queues the runs the
   * router and the playbooks' triggers choose, in that same transaction, so
   * a committed case never misses its playbooks.
   */
  async queueRunsForNewCase(
    tx: StoreTransaction,
    c: Case,
    alert: AlertFacts,
    /** The alert's payload as stored (JSON text), when the caller has it at hand. */
    raw?: string,
  ): Promise<number> {
    const chosen = triggersForNewCase(alert, c, this.options.router, this.playbooks);
    if (!Array.isArray(chosen)) return 0;
    if (chosen.length > 0) this.queuedSinceWake = true;
    const runs = await queueTriggeredRuns(tx, this.playbooks, chosen, c, alert.id, this.now());
    if (this.started && raw !== undefined) {
      for (const run of runs) this.remember({ run, alert, raw, at: Date.now() });
    }
    return runs.length;
  }

  private remember(entry: QueuedRun): void {
    if (this.queued.size >= QUEUED_RUNS_KEPT) {
      // Entries of transactions that rolled back are never taken: they go once stale.
      const staleBefore = Date.now() - QUEUED_RUN_STALE_MS;
      for (const [id, kept] of this.queued) {
        if (kept.at >= staleBefore) break;
        this.queued.delete(id);
      }
    }
    // Still full: the runs already kept are driven first; later ones read themselves from the store.
    if (this.queued.size < QUEUED_RUNS_KEPT) this.queued.set(entry.run.id, entry);
  }

  // ------------------------------------------------------------------ the loop

  /**
   * Starts looking for due runs (queued, woken, or left running by a crash),
   * and announces the approval requests a crash kept from being announced.
   */
  start(): void {
    this.started = true;
    this.stopped = false;
    this.schedule(0);
    this.askedHere = new Set();
    this.recovering = this.announceUnannounced()
      .catch(() => undefined)
      .finally(() => {
        this.askedHere = undefined;
      });
  }

  /**
   * Looks for due runs now (new runs were queued, an approval was answered,
   * a run ended) if there is room for a few: a poll reads the active runs'
   * ids too, so polling for each single free slot under load would read
   * hundreds of ids per run started. Short of room, the next timed poll or
   * the next few runs to end take the due runs.
   *
   * `queued`: only new runs were queued (or runs ended and made room): the
   * poll reads queued runs alone. Runs that a timer or an answer woke, and
   * runs a crash left running, are then found by the next poll that looks
   * for everything, at most `pollMs` later. Under load, reading the active
   * runs' ids again for every few runs started cost the writer thread about
   * 5% of its time.
   */
  wake(what: 'any' | 'queued' = 'any'): void {
    if (this.stopped || !this.started) return;
    if (what === 'any') this.fullPollWanted = true;
    const max = this.maxActiveRuns;
    if (max - this.active.size < Math.max(1, Math.min(16, Math.floor(max / 8)))) return;
    if (this.polling) this.repoll = true;
    else this.schedule(0);
  }

  /**
   * After a commit that opened cases: looks for their runs if any were
   * queued. Most new cases start none, and a poll costs the writer thread
   * three queries (a rolled-back commit may leave one needless poll).
   */
  wakeForNewRuns(): void {
    if (!this.queuedSinceWake) return;
    this.queuedSinceWake = false;
    this.wake('queued');
  }

  /** Stops taking runs and waits for the steps in progress to be recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.recovering;
    while (this.active.size > 0 || this.polling) {
      await Promise.allSettled([...this.active.values()]);
      await new Promise((r) => setImmediate(r));
    }
    await this.committer.drain();
  }

  /** Resolves when no run has work it can do now (tests, `warden playbook run`). */
  async idle(): Promise<void> {
    await this.recovering;
    for (;;) {
      this.fullPollWanted = true;
      await this.poll();
      if (this.active.size === 0) return;
      await Promise.allSettled([...this.active.values()]);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped || !this.started) return;
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
        const room = this.maxActiveRuns - this.active.size;
        if (room <= 0) break;
        const pollMs = this.options.pollMs ?? 200;
        const full = this.fullPollWanted || performance.now() - this.lastFullPoll >= pollMs;
        if (full) {
          this.fullPollWanted = false;
          this.lastFullPoll = performance.now();
        }
        // What the store lists first may be runs taken already: ask for that many more.
        const limit = room + (full ? this.active.size : this.starting.size);
        const due = full
          ? await this.store.dueRunIds(this.now(), limit)
          : await this.store.queuedRunIds(limit);
        for (const id of due) {
          if (this.active.size >= this.maxActiveRuns) break;
          if (this.active.has(id)) continue;
          const queued = this.queued.get(id);
          this.queued.delete(id);
          this.starting.add(id);
          const work = (queued ? Promise.resolve(queued.run) : this.store.getRun(id))
            .then((run) => (run ? this.drive(run, queued) : undefined))
            .catch(() => undefined)
            .finally(() => {
              this.active.delete(id);
              this.starting.delete(id);
              this.wake('queued');
            });
          this.active.set(id, work);
        }
      } while (this.repoll && !this.stopped);
    } catch {
      // The store failed or is closing: the next poll tries again.
    } finally {
      this.polling = false;
      this.schedule(this.options.pollMs ?? 200);
    }
  }

  // ------------------------------------------------------------------ one run

  /** A fresh run's environment from what queued it: only the case is read. */
  private async queuedEnvironment(queued: QueuedRun): Promise<RunEnvironment> {
    const c = await this.store.getCase(queued.run.caseId);
    if (!c) throw new WardenError('not_found', `run ${queued.run.id}: its case is gone`);
    // The queued alert is this run's alone (taken from `queued`). Given its payload in place:
    // a spread copy of a parsed object this size is slow to make and then to read, all run long.
    const alert = queued.alert as NormalizedAlert;
    alert.raw = JSON.parse(queued.raw) as JsonValue;
    return { alert, case: c, policy: this.options.policy };
  }

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

  /**
   * Carries a run forward until it waits or finishes. A run's state is
   * written before each step with an effect, together with what that step
   * needs recorded first (the call as sent, the approval asked, the case
   * change itself) and with the results of the step before: one commit per
   * effect, none for reads and decisions, which are simply redone after a crash.
   */
  private async drive(initial: PlaybookRunRecord, queued?: QueuedRun): Promise<void> {
    let run = initial;
    const playbook = this.playbooks.get(run.playbookId);
    if (!playbook) {
      await this.abandon(run, 'unknown_playbook', `playbook ${run.playbookId} is no longer loaded`);
      return;
    }
    let env = queued ? await this.queuedEnvironment(queued) : await this.environment(run);
    let advance: Advance;
    const carry: Carry = { trace: [], effects: [], timeline: [], evidence: [] };
    if (run.command === null) {
      const inputs = (run.state as { inputs?: Record<string, JsonValue> }).inputs ?? {};
      try {
        advance = startRun(playbook, env, inputs);
      } catch (error) {
        await this.abandon(run, 'invalid_input', (error as Error).message);
        return;
      }
    } else {
      // Resuming after a restart or a wake-up: the command may be half done.
      const state = run.state as RunState;
      const performed = await this.perform(
        run,
        playbook,
        state,
        run.command as RunCommand,
        env,
        carry,
      );
      if (performed.kind === 'suspend') {
        await this.suspend(run, performed.wakeAt);
        return;
      }
      if ((run.command as RunCommand).kind === 'case') env = await this.environment(run);
      advance = resumeRun(playbook, state, env, performed.outcome);
    }
    for (;;) {
      if (this.stopped) return;
      carry.trace.push(...advance.trace);
      const command = advance.command;
      if (command.kind === 'call' && command.stepKind === 'enrich') {
        const outcome = await this.readCall(run, advance.state, command, carry);
        advance = resumeRun(playbook, advance.state, env, outcome);
        continue;
      }
      const recorded = await this.record(run, playbook, advance, env, carry);
      this.starting.delete(run.id);
      run = recorded.run;
      advance = recorded.advance;
      env = recorded.env;
      if (recorded.next === 'stop') {
        await this.afterRecord(run, playbook, advance);
        return;
      }
      if (recorded.next === 'continue') {
        // A read follows the case steps just committed: its trace is already recorded.
        advance = { ...advance, trace: [] };
        continue;
      }
      const write = advance.command as Extract<RunCommand, { kind: 'call' }>;
      const outcome = await this.writeCall(run, advance.state, write, carry);
      advance = resumeRun(playbook, advance.state, env, outcome);
    }
  }

  /**
   * One commit: the run's new state, its pending command and trace, the
   * results carried from the step before, and what the command needs
   * recorded before it is carried out. Case steps change nothing outside
   * the store, so they are applied in this same commit and the run carries
   * on inside it until it needs the world again (a call, an approval, a
   * sub-playbook, a wait) or finishes: a case update followed by the end of
   * the run is one commit, not two.
   */
  private async record(
    run: PlaybookRunRecord,
    playbook: Playbook,
    advance: Advance,
    env: RunEnvironment,
    carry: Carry,
  ): Promise<Recorded> {
    const now = this.now();
    const events = carry.trace.map((t) => traceEvent(t, now));
    const effects = carry.effects;
    const timeline = carry.timeline;
    const evidence = carry.evidence;
    carry.trace = [];
    carry.effects = [];
    carry.timeline = [];
    carry.evidence = [];
    let approval: ApprovalRecord | undefined;
    const recorded = await this.committer.run(async (tx) => {
      // The committer may run this again alone if its shared transaction fails: start afresh.
      const traced = [...events];
      for (const effect of effects) await tx.putEffect(effect);
      for (const item of evidence) await collectEvidence(tx, item, { runId: run.id });
      for (const entry of timeline) await tx.appendTimeline(entry);
      let current = advance;
      let currentEnv = env;
      /** Whether `currentEnv.case` is the store's own object (see `applyCase`). */
      let storesCase = false;
      while (current.command.kind === 'case') {
        const applied = await this.applyCase(
          tx,
          run,
          playbook,
          current.state,
          current.command,
          now,
          false,
        );
        if (applied.case) {
          currentEnv = { ...currentEnv, case: applied.case };
          storesCase = true;
        }
        current = resumeRun(playbook, current.state, currentEnv, applied.outcome);
        for (const t of current.trace) traced.push(traceEvent(t, now));
      }
      const command = current.command;
      const next = this.nextRecord(run, playbook, current, now);
      await tx.updateRun(next);
      await tx.appendRunEvents(run.id, traced);
      // A run that goes on keeps its own copy of the case: ingest updates the store's in place.
      // One that ends or waits drops it here (a wait reads the case again when it wakes).
      const ends = command.kind === 'finish' || command.kind === 'wait';
      if (storesCase && !ends) currentEnv = { ...currentEnv, case: cloneJson(currentEnv.case) };
      const done = (then: Recorded['next']): Recorded => ({
        run: next,
        advance: current,
        env: currentEnv,
        next: then,
      });
      switch (command.kind) {
        case 'call':
          if (command.stepKind === 'enrich') return done('continue');
          for (const call of command.calls) {
            await tx.putEffect(
              this.sentEffect(next, current.state, command, call.item, call.input, now),
            );
          }
          return done('write');
        case 'approval':
          approval = await this.requestApproval(
            tx,
            next,
            current.state,
            command,
            currentEnv.case,
            now,
            next.wakeAt as string,
          );
          return done('stop');
        case 'playbook':
          await this.startChildren(tx, next, current.state, command, currentEnv.case, now);
          return done('stop');
        case 'wait':
          return done('stop');
        case 'finish':
          await this.recordFinish(tx, next, playbook, current, now);
          return done('stop');
      }
    });
    if (approval) await this.announceApproval(recorded.run, recorded.env.case, approval);
    return recorded;
  }

  /** The run record as it stands once `advance` is committed. */
  private nextRecord(
    run: PlaybookRunRecord,
    playbook: Playbook,
    advance: Advance,
    now: string,
  ): PlaybookRunRecord {
    const command = advance.command;
    const finished = command.kind === 'finish';
    let wakeAt: string | null = null;
    if (command.kind === 'wait') wakeAt = new Date(Date.parse(now) + command.delayMs).toISOString();
    if (command.kind === 'approval') {
      wakeAt = new Date(Date.parse(now) + command.timeoutMs).toISOString();
    }
    return {
      ...run,
      playbookVersion: playbook.version,
      status: finished
        ? command.status
        : advance.state.status === 'waiting'
          ? 'waiting'
          : 'running',
      wakeAt,
      state: advance.state,
      command: finished ? null : command,
      updatedAt: now,
      finishedAt: finished ? now : null,
    };
  }

  /** What follows a commit that left the run waiting or finished. */
  private async afterRecord(
    run: PlaybookRunRecord,
    playbook: Playbook,
    advance: Advance,
  ): Promise<void> {
    const command = advance.command;
    if (command.kind === 'playbook') this.wake('queued');
    if (command.kind !== 'finish') return;
    if (command.handoff.notifyOwner) {
      const c = await this.store.getCase(run.caseId);
      await withDeadline(this.options.defaultStepTimeoutMs ?? 30_000, (signal) =>
        this.options.connectors.call('log', {
          action: 'notify',
          input: {
            to: c?.owner ?? 'unassigned',
            message: `case #${c?.number ?? '?'}: playbook ${playbook.id} ${command.status}`,
          },
          idempotencyKey: `${run.id}/handoff`,
          attempt: 1,
          signal,
        }),
      ).catch(() => undefined);
    }
    if (run.parentRunId) this.wake();
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
    carry: Carry,
  ): Promise<Performed> {
    switch (command.kind) {
      case 'call':
        return this.performCall(run, state, command, carry);
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

  /**
   * A call command found pending when a run is resumed. Reads are simply made
   * again. A write was recorded as sent with the run's state: found succeeded
   * (or failed at this attempt) its result is reused; found sent (a crash in
   * between) the connector reconciles it, and it is never repeated blindly.
   * Results join `carry`, committed with the run's next state.
   */
  private async performCall(
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'call' }>,
    carry: Carry,
  ): Promise<Performed> {
    const outcome =
      command.stepKind === 'enrich'
        ? await this.readCall(run, state, command, carry)
        : await this.callAll(command, (call, signal) =>
            this.resumeWrite(run, state, command, call, signal, carry),
          );
    return { kind: 'outcome', outcome };
  }

  private async resumeWrite(
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'call' }>,
    call: Extract<RunCommand, { kind: 'call' }>['calls'][number],
    signal: AbortSignal,
    carry: Carry,
  ): Promise<{ ok: true; output: JsonValue } | { ok: false; failure: CallFailure }> {
    const request: ExecutorCall = {
      action: command.action,
      input: call.input,
      idempotencyKey: this.effectKey(run, state, command.stepId, call.item),
      attempt: command.attempt,
      signal,
    };
    const existing = await this.store.getEffect(request.idempotencyKey);
    if (existing?.status === 'succeeded') return { ok: true, output: existing.output as JsonValue };
    const failedAt = (existing?.error as { attempt?: number } | null | undefined)?.attempt ?? 0;
    if (existing?.status === 'failed' && failedAt >= command.attempt) {
      return { ok: false, failure: existing.error as CallFailure };
    }
    const sentAt = this.now();
    let result: CallAnswer;
    if (existing?.status === 'sent') {
      const answer = await this.options.connectors
        .reconcile(command.connector, request)
        .catch(() => ({ state: 'unknown' as const }));
      if (answer.state === 'done') {
        const { state: _done, ...done } = answer;
        result = { ok: true, ...done };
      } else if (answer.state === 'not_done') {
        result = await this.send(command.connector, request);
      } else {
        result = {
          ok: false,
          failure: {
            code: 'effect_unknown',
            message: `${command.connector}.${command.action} may have been sent before a restart and its result cannot be checked; it was not repeated`,
            retryable: false,
          },
        };
      }
    } else {
      // Not recorded as sent (a retry's new attempt): record it before it leaves.
      await this.committer.run((tx) =>
        tx.putEffect(this.sentEffect(run, state, command, call.item, call.input, sentAt)),
      );
      result = await this.send(command.connector, request);
    }
    this.carryResult(carry, run, state, command, call.item, call.input, sentAt, result);
    return result.ok ? { ok: true, output: result.output } : result;
  }

  private send(connector: string, request: ExecutorCall): Promise<CallAnswer> {
    return this.options.connectors.call(connector, request).then(
      (r): CallAnswer => ({
        ok: true,
        output: r.output,
        ...(r.exchange === undefined ? {} : { exchange: r.exchange }),
        ...(r.openc2 === undefined ? {} : { openc2: r.openc2 }),
      }),
      (error: unknown) => ({ ok: false as const, failure: failureOf(error) }),
    );
  }

  private sentEffect(
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'call' }>,
    item: number | null,
    input: JsonValue,
    now: string,
  ): EffectRecord {
    return {
      idempotencyKey: this.effectKey(run, state, command.stepId, item),
      runId: run.id,
      stepId: command.stepId,
      item,
      connector: command.connector,
      action: command.action,
      input,
      status: 'sent',
      output: null,
      error: null,
      exchange: null,
      sentAt: now,
      finishedAt: null,
    };
  }

  /** Calls each item with at most `concurrency` in flight; the step fails with the first failure. */
  private async callAll(
    command: Extract<RunCommand, { kind: 'call' }>,
    call: (
      item: (typeof command.calls)[number],
      signal: AbortSignal,
    ) => Promise<{ ok: true; output: JsonValue } | { ok: false; failure: CallFailure }>,
  ): Promise<StepOutcome> {
    const outputs: JsonValue[] = new Array<JsonValue>(command.calls.length).fill(null);
    let failure: CallFailure | undefined;
    let next = 0;
    const { signal, clear } = deadline(
      command.timeoutMs ?? this.options.defaultStepTimeoutMs ?? 30_000,
    );
    const worker = async (): Promise<void> => {
      while (next < command.calls.length && !failure) {
        const index = next++;
        const result = await call(command.calls[index] as (typeof command.calls)[number], signal);
        if (result.ok) outputs[index] = result.output;
        else failure ??= result.failure;
      }
    };
    const lanes = Math.max(1, Math.min(command.concurrency, command.calls.length));
    try {
      await Promise.all(Array.from({ length: lanes }, worker));
    } finally {
      clear();
    }
    if (failure) return { kind: 'failed', error: stepError(failure) };
    const single = command.calls.length === 1 && command.calls[0]?.item === null;
    return { kind: 'succeeded', output: single ? (outputs[0] ?? null) : outputs };
  }

  /**
   * Reads have no effect to record: after a crash they are simply made
   * again. A step with `evidence: true` carries each response to the case.
   */
  private readCall(
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'call' }>,
    carry: Carry,
  ): Promise<StepOutcome> {
    return this.callAll(command, async (call, signal) => {
      const idempotencyKey = this.effectKey(run, state, command.stepId, call.item);
      const result = await this.send(command.connector, {
        action: command.action,
        input: call.input,
        idempotencyKey,
        attempt: command.attempt,
        signal,
      });
      if (command.keepEvidence) {
        carry.evidence.push(
          this.callEvidence(run, command, call.item, call.input, idempotencyKey, result),
        );
      }
      return result;
    });
  }

  /** A connector call as evidence: what was asked, what went over the wire, what came back. */
  private callEvidence(
    run: PlaybookRunRecord,
    command: Pick<
      Extract<RunCommand, { kind: 'call' }>,
      'connector' | 'action' | 'stepId' | 'stepKind' | 'attempt'
    >,
    item: number | null,
    input: JsonValue,
    idempotencyKey: string,
    result: CallAnswer,
  ): StoredEvidence {
    const name = `${command.connector}.${command.action}${item === null ? '' : ` [${item}]`}${result.ok ? '' : ' (failed)'}`;
    return sealEvidence({
      id: uuidv7(),
      caseId: run.caseId,
      name,
      kind: command.stepKind === 'enrich' ? 'connector_response' : 'action_record',
      source: {
        actor: ACTOR(run.playbookId),
        runId: run.id,
        stepId: command.stepId,
        connector: command.connector,
        action: command.action,
        idempotencyKey,
      },
      collectedAt: this.now(),
      content: {
        connector: command.connector,
        action: command.action,
        step: command.stepId,
        item,
        attempt: command.attempt,
        idempotencyKey,
        input,
        ...(result.ok
          ? { outcome: 'succeeded', output: result.output }
          : { outcome: 'failed', error: stepError(result.failure) }),
        exchange: (result.ok ? result.exchange : result.failure.exchange) ?? null,
        openc2: (result.ok ? result.openc2 : undefined) ?? null,
      },
    });
  }

  /**
   * Writes whose `sent` record has just committed: call, and carry each
   * result (and the case timeline entry of an act) into the next commit.
   */
  private writeCall(
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'call' }>,
    carry: Carry,
  ): Promise<StepOutcome> {
    return this.callAll(command, async (call, signal) => {
      const sentAt = this.now();
      const result = await this.send(command.connector, {
        action: command.action,
        input: call.input,
        idempotencyKey: this.effectKey(run, state, command.stepId, call.item),
        attempt: command.attempt,
        signal,
      });
      this.carryResult(carry, run, state, command, call.item, call.input, sentAt, result);
      return result;
    });
  }

  private carryResult(
    carry: Carry,
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'call' }>,
    item: number | null,
    input: JsonValue,
    sentAt: string,
    result: CallAnswer,
  ): void {
    const now = this.now();
    const base = { ...this.sentEffect(run, state, command, item, input, sentAt), finishedAt: now };
    carry.effects.push(
      result.ok
        ? { ...base, status: 'succeeded', output: result.output, exchange: result.exchange ?? null }
        : {
            ...base,
            status: 'failed',
            error: { ...stepError(result.failure), attempt: command.attempt },
            exchange: result.failure.exchange ?? null,
          },
    );
    // Every outgoing call is kept as evidence; an act also goes on the timeline.
    const evidence = this.callEvidence(run, command, item, input, base.idempotencyKey, result);
    carry.evidence.push(evidence);
    if (command.stepKind !== 'act') return;
    const exchange = (result.ok ? result.exchange : result.failure.exchange) as
      { method?: unknown; url?: unknown; status?: unknown } | undefined;
    carry.timeline.push({
      id: uuidv7(),
      caseId: run.caseId,
      at: now,
      actor: ACTOR(run.playbookId),
      kind: 'action_taken',
      message: result.ok
        ? `${command.connector}.${command.action} done (step ${command.stepId})`
        : `${command.connector}.${command.action} failed: ${result.failure.code} (step ${command.stepId})`,
      data: {
        runId: run.id,
        stepId: command.stepId,
        idempotencyKey: base.idempotencyKey,
        ok: result.ok,
        evidenceId: evidence.id,
        ...(exchange && typeof exchange.method === 'string'
          ? {
              request: `${exchange.method} ${String(exchange.url)}`,
              ...(typeof exchange.status === 'number' ? { status: exchange.status } : {}),
            }
          : {}),
        ...(result.ok && result.openc2 !== undefined ? { openc2: result.openc2 } : {}),
      },
    });
  }

  /** Applies a case step inside the caller's transaction; a refused change is the step's failure. */
  private async applyCase(
    tx: StoreTransaction,
    run: PlaybookRunRecord,
    playbook: Playbook,
    state: RunState,
    command: Extract<RunCommand, { kind: 'case' }>,
    now: string,
    /**
     * Whether to record the step as an effect: only when the run's state
     * past it is committed apart from it (see `performCase`).
     */
    asEffect: boolean,
  ): Promise<{ outcome: StepOutcome; case?: Case }> {
    const actor = ACTOR(playbook.id);
    const c = await tx.getCase(run.caseId);
    if (!c) {
      return {
        outcome: {
          kind: 'failed',
          error: { code: 'not_found', message: `case ${run.caseId} not found`, retryable: false },
        },
      };
    }
    // A case step sets top-level fields only (see applyCaseStep): the copy shares the rest. A
    // deep copy here was half of what the writer's heap kept alive under load, cached by the store.
    const copy: Case = { ...c };
    let changes: CaseChange[];
    try {
      changes = applyCaseStep(copy, command.update, now);
    } catch (error) {
      const e = error instanceof WardenError ? error : new WardenError('internal', String(error));
      return {
        outcome: { kind: 'failed', error: { code: e.code, message: e.message, retryable: false } },
      };
    }
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
        data: { message: change.message, runId: run.id, stepId: command.stepId, ...change.data },
      });
    }
    // After the close on the timeline, as when an analyst closes the case.
    if (copy.status === 'closed' && c.status !== 'closed') {
      await this.closedCaseRuns.queue(tx, copy, now);
    }
    if (asEffect) {
      await tx.putEffect({
        idempotencyKey: this.effectKey(run, state, command.stepId, null),
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
    }
    // The store's own object (it caches `copy` and `c`, and ingest updates them in place): a
    // caller that keeps it once the transaction is over clones it.
    return { outcome: { kind: 'succeeded' }, case: changes.length > 0 ? copy : c };
  }

  private async requestApproval(
    tx: StoreTransaction,
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'approval' }>,
    c: Case,
    now: string,
    deadline: string,
  ): Promise<ApprovalRecord> {
    const id = this.approvalId(run, state, command.stepId);
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
      deadline,
      answeredBy: null,
      answeredRole: null,
      answeredAt: null,
      comment: null,
    };
    // Before the commit: a recovery that lists it must leave it to this run.
    this.askedHere?.add(id);
    await tx.insertApproval(approval);
    await tx.appendTimeline({
      id: uuidv7(),
      caseId: run.caseId,
      at: now,
      actor: ACTOR(run.playbookId),
      kind: 'approval_requested',
      message: `approval needed from ${command.approvers.join(' or ')}: ${command.message}`,
      data: { approvalId: id, runId: run.id, stepId: command.stepId, deadline },
    });
    return approval;
  }

  /**
   * Tells the people who can answer, through the policy's
   * `announce_approvals` connectors: `post_case` (the case with approve/deny
   * links) where the connector has it, else `notify`. Best effort after the
   * approval is committed: a failure is on the timeline, and the approval
   * still waits (`GET /api/v1/approvals` lists it).
   */
  private async announceApproval(
    run: PlaybookRunRecord,
    c: Case,
    approval: ApprovalRecord,
  ): Promise<void> {
    const names = this.options.policy.announceApprovals ?? [];
    if (names.length === 0) return;
    const evidence: StoredEvidence[] = [];
    const timeline: TimelineEntry[] = [];
    await Promise.all(
      names.map(async (connector) => {
        const actions = this.options.connectors.actionsOf?.(connector) ?? [NOTIFY_ACTION];
        const action = actions.includes(POST_CASE_ACTION) ? POST_CASE_ACTION : NOTIFY_ACTION;
        const input: JsonValue =
          action === POST_CASE_ACTION
            ? {
                case_number: c.number,
                case_id: c.id,
                title: c.title,
                severity: c.severity,
                tier: c.tier,
                business_unit: c.businessUnit,
                model: c.modelIds[0] ?? null,
                status: c.status,
                phase: c.phase,
                techniques: c.atlasTechniques,
                approval: { id: approval.id, message: approval.message },
              }
            : {
                to: approval.approvers.join(', '),
                message: `Approval needed on case #${c.number} (${c.title}): ${approval.message} — answer by ${approval.deadline} with POST /api/v1/approvals/${approval.id}`,
              };
        const idempotencyKey = `${approval.id}/announce/${connector}`;
        const result = await withDeadline(this.options.defaultStepTimeoutMs ?? 30_000, (signal) =>
          this.send(connector, { action, input, idempotencyKey, attempt: 1, signal }),
        );
        const call = {
          connector,
          action,
          stepId: approval.stepId,
          stepKind: 'notify',
          attempt: 1,
        } as const;
        const item = this.callEvidence(run, call, null, input, idempotencyKey, result);
        evidence.push(item);
        timeline.push({
          id: uuidv7(),
          caseId: run.caseId,
          at: this.now(),
          actor: ACTOR(run.playbookId),
          kind: 'action_taken',
          message: result.ok
            ? `approval request announced through ${connector}.${action}`
            : `approval request not announced through ${connector}.${action}: ${result.failure.code}`,
          data: { approvalId: approval.id, runId: run.id, evidenceId: item.id, ok: result.ok },
        });
      }),
    );
    await this.committer.run(async (tx) => {
      for (const item of evidence) await collectEvidence(tx, item, { runId: run.id });
      for (const entry of timeline) await tx.appendTimeline(entry);
      await tx.markApprovalAnnounced(approval.id, this.now());
    });
  }

  /**
   * Announces the pending approvals whose announcement never went out: an
   * earlier process stopped between committing the request and recording
   * its announcement. An announcement cut off after it was sent goes out
   * again (with the same idempotency key): better twice than never, since
   * nobody else would tell the approvers.
   */
  private async announceUnannounced(): Promise<void> {
    if ((this.options.policy.announceApprovals ?? []).length === 0) return;
    for (const approval of await this.store.listUnannouncedApprovals()) {
      if (this.stopped) return;
      if (this.askedHere?.has(approval.id)) continue;
      const [run, c] = await Promise.all([
        this.store.getRun(approval.runId),
        this.store.getCase(approval.caseId),
      ]);
      if (run && c) await this.announceApproval(run, c, approval);
    }
  }

  private childStepId(state: RunState, stepId: string): string {
    return `${stepId}@${state.path.length}`;
  }

  private async startChildren(
    tx: StoreTransaction,
    run: PlaybookRunRecord,
    state: RunState,
    command: Extract<RunCommand, { kind: 'playbook' }>,
    c: Case,
    now: string,
  ): Promise<void> {
    const callee = this.playbooks.get(command.playbook);
    // An unknown callee fails the step when the run is resumed (see performSubPlaybooks).
    if (!callee) {
      await tx.wakeRun(run.id, now);
      return;
    }
    for (const call of command.calls) {
      const child = newRunRecord(callee, c, run.alertId, now, call.inputs, {
        runId: run.id,
        stepId: this.childStepId(state, command.stepId),
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
  }

  private async recordFinish(
    tx: StoreTransaction,
    run: PlaybookRunRecord,
    playbook: Playbook,
    advance: Advance,
    now: string,
  ): Promise<void> {
    const command = advance.command as Extract<RunCommand, { kind: 'finish' }>;
    const actor = ACTOR(playbook.id);
    const entry = (
      kind: 'playbook_finished' | 'task',
      message: string,
      data: Record<string, unknown>,
    ) =>
      tx.appendTimeline({ id: uuidv7(), caseId: run.caseId, at: now, actor, kind, message, data });
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
    for (const [index, value] of command.handoff.evidence.entries()) {
      const expression = playbook.handoff.evidence[index];
      await collectEvidence(
        tx,
        sealEvidence({
          id: uuidv7(),
          caseId: run.caseId,
          name: (expression?.source ?? `handoff evidence ${index + 1}`).slice(0, 200),
          kind: 'handoff_value',
          source: { actor, runId: run.id, note: `handoff of playbook ${playbook.id}` },
          collectedAt: now,
          content: value,
        }),
        { runId: run.id },
      );
    }
    if (run.parentRunId) await tx.wakeRun(run.parentRunId, now);
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
      const deadline = new Date(Date.parse(now) + command.timeoutMs).toISOString();
      const approval = await this.committer.run((tx) =>
        this.requestApproval(tx, run, state, command, c, now, deadline),
      );
      await this.announceApproval(run, c, approval);
      return { kind: 'suspend', wakeAt: deadline };
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

  /**
   * A case step found pending on resume (runs recorded before case steps
   * were applied in the commit that passes them): applied once, as an effect.
   */
  private async performCase(
    run: PlaybookRunRecord,
    playbook: Playbook,
    state: RunState,
    command: Extract<RunCommand, { kind: 'case' }>,
  ): Promise<Performed> {
    const key = this.effectKey(run, state, command.stepId, null);
    const done = await this.store.getEffect(key);
    if (done?.status === 'succeeded') return { kind: 'outcome', outcome: { kind: 'succeeded' } };
    const applied = await this.committer.run((tx) =>
      this.applyCase(tx, run, playbook, state, command, this.now(), true),
    );
    return { kind: 'outcome', outcome: applied.outcome };
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
      (r) => r.parentRunId === run.id && r.parentStepId === this.childStepId(state, command.stepId),
    );
    if (children.length === 0) {
      const now = this.now();
      await this.committer.run((tx) => this.startChildren(tx, run, state, command, c, now));
      this.wake('queued');
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
}

function traceEvent(event: TraceEvent, at: string): RunEventDraft {
  const { kind, ...rest } = event;
  const stepId = 'stepId' in rest ? rest.stepId : null;
  return { at, kind, stepId, data: rest };
}
