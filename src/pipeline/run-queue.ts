import type { Case } from '../core/case.js';
import { uuidv7 } from '../core/ids.js';
import type { JsonValue, Playbook } from '../playbooks/playbook.js';
import { triggersForClosedCase, type RunTrigger } from '../playbooks/run-trigger.js';
import type { PlaybookRunRecord, Store, StoreTransaction } from '../store/store.js';

/** How a playbook's runs sign the timeline and the audit log. */
export const playbookActor = (playbookId: string): string => `playbook:${playbookId}`;

/** A run as queued: the executor that finds it in the store starts it. */
export function newRunRecord(
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

/**
 * Queues a run of each triggered playbook in the caller's transaction, with
 * its first trace event and the case's timeline entry, so a committed case
 * change never misses its playbooks. The runs, in `triggers` order.
 */
export async function queueTriggeredRuns(
  tx: StoreTransaction,
  playbooks: ReadonlyMap<string, Playbook>,
  triggers: readonly RunTrigger[],
  c: Pick<Case, 'id' | 'businessUnit'>,
  alertId: string,
  now: string,
): Promise<PlaybookRunRecord[]> {
  const runs: PlaybookRunRecord[] = [];
  for (const trigger of triggers) {
    const playbook = playbooks.get(trigger.playbookId);
    if (!playbook) continue;
    const run = newRunRecord(playbook, c, alertId, now, {}, null);
    await tx.insertRun(run);
    await tx.appendRunEvents(run.id, [
      { at: now, kind: 'run_queued', stepId: null, data: { reason: trigger.reason } },
    ]);
    await tx.appendTimeline({
      id: uuidv7(),
      caseId: c.id,
      at: now,
      actor: playbookActor(playbook.id),
      kind: 'playbook_queued',
      message: `playbook ${playbook.id} v${playbook.version} queued: ${trigger.reason}`,
      data: { runId: run.id, playbookId: playbook.id, version: playbook.version },
    });
    runs.push(run);
  }
  return runs;
}

/**
 * Queues the `case_closed` playbooks of a case that has just closed, inside
 * the transaction that closes it. Whoever closes a case (an analyst, a
 * playbook) calls it; the executor finds the runs in the store, on whatever
 * thread it runs.
 */
export class ClosedCaseRuns {
  private readonly any: boolean;

  constructor(
    private readonly store: Store,
    /** Every loaded playbook by id (those on case_closed start; `playbook` steps may call others). */
    private readonly playbooks: ReadonlyMap<string, Playbook>,
  ) {
    this.any = [...playbooks.values()].some((p) => p.trigger.on === 'case_closed');
  }

  /** How many runs were queued for the closed case `c`. */
  async queue(tx: StoreTransaction, c: Case, now: string): Promise<number> {
    if (!this.any) return 0;
    // The alert that opened the case is the runs' `alert`.
    const [first] = await this.store.listCaseAlerts(c.id, 1);
    if (!first) return 0;
    const triggers = triggersForClosedCase(first, c, this.playbooks);
    return (await queueTriggeredRuns(tx, this.playbooks, triggers, c, first.id, now)).length;
  }
}
