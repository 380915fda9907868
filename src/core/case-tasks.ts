import type { CaseChange, TimelineEntry, TimelineKind } from './case.js';
import { WardenError } from './errors.js';

/**
 * A task on a case: something an analyst is to do, added by a playbook (a
 * `case` step's `task`, a handoff's `tasks`) or by an analyst, and marked
 * done (or not done again) by an analyst. A task is its timeline entry; its
 * state is the latest of the entries that marked it, so the timeline stays
 * the one record of who did what when.
 */
export interface CaseTask {
  /** The id of the timeline entry that added it. */
  id: string;
  text: string;
  createdAt: string;
  createdBy: string;
  /** The playbook run that added it, if one did. */
  runId: string | null;
  done: boolean;
  /** When and by whom it was last marked done; null while not done. */
  doneAt: string | null;
  doneBy: string | null;
}

/** The timeline kinds that make up a case's tasks. */
export const TASK_TIMELINE_KINDS: readonly TimelineKind[] = ['task', 'task_done', 'task_reopened'];

/** A case's tasks, oldest first, from its task entries (oldest first; other kinds are ignored). */
export function caseTasks(entries: readonly TimelineEntry[]): CaseTask[] {
  const tasks = new Map<string, CaseTask>();
  for (const entry of entries) {
    if (entry.kind === 'task') {
      const runId = entry.data.runId;
      tasks.set(entry.id, {
        id: entry.id,
        text: entry.message,
        createdAt: entry.at,
        createdBy: entry.actor,
        runId: typeof runId === 'string' ? runId : null,
        done: false,
        doneAt: null,
        doneBy: null,
      });
      continue;
    }
    if (entry.kind !== 'task_done' && entry.kind !== 'task_reopened') continue;
    const task = tasks.get(String(entry.data.taskId));
    if (!task) continue;
    task.done = entry.kind === 'task_done';
    task.doneAt = task.done ? entry.at : null;
    task.doneBy = task.done ? entry.actor : null;
  }
  return [...tasks.values()];
}

/**
 * The timeline change that marks a task done or not done, or null when it
 * is so already (marking twice is harmless, as a retried request must be).
 * `not_found` names a task the case does not have.
 */
export function markTask(
  tasks: readonly CaseTask[],
  taskId: string,
  done: boolean,
  note: string | null,
): CaseChange | null {
  const task = tasks.find((t) => t.id === taskId);
  if (!task) throw new WardenError('not_found', `task ${taskId} not found on this case`);
  if (task.done === done) return null;
  const said = `${done ? 'done' : 'not done'}: ${task.text}`;
  return {
    kind: done ? 'task_done' : 'task_reopened',
    message: note ? `${said} (${note})` : said,
    data: { taskId, ...(note ? { note } : {}) },
  };
}
