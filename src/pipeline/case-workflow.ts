import { inScope, type Principal } from '../core/access.js';
import {
  applyCaseUpdate,
  closeCase,
  reopenCase,
  type Case,
  type CaseChange,
  type CaseUpdate,
  type ClosureReason,
} from '../core/case.js';
import { caseTasks, markTask, TASK_TIMELINE_KINDS, type CaseTask } from '../core/case-tasks.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { Store, StoreTransaction } from '../store/store.js';
import type { ClosedCaseRuns } from './run-queue.js';

/**
 * What an analyst does to a case. Each operation is one transaction that
 * writes the case, its timeline entries and their audit entries together.
 */
export class CaseWorkflow {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
    /** Queues the `case_closed` playbooks when a case closes (none without it). */
    private readonly closedCaseRuns?: Pick<ClosedCaseRuns, 'queue'>,
  ) {}

  /** A case the principal may see, or `not_found` (never revealing out-of-scope cases). */
  async visibleCase(principal: Principal, idOrNumber: string): Promise<Case> {
    const c = await this.store.getCase(idOrNumber);
    if (!c || !inScope(principal, c.businessUnit)) {
      throw new WardenError('not_found', `case ${idOrNumber} not found`);
    }
    return c;
  }

  comment(principal: Principal, idOrNumber: string, body: string): Promise<Case> {
    const comment = (): CaseChange => ({ kind: 'comment', message: body, data: {} });
    return this.change(principal, idOrNumber, comment, true);
  }

  update(principal: Principal, idOrNumber: string, update: CaseUpdate): Promise<Case> {
    return this.change(principal, idOrNumber, (c, now) => applyCaseUpdate(c, update, now));
  }

  close(
    principal: Principal,
    idOrNumber: string,
    reason: ClosureReason,
    note: string | null,
  ): Promise<Case> {
    return this.change(principal, idOrNumber, (c, now) => closeCase(c, reason, note, now));
  }

  reopen(principal: Principal, idOrNumber: string, note: string | null): Promise<Case> {
    return this.change(principal, idOrNumber, (c, now) => reopenCase(c, note, now));
  }

  /** The case's tasks, oldest first. */
  async tasks(principal: Principal, idOrNumber: string): Promise<CaseTask[]> {
    const c = await this.visibleCase(principal, idOrNumber);
    return caseTasks(await this.store.listTimelineKinds(c.id, TASK_TIMELINE_KINDS));
  }

  /** Adds a task for an analyst; a closed case takes tasks too (follow-up work). */
  async addTask(principal: Principal, idOrNumber: string, text: string): Promise<CaseTask> {
    const { id } = await this.visibleCase(principal, idOrNumber);
    const taskId = await this.store.transaction(async (tx) => {
      const c = await tx.getCase(id);
      if (!c) throw new WardenError('not_found', `case ${idOrNumber} not found`);
      const now = this.clock().toISOString();
      c.updatedAt = now;
      await tx.updateCase(c);
      return this.record(tx, principal, c, now, { kind: 'task', message: text, data: {} });
    });
    return this.taskOf(principal, id, taskId);
  }

  /** Marks a task done, or not done again; marking it as it already is changes nothing. */
  async markTask(
    principal: Principal,
    idOrNumber: string,
    taskId: string,
    done: boolean,
    note: string | null,
  ): Promise<CaseTask> {
    const { id } = await this.visibleCase(principal, idOrNumber);
    await this.store.transaction(async (tx) => {
      const c = await tx.getCase(id);
      if (!c) throw new WardenError('not_found', `case ${idOrNumber} not found`);
      const tasks = caseTasks(await tx.listTimelineKinds(id, TASK_TIMELINE_KINDS));
      const change = markTask(tasks, taskId, done, note);
      if (!change) return;
      const now = this.clock().toISOString();
      c.updatedAt = now;
      await tx.updateCase(c);
      await this.record(tx, principal, c, now, change);
    });
    return this.taskOf(principal, id, taskId);
  }

  private async taskOf(principal: Principal, caseId: string, taskId: string): Promise<CaseTask> {
    const task = (await this.tasks(principal, caseId)).find((t) => t.id === taskId);
    if (!task) throw new WardenError('not_found', `task ${taskId} not found on this case`);
    return task;
  }

  private async change(
    principal: Principal,
    idOrNumber: string,
    apply: (c: Case, now: string) => CaseChange | CaseChange[],
    touchesOnlyTimeline = false,
  ): Promise<Case> {
    const { id } = await this.visibleCase(principal, idOrNumber);
    return this.store.transaction(async (tx) => {
      const c = await tx.getCase(id);
      if (!c) throw new WardenError('not_found', `case ${idOrNumber} not found`);
      const now = this.clock().toISOString();
      const wasClosed = c.status === 'closed';
      const result = apply(c, now);
      const changes = Array.isArray(result) ? result : [result];
      if (changes.length === 0) return c;
      if (touchesOnlyTimeline) c.updatedAt = now;
      await tx.updateCase(c);
      if (c.status === 'closed') await tx.removeCorrelationKeys(c.id);
      if (changes.some((ch) => ch.kind === 'reopened')) {
        await tx.addCorrelationKeys(c.id, c.correlationKeys);
      }
      for (const change of changes) await this.record(tx, principal, c, now, change);
      if (c.status === 'closed' && !wasClosed) await this.closedCaseRuns?.queue(tx, c, now);
      return c;
    });
  }

  private async record(
    tx: StoreTransaction,
    principal: Principal,
    c: Case,
    at: string,
    change: CaseChange,
  ): Promise<string> {
    const actor = principal.name;
    const entryId = uuidv7();
    await tx.appendTimeline({
      id: entryId,
      caseId: c.id,
      at,
      actor,
      kind: change.kind,
      message: change.message,
      data: change.data,
    });
    await tx.appendAudit({
      at,
      actor,
      action: `case.${change.kind}`,
      subject: c.id,
      data: { message: change.message, tokenId: principal.tokenId, ...change.data },
    });
    return entryId;
  }
}
