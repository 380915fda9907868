import { severityIdFromLabel } from '../core/alert.js';
import { applyCaseUpdate, closeCase, type Case, type CaseChange } from '../core/case.js';
import type { CaseCommandUpdate } from './run-machine.js';

/**
 * Applies what a `case` step asks for to a case (mutating it) and returns the
 * timeline changes, in the order an analyst reads them: the note first, then
 * field changes, the task, and closing last. Validation happens before any
 * change, so a rejected update (e.g. on a closed case) leaves the case as it was.
 * It sets top-level fields only and never changes a nested object or list: the
 * executor hands it a shallow copy of the store's case.
 */
export function applyCaseStep(c: Case, update: CaseCommandUpdate, now: string): CaseChange[] {
  const changes: CaseChange[] = [];
  const fields = {
    ...(update.phase ? { phase: update.phase } : {}),
    ...(update.status ? { status: update.status } : {}),
  };
  // Throws on a closed case before anything changes.
  const fieldChanges = applyCaseUpdate(c, fields, now);
  if (update.note) changes.push({ kind: 'comment', message: update.note, data: {} });
  changes.push(...fieldChanges);
  if (update.severity) {
    const id = severityIdFromLabel(update.severity);
    if (id !== undefined && id !== c.severityId) {
      changes.push({
        kind: 'severity_changed',
        message: `severity ${c.severity} → ${update.severity} (set by playbook)`,
        data: { from: c.severityId, to: id, reason: 'set by playbook' },
      });
      c.severityId = id;
      c.severity = update.severity;
      c.severityReason = 'set by playbook';
      c.severitySetBy = 'playbook';
      c.updatedAt = now;
    }
  }
  if (update.task) changes.push({ kind: 'task', message: update.task, data: {} });
  if (update.close) changes.push(closeCase(c, update.close.reason, update.close.note ?? null, now));
  return changes;
}
