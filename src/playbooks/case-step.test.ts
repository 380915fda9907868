import { describe, expect, it } from 'vitest';
import { emptyObservables, type NormalizedAlert } from '../core/alert.js';
import { openCaseFor, type Case } from '../core/case.js';
import { applyCaseStep } from './case-step.js';
import type { CaseCommandUpdate } from './run-machine.js';

const NOW = '2026-03-01T13:00:00.000Z';

function openCase(): Case {
  const alert: NormalizedAlert = {
    id: 'alert-1',
    dedupKey: 'dedup-1',
    source: { format: 'native', product: 'p', vendor: 'v' },
    type: 'inference_spike',
    title: 'Spike',
    severityId: 3,
    severity: 'Medium',
    firstSeen: '2026-03-01T12:00:00.000Z',
    lastSeen: '2026-03-01T12:05:00.000Z',
    count: 1,
    observables: { ...emptyObservables(), ips: ['203.0.113.7'], users: ['mallory'] },
    atlasTechniques: ['AML.T0029'],
    raw: {},
    receivedAt: '2026-03-01T12:06:00.000Z',
    enrichment: {
      modelId: 'customer-churn',
      businessUnit: 'retail-banking',
      tier: 1,
      owner: 'ml@bank.example',
      blastRadius: ['credit-risk'],
      allowlisted: [],
    },
  };
  return openCaseFor(alert, ['model:customer-churn', 'range:203.0.113.0/24'], {
    id: 'case-1',
    number: 1,
    now: NOW,
  });
}

/** Freezes every object and list below the top level, which stays writable. */
function freezeBelowTop(c: Case): Case {
  const freeze = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
    for (const inner of Object.values(value)) freeze(inner);
    Object.freeze(value);
  };
  for (const value of Object.values(c)) freeze(value);
  return c;
}

describe('applyCaseStep', () => {
  const updates: [string, CaseCommandUpdate][] = [
    ['phase and note', { phase: 'containment', note: 'blocked' }],
    ['status', { status: 'in_progress' }],
    ['severity', { severity: 'Critical' }],
    ['task', { task: 'check the range' }],
    ['close', { close: { reason: 'true_positive_contained', note: 'done' } }],
  ];

  // The executor gives it a shallow copy of the store's case, sharing everything nested.
  it.each(updates)('changes only top-level fields: %s', (_name, update) => {
    const c = freezeBelowTop(openCase());
    const nested = JSON.stringify({ o: c.observables, k: c.correlationKeys, m: c.modelIds });
    const changes = applyCaseStep(c, update, NOW);
    expect(changes.length).toBeGreaterThan(0);
    expect(JSON.stringify({ o: c.observables, k: c.correlationKeys, m: c.modelIds })).toBe(nested);
  });

  it('applies what it is asked, in the order an analyst reads it', () => {
    const c = openCase();
    const changes = applyCaseStep(
      c,
      { note: 'seen', phase: 'containment', severity: 'Low', task: 'review' },
      NOW,
    );
    expect(changes.map((change) => change.kind)).toEqual([
      'comment',
      'phase_changed',
      'severity_changed',
      'task',
    ]);
    expect(c.phase).toBe('containment');
    expect(c.severity).toBe('Low');
    expect(c.severitySetBy).toBe('playbook');
  });
});
