import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from './case.js';
import { caseTasks, markTask } from './case-tasks.js';
import { WardenError } from './errors.js';

let n = 0;
function entry(
  kind: TimelineEntry['kind'],
  message: string,
  data: Record<string, unknown> = {},
  actor = 'alice',
): TimelineEntry {
  n += 1;
  return {
    id: `e${String(n).padStart(3, '0')}`,
    caseId: 'c1',
    at: `2026-11-28T10:00:${String(n).padStart(2, '0')}.000Z`,
    actor,
    kind,
    message,
    data,
  };
}

describe('caseTasks', () => {
  it('folds each task’s entries into its current state, oldest task first', () => {
    const review = entry(
      'task',
      'Review the rule',
      { runId: 'run-1', stepId: 'note' },
      'playbook:p',
    );
    const call = entry('task', 'Call the owner');
    const entries = [
      review,
      call,
      entry('task_done', 'done: Review the rule', { taskId: review.id }, 'bob'),
      entry('comment', 'not a task'),
      entry('task_done', 'done: Call the owner', { taskId: call.id }, 'carol'),
      entry('task_reopened', 'not done: Call the owner', { taskId: call.id }, 'dave'),
    ];
    expect(caseTasks(entries)).toEqual([
      {
        id: review.id,
        text: 'Review the rule',
        createdAt: review.at,
        createdBy: 'playbook:p',
        runId: 'run-1',
        done: true,
        doneAt: entries[2]?.at,
        doneBy: 'bob',
      },
      {
        id: call.id,
        text: 'Call the owner',
        createdAt: call.at,
        createdBy: 'alice',
        runId: null,
        done: false,
        doneAt: null,
        doneBy: null,
      },
    ]);
  });

  it('ignores a mark for a task it has not seen', () => {
    expect(caseTasks([entry('task_done', 'done: ?', { taskId: 'nope' })])).toEqual([]);
  });
});

describe('markTask', () => {
  const task = entry('task', 'Rotate the key');
  const tasks = caseTasks([task]);

  it('gives the change that marks it done, with the note, or not done again', () => {
    expect(markTask(tasks, task.id, true, 'rotated at 10:05')).toEqual({
      kind: 'task_done',
      message: 'done: Rotate the key (rotated at 10:05)',
      data: { taskId: task.id, note: 'rotated at 10:05' },
    });
    const done = caseTasks([task, entry('task_done', 'done', { taskId: task.id })]);
    expect(markTask(done, task.id, false, null)).toEqual({
      kind: 'task_reopened',
      message: 'not done: Rotate the key',
      data: { taskId: task.id },
    });
  });

  it('changes nothing when the task is so already', () => {
    expect(markTask(tasks, task.id, false, null)).toBeNull();
  });

  it('names a task the case does not have', () => {
    let error: unknown;
    try {
      markTask(tasks, 'e999', true, null);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WardenError);
    expect(error).toMatchObject({ code: 'not_found', message: 'task e999 not found on this case' });
  });
});
