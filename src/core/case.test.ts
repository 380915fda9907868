import { describe, expect, it } from 'vitest';
import {
  emptyObservables,
  severityLabel,
  type AlertEnrichment,
  type AlertObservables,
  type NormalizedAlert,
} from './alert.js';
import {
  CASE_OBSERVABLE_LIMIT,
  applyCaseUpdate,
  caseHasCorrelationKey,
  closeCase,
  linkAlertToCase,
  openCaseFor,
  recordRepeatOnCase,
  rebuildCaseFromAlerts,
  reopenCase,
  withWorkflowOf,
  type Case,
  type ClosureReason,
} from './case.js';
import { caseSeverityOf } from './case-severity.js';
import { WardenError } from './errors.js';

const NOW = '2026-03-01T13:00:00.000Z';
const LATER = '2026-03-01T14:00:00.000Z';

const churn: AlertEnrichment = {
  modelId: 'churn',
  modelName: 'Churn Predictor',
  businessUnit: 'retail',
  tier: 2,
  owner: 'retail-ml@example.com',
  environment: 'production',
  blastRadius: ['fraud', 'recs'],
  allowlisted: [],
};

const fraud: AlertEnrichment = {
  modelId: 'fraud',
  modelName: 'Fraud Scorer',
  businessUnit: 'payments',
  tier: 1,
  owner: 'fraud-ml@example.com',
  environment: 'production',
  blastRadius: ['churn', 'ledger'],
  allowlisted: [],
};

let serial = 0;

function alert(
  overrides: Partial<NormalizedAlert> = {},
  observables: Partial<AlertObservables> = {},
): NormalizedAlert {
  serial += 1;
  return {
    id: `alert-${serial}`,
    dedupKey: `dedup-${serial}`,
    source: { format: 'native', product: 'p', vendor: 'v' },
    type: 'prompt_injection',
    title: 'Injected instructions',
    severityId: 3,
    severity: 'Medium',
    firstSeen: '2026-03-01T12:00:00.000Z',
    lastSeen: '2026-03-01T12:05:00.000Z',
    count: 2,
    observables: { ...emptyObservables(), ips: ['203.0.113.7'], ...observables },
    atlasTechniques: ['AML.T0051'],
    raw: {},
    receivedAt: '2026-03-01T12:06:00.000Z',
    enrichment: { ...churn, blastRadius: [...churn.blastRadius] },
    ...overrides,
  };
}

function open(a: NormalizedAlert = alert(), keys: string[] = ['k1']): Case {
  return openCaseFor(a, keys, { id: 'case-1', number: 1, now: NOW });
}

function errorOf(run: () => unknown): WardenError {
  try {
    run();
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected a WardenError');
}

describe('openCaseFor', () => {
  it('opens a case from its first alert', () => {
    const a = alert(
      {},
      {
        ips: ['203.0.113.7', '2001:db8::1'],
        cidrs: ['198.51.100.0/24'],
        users: ['alice'],
        apiKeyIds: ['key-1'],
        sessionIds: ['s-1'],
        urls: ['https://x.example/'],
        toolCalls: [{ name: 'sql_query', arguments: { q: 1 } }, { name: 'web_search' }],
        dataset: { id: 'ds-1', hash: 'sha256:ab' },
        model: { id: 'churn' },
      },
    );
    const keys = ['k1', 'k2'];
    const c = openCaseFor(a, keys, { id: 'case-9', number: 9, now: NOW });

    expect(c).toMatchObject({
      id: 'case-9',
      number: 9,
      title: 'prompt injection on Churn Predictor',
      status: 'open',
      phase: 'detection_analysis',
      tier: 2,
      businessUnit: 'retail',
      modelIds: ['churn'],
      owner: 'retail-ml@example.com',
      assignee: null,
      alertTypes: ['prompt_injection'],
      atlasTechniques: ['AML.T0051'],
      blastRadius: ['fraud', 'recs'],
      allowlisted: [],
      allAllowlisted: false,
      alertCount: 1,
      eventCount: 2,
      maxAlertSeverityId: 3,
      firstSeen: a.firstSeen,
      lastSeen: a.lastSeen,
      createdAt: NOW,
      updatedAt: NOW,
      closedAt: null,
      closureReason: null,
      closureNote: null,
      correlationKeys: ['k1', 'k2'],
    });
    expect(c.observables).toEqual({
      ips: ['203.0.113.7', '2001:db8::1'],
      sourceRanges: ['203.0.113.0/24', expect.stringMatching(/\/64$/), '198.51.100.0/24'],
      users: ['alice'],
      apiKeyIds: ['key-1'],
      sessionIds: ['s-1'],
      datasets: ['ds-1'],
      datasetHashes: ['sha256:ab'],
      toolCalls: ['sql_query', 'web_search'],
      urls: ['https://x.example/'],
    });
    // Scored by the case-severity rules, not copied from the alert.
    const expected = caseSeverityOf({
      maxAlertSeverity: 3,
      alertTypes: ['prompt_injection'],
      tier: 2,
      allAllowlisted: false,
    });
    expect(c.severityId).toBe(expected.severityId);
    expect(c.severity).toBe(severityLabel(expected.severityId));
    expect(c.severityReason).toBe(expected.reason);
  });

  it('copies what it keeps, so later changes to the alert or keys do not leak in', () => {
    const a = alert();
    const keys = ['k1'];
    const c = openCaseFor(a, keys, { id: 'c', number: 1, now: NOW });
    keys.push('k2');
    a.atlasTechniques.push('AML.T0054');
    a.enrichment.blastRadius.push('other');
    expect(c.correlationKeys).toEqual(['k1']);
    expect(c.atlasTechniques).toEqual(['AML.T0051']);
    expect(c.blastRadius).toEqual(['fraud', 'recs']);
  });

  it('raises severity for a tier-1 model', () => {
    const c = open(alert({ severityId: 3, enrichment: { ...fraud } }));
    expect(c.severityId).toBe(4);
    expect(c.severity).toBe('High');
  });

  it('titles the case after the observed model, dataset or alert title when the inventory has no name', () => {
    const bare = { blastRadius: [], allowlisted: [] };
    expect(open(alert({ enrichment: bare }, { model: { id: 'm-x' } })).title).toBe(
      'prompt injection on m-x',
    );
    expect(
      open(alert({ enrichment: bare, type: 'data_poisoning' }, { dataset: { id: 'ds-9' } })).title,
    ).toBe('data poisoning on ds-9');
    expect(open(alert({ enrichment: bare, title: 'Odd thing' })).title).toBe('Odd thing');
  });

  it('leaves unit, tier and owner null when the alert is not attributed', () => {
    const c = open(alert({ enrichment: { blastRadius: [], allowlisted: [] } }));
    expect(c).toMatchObject({ tier: null, businessUnit: null, owner: null, modelIds: [] });
  });

  it('flags an allow-listed first alert and caps severity at Low', () => {
    const match = { list: 'scanners', cidr: '198.51.100.0/24', ip: '198.51.100.4' };
    const c = open(
      alert(
        { severityId: 5, enrichment: { ...fraud, allowlisted: [match] } },
        { ips: ['198.51.100.4'] },
      ),
    );
    expect(c.allAllowlisted).toBe(true);
    expect(c.allowlisted).toEqual([match]);
    expect(c.severityId).toBe(2);
  });

  // Bug: allAllowlisted is set when ANY of the alert's addresses matched the
  // allow-list, so an alert from an attacker address that also carries one
  // allow-listed address (e.g. a forged X-Forwarded-For) is capped at Low.
  it('does not treat an alert with a non-allow-listed address as allow-listed', () => {
    const match = { list: 'scanners', cidr: '198.51.100.0/24', ip: '198.51.100.4' };
    const c = open(
      alert(
        { severityId: 5, enrichment: { ...fraud, allowlisted: [match] } },
        { ips: ['198.51.100.4', '203.0.113.66'] },
      ),
    );
    expect(c.allAllowlisted).toBe(false);
    expect(c.severityId).toBe(5);
  });

  it('keeps at most CASE_OBSERVABLE_LIMIT values of each kind', () => {
    const ips = Array.from({ length: CASE_OBSERVABLE_LIMIT + 50 }, (_, i) => `10.${i}.0.1`);
    const c = open(alert({}, { ips, users: ips.map((ip) => `u-${ip}`) }));
    expect(c.observables.ips).toEqual(ips.slice(0, CASE_OBSERVABLE_LIMIT));
    expect(c.observables.sourceRanges).toHaveLength(CASE_OBSERVABLE_LIMIT);
    expect(c.observables.users).toHaveLength(CASE_OBSERVABLE_LIMIT);
  });
});

describe('linkAlertToCase', () => {
  it('adds counts, types, techniques and models, and tracks the extremes', () => {
    const c = open(alert({ count: 2, severityId: 3 }));
    const next = alert(
      {
        type: 'jailbreak',
        severityId: 4,
        count: 5,
        atlasTechniques: ['AML.T0051', 'AML.T0054'],
        firstSeen: '2026-03-01T11:00:00.000Z',
        lastSeen: '2026-03-01T12:30:00.000Z',
        enrichment: { ...churn, modelId: 'churn-v2', blastRadius: [] },
      },
      { ips: ['203.0.113.8'] },
    );
    const result = linkAlertToCase(c, next, ['k1', 'k3'], LATER);

    expect(result).toBe(c);
    expect(c.alertCount).toBe(2);
    expect(c.eventCount).toBe(7);
    expect(c.maxAlertSeverityId).toBe(4);
    expect(c.alertTypes).toEqual(['prompt_injection', 'jailbreak']);
    expect(c.atlasTechniques).toEqual(['AML.T0051', 'AML.T0054']);
    expect(c.modelIds).toEqual(['churn', 'churn-v2']);
    expect(c.correlationKeys).toEqual(['k1', 'k3']);
    expect(c.observables.ips).toEqual(['203.0.113.7', '203.0.113.8']);
    expect(c.observables.sourceRanges).toEqual(['203.0.113.0/24']);
    expect(c.firstSeen).toBe('2026-03-01T11:00:00.000Z');
    expect(c.lastSeen).toBe('2026-03-01T12:30:00.000Z');
    expect(c.updatedAt).toBe(LATER);
    expect(c.createdAt).toBe(NOW);
    expect(c.severityId).toBe(4);
  });

  it('keeps the extremes when a later alert is inside them', () => {
    const c = open(
      alert({
        firstSeen: '2026-03-01T10:00:00.000Z',
        lastSeen: '2026-03-01T12:00:00.000Z',
        severityId: 5,
      }),
    );
    linkAlertToCase(
      c,
      alert({
        firstSeen: '2026-03-01T11:00:00.000Z',
        lastSeen: '2026-03-01T11:30:00.000Z',
        severityId: 2,
      }),
      [],
      LATER,
    );
    expect(c.firstSeen).toBe('2026-03-01T10:00:00.000Z');
    expect(c.lastSeen).toBe('2026-03-01T12:00:00.000Z');
    expect(c.maxAlertSeverityId).toBe(5);
  });

  it('takes the most critical tier, and that model’s unit and owner', () => {
    const c = open();
    linkAlertToCase(c, alert({ enrichment: { ...fraud } }), [], LATER);
    expect(c.tier).toBe(1);
    expect(c.businessUnit).toBe('payments');
    expect(c.owner).toBe('fraud-ml@example.com');

    // A less critical model afterwards changes nothing.
    linkAlertToCase(
      c,
      alert({ enrichment: { ...churn, modelId: 'lab', tier: 3, businessUnit: 'lab', owner: 'x' } }),
      [],
      LATER,
    );
    expect(c.tier).toBe(1);
    expect(c.businessUnit).toBe('payments');
    expect(c.owner).toBe('fraud-ml@example.com');
  });

  it('fills unit, tier and owner from the first attributed alert', () => {
    const c = open(alert({ enrichment: { blastRadius: [], allowlisted: [] } }));
    linkAlertToCase(c, alert(), [], LATER);
    expect(c).toMatchObject({ tier: 2, businessUnit: 'retail', owner: 'retail-ml@example.com' });
  });

  it('keeps the case’s own models out of its blast radius', () => {
    const c = open();
    expect(c.blastRadius).toEqual(['fraud', 'recs']);
    linkAlertToCase(c, alert({ enrichment: { ...fraud } }), [], LATER);
    expect(c.modelIds).toEqual(['churn', 'fraud']);
    expect(c.blastRadius).toEqual(['recs', 'ledger']);
  });

  it('stays allow-listed only while every alert is', () => {
    const m1 = { list: 'scanners', cidr: '198.51.100.0/24', ip: '198.51.100.4' };
    const m2 = { list: 'scanners', cidr: '198.51.100.0/24', ip: '198.51.100.5' };
    const c = open(alert({ enrichment: { ...churn, allowlisted: [m1] } }, { ips: [m1.ip] }));
    linkAlertToCase(
      c,
      alert({ enrichment: { ...churn, allowlisted: [m1, m2] } }, { ips: [m1.ip, m2.ip] }),
      [],
      LATER,
    );
    expect(c.allAllowlisted).toBe(true);
    expect(c.allowlisted).toEqual([m1, m2]);
    expect(c.severityId).toBe(2);

    linkAlertToCase(c, alert({ severityId: 4 }, { ips: ['203.0.113.9'] }), [], LATER);
    expect(c.allAllowlisted).toBe(false);
    expect(c.allowlisted).toEqual([m1, m2]);
    expect(c.severityId).toBe(4);

    // Once a non-allow-listed alert joined, later allow-listed ones do not flip it back.
    linkAlertToCase(
      c,
      alert({ enrichment: { ...churn, allowlisted: [m1] } }, { ips: [m1.ip] }),
      [],
      LATER,
    );
    expect(c.allAllowlisted).toBe(false);
  });

  it('keeps each observable kind, allow-list matches and techniques bounded', () => {
    const c = open();
    for (let i = 0; i < CASE_OBSERVABLE_LIMIT + 20; i++) {
      const ip = `10.0.${i}.1`;
      linkAlertToCase(
        c,
        alert(
          {
            atlasTechniques: [`AML.T${String(1000 + i)}`],
            enrichment: { ...churn, allowlisted: [{ list: 'l', cidr: '10.0.0.0/8', ip }] },
          },
          { ips: [ip], sessionIds: [`s-${i}`] },
        ),
        [],
        LATER,
      );
    }
    expect(c.alertCount).toBe(CASE_OBSERVABLE_LIMIT + 21);
    expect(c.observables.ips).toHaveLength(CASE_OBSERVABLE_LIMIT);
    expect(c.observables.ips[0]).toBe('203.0.113.7');
    expect(c.observables.sourceRanges).toHaveLength(CASE_OBSERVABLE_LIMIT);
    expect(c.observables.sessionIds).toHaveLength(CASE_OBSERVABLE_LIMIT);
    expect(c.allowlisted).toHaveLength(CASE_OBSERVABLE_LIMIT);
    expect(c.atlasTechniques).toHaveLength(CASE_OBSERVABLE_LIMIT);
  });

  it('keeps long lists free of repeats, in first-seen order, across copies of the case', () => {
    let c = open(alert(), ['k0']);
    const seen: string[] = ['k0'];
    const users: string[] = [];
    // Keys and users come back again and again, as a campaign's would.
    for (let i = 0; i < 600; i++) {
      const keys = [`k${i % 250}`, `k${(i * 7) % 300}`];
      const user = `u${i % 80}`;
      linkAlertToCase(c, alert({}, { users: [user] }), keys, LATER);
      for (const k of keys) if (!seen.includes(k)) seen.push(k);
      if (!users.includes(user) && users.length < CASE_OBSERVABLE_LIMIT) users.push(user);
      expect(caseHasCorrelationKey(c, keys[0] as string)).toBe(true);
      // A copy (as the store and playbooks make) has lists of its own.
      if (i === 300) c = JSON.parse(JSON.stringify(c)) as Case;
    }
    expect(c.correlationKeys).toEqual(seen);
    expect(c.observables.users).toEqual(users);
    expect(caseHasCorrelationKey(c, 'k299')).toBe(true);
    expect(caseHasCorrelationKey(c, 'k300')).toBe(false);
    expect(caseHasCorrelationKey(c, 'never')).toBe(false);
  });
});

describe('recordRepeatOnCase', () => {
  it('adds events and moves last-seen forward only', () => {
    const c = open(alert({ count: 2, lastSeen: '2026-03-01T12:05:00.000Z' }));
    recordRepeatOnCase(c, 3, '2026-03-01T12:45:00.000Z', LATER);
    expect(c.eventCount).toBe(5);
    expect(c.alertCount).toBe(1);
    expect(c.lastSeen).toBe('2026-03-01T12:45:00.000Z');
    expect(c.updatedAt).toBe(LATER);
    recordRepeatOnCase(c, 1, '2026-03-01T12:10:00.000Z', LATER);
    expect(c.eventCount).toBe(6);
    expect(c.lastSeen).toBe('2026-03-01T12:45:00.000Z');
  });
});

describe('applyCaseUpdate', () => {
  it('moves an open case to in_progress when it is assigned', () => {
    const c = open();
    const changes = applyCaseUpdate(c, { assignee: 'bob' }, LATER);
    expect(changes).toEqual([
      { kind: 'assigned', message: 'assigned to bob', data: { from: null, to: 'bob' } },
      {
        kind: 'status_changed',
        message: 'status open → in_progress',
        data: { from: 'open', to: 'in_progress' },
      },
    ]);
    expect(c.assignee).toBe('bob');
    expect(c.status).toBe('in_progress');
    expect(c.updatedAt).toBe(LATER);
  });

  it('keeps an open case open when the same update says so', () => {
    const c = open();
    const changes = applyCaseUpdate(c, { assignee: 'bob', status: 'open' }, LATER);
    expect(changes.map((ch) => ch.kind)).toEqual(['assigned']);
    expect(c.status).toBe('open');
  });

  it('emits one change per changed field, and none for unchanged ones', () => {
    const c = open();
    c.assignee = 'bob';
    c.status = 'in_progress';
    const changes = applyCaseUpdate(
      c,
      { assignee: 'bob', phase: 'containment', status: 'in_progress' },
      LATER,
    );
    expect(changes).toEqual([
      {
        kind: 'phase_changed',
        message: 'phase detection_analysis → containment',
        data: { from: 'detection_analysis', to: 'containment' },
      },
    ]);
    expect(c.phase).toBe('containment');
  });

  it('changes assignee, phase and status together', () => {
    const c = open();
    const changes = applyCaseUpdate(
      c,
      { assignee: 'carol', phase: 'eradication', status: 'in_progress' },
      LATER,
    );
    expect(changes.map((ch) => ch.kind)).toEqual(['assigned', 'phase_changed', 'status_changed']);
    expect(c).toMatchObject({ assignee: 'carol', phase: 'eradication', status: 'in_progress' });
  });

  it('unassigns without moving the status back', () => {
    const c = open();
    applyCaseUpdate(c, { assignee: 'bob' }, NOW);
    const changes = applyCaseUpdate(c, { assignee: null }, LATER);
    expect(changes).toEqual([
      { kind: 'assigned', message: 'unassigned', data: { from: 'bob', to: null } },
    ]);
    expect(c.assignee).toBeNull();
    expect(c.status).toBe('in_progress');
  });

  it('moves status back to open on request', () => {
    const c = open();
    c.status = 'in_progress';
    expect(applyCaseUpdate(c, { status: 'open' }, LATER)).toEqual([
      {
        kind: 'status_changed',
        message: 'status in_progress → open',
        data: { from: 'in_progress', to: 'open' },
      },
    ]);
  });

  it('returns no changes and leaves updatedAt alone for a no-op update', () => {
    const c = open();
    expect(applyCaseUpdate(c, {}, LATER)).toEqual([]);
    expect(applyCaseUpdate(c, { phase: 'detection_analysis', status: 'open' }, LATER)).toEqual([]);
    expect(c.updatedAt).toBe(NOW);
  });

  it('rejects any update to a closed case with case_closed', () => {
    const c = open();
    closeCase(c, 'benign', null, NOW);
    const error = errorOf(() => applyCaseUpdate(c, { assignee: 'bob' }, LATER));
    expect(error.code).toBe('case_closed');
    expect(error.status).toBe(409);
    expect(c.assignee).toBeNull();
    expect(errorOf(() => applyCaseUpdate(c, {}, LATER)).code).toBe('case_closed');
  });

  it('rejects an unknown phase with invalid_field', () => {
    const c = open();
    const error = errorOf(() => applyCaseUpdate(c, { phase: 'panic' as never }, LATER));
    expect(error.code).toBe('invalid_field');
    expect(error.field).toBe('phase');
    expect(c.phase).toBe('detection_analysis');
  });

  // Bug: the assignee (and status) are changed before the phase is validated,
  // so a rejected update leaves the case half-updated.
  it('leaves the case untouched when an update is rejected', () => {
    const c = open();
    const before = structuredClone(c);
    expect(() => applyCaseUpdate(c, { assignee: 'bob', phase: 'panic' as never }, LATER)).toThrow(
      WardenError,
    );
    expect(c).toEqual(before);
  });
});

describe('closeCase and reopenCase', () => {
  it('closes with a reason and a note', () => {
    const c = open();
    const change = closeCase(c, 'true_positive_contained', 'blocked the /24', LATER);
    expect(change).toEqual({
      kind: 'closed',
      message: 'closed: true_positive_contained — blocked the /24',
      data: { reason: 'true_positive_contained', note: 'blocked the /24' },
    });
    expect(c).toMatchObject({
      status: 'closed',
      closedAt: LATER,
      closureReason: 'true_positive_contained',
      closureNote: 'blocked the /24',
      updatedAt: LATER,
    });
  });

  it('closes without a note', () => {
    const c = open();
    expect(closeCase(c, 'false_positive', null, LATER).message).toBe('closed: false_positive');
    expect(c.closureNote).toBeNull();
  });

  it('rejects an unknown reason with invalid_field and stays open', () => {
    const c = open();
    const error = errorOf(() => closeCase(c, 'bored' as ClosureReason, null, LATER));
    expect(error.code).toBe('invalid_field');
    expect(error.field).toBe('reason');
    expect(c.status).toBe('open');
    expect(c.closedAt).toBeNull();
  });

  it('will not close a closed case', () => {
    const c = open();
    closeCase(c, 'benign', null, NOW);
    expect(errorOf(() => closeCase(c, 'duplicate', null, LATER)).code).toBe('case_closed');
    expect(c.closureReason).toBe('benign');
  });

  it('reopens a closed case, clearing the closure', () => {
    const c = open();
    closeCase(c, 'benign', 'scanner', NOW);
    const change = reopenCase(c, 'it came back', LATER);
    expect(change).toEqual({
      kind: 'reopened',
      message: 'reopened: it came back',
      data: { previousReason: 'benign', note: 'it came back' },
    });
    expect(c).toMatchObject({
      status: 'open',
      closedAt: null,
      closureReason: null,
      closureNote: null,
      updatedAt: LATER,
    });
    // Open again, so it takes updates.
    expect(applyCaseUpdate(c, { phase: 'containment' }, LATER)).toHaveLength(1);
  });

  it('will not reopen a case that is not closed', () => {
    const c = open();
    expect(errorOf(() => reopenCase(c, null, LATER)).code).toBe('conflict');
    expect(reopenCase(closeCaseAnd(c), null, LATER).message).toBe('reopened');
  });
});

function closeCaseAnd(c: Case): Case {
  closeCase(c, 'duplicate', null, NOW);
  return c;
}

describe('withWorkflowOf', () => {
  it('keeps the workflow fields of the stored case and the alert fields of the current one', () => {
    const stored = open();
    closeCase(stored, 'false_positive', 'scanner', LATER);
    stored.assignee = 'dana';
    stored.phase = 'containment';
    const current = open();
    linkAlertToCase(current, alert({ severityId: 5 }, { users: ['mallory'] }), ['k2'], NOW);
    const merged = withWorkflowOf(current, stored);
    expect(merged).toMatchObject({
      status: 'closed',
      closureReason: 'false_positive',
      closureNote: 'scanner',
      closedAt: LATER,
      assignee: 'dana',
      phase: 'containment',
      updatedAt: LATER,
      alertCount: 2,
      maxAlertSeverityId: 5,
      correlationKeys: ['k1', 'k2'],
    });
    expect(merged.observables.users).toEqual(['mallory']);
    expect(merged.severityId).toBe(current.severityId);
  });

  it('keeps a severity a playbook set on the stored case; otherwise the policy decides', () => {
    const stored = open();
    Object.assign(stored, {
      severityId: 1,
      severity: 'Informational',
      severityReason: 'set by playbook',
      severitySetBy: 'playbook',
    });
    const current = open();
    linkAlertToCase(current, alert({ severityId: 5 }), ['k1'], NOW);
    expect(withWorkflowOf(current, stored)).toMatchObject({
      severityId: 1,
      severitySetBy: 'playbook',
    });
    const policy = withWorkflowOf(current, open());
    expect(policy.severitySetBy).toBeUndefined();
    expect(policy.severityId).toBe(5);
  });
});

describe('rebuildCaseFromAlerts', () => {
  it('rebuilds what linking did from the written case, even when given alerts it already had', () => {
    const first = alert();
    const second = alert(
      { severityId: 5, lastSeen: '2026-03-01T12:09:00.000Z' },
      { users: ['eve'] },
    );
    const third = alert({}, { ips: ['198.51.100.4'] });
    const written = open(first);
    const live = structuredClone(written);
    linkAlertToCase(live, second, ['k2'], NOW);
    recordRepeatOnCase(live, 4, '2026-03-01T12:30:00.000Z', NOW);
    linkAlertToCase(live, third, ['k3'], LATER);
    const rebuilt = rebuildCaseFromAlerts(
      written,
      [first, second, third].map((a, i) => ({ alert: a, keys: [`k${i + 1}`] })),
      {
        alertCount: 3,
        eventCount: live.eventCount,
        firstSeen: '2026-03-01T12:00:00.000Z',
        lastSeen: '2026-03-01T12:30:00.000Z',
      },
    );
    expect(rebuilt).toEqual({ ...live, updatedAt: rebuilt.updatedAt });
    expect(written.alertCount).toBe(1);
  });
});
