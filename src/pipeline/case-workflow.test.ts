import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../core/access.js';
import { emptyObservables, type NormalizedAlert } from '../core/alert.js';
import type { AuditEntry } from '../core/audit-chain.js';
import { openCaseFor, type Case } from '../core/case.js';
import { correlationKeysOf } from '../core/correlation.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { verifyAuditLog } from './audit-verification.js';
import { CaseWorkflow } from './case-workflow.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

const alice: Principal = { tokenId: 'tok-alice', name: 'alice', role: 'analyst', units: null };
const fraudOnly: Principal = {
  tokenId: 'tok-frank',
  name: 'frank',
  role: 'analyst',
  units: ['payments'],
};

function alertFor(businessUnit: string | undefined): NormalizedAlert {
  return {
    id: uuidv7(),
    dedupKey: uuidv7(),
    source: { format: 'native', product: 'p', vendor: 'v' },
    type: 'prompt_injection',
    title: 'Injected instructions',
    severityId: 3,
    severity: 'Medium',
    firstSeen: at(0),
    lastSeen: at(0),
    count: 1,
    observables: {
      ...emptyObservables(),
      ips: ['203.0.113.7'],
      users: [`mallory-${businessUnit ?? 'none'}`],
    },
    atlasTechniques: [],
    raw: {},
    receivedAt: at(0),
    enrichment: {
      ...(businessUnit ? { modelId: `${businessUnit}-model`, businessUnit, tier: 2 as const } : {}),
      blastRadius: [],
      allowlisted: [],
    },
  };
}

describe('CaseWorkflow', () => {
  let dir: string;
  let store: SqliteStore;
  let now: Date;
  let workflow: CaseWorkflow;
  let retailCase: Case;
  let paymentsCase: Case;
  let unscopedCase: Case;

  async function insertCase(businessUnit: string | undefined): Promise<Case> {
    const alert = alertFor(businessUnit);
    return store.transaction(async (tx) => {
      const c = openCaseFor(alert, correlationKeysOf(alert), {
        id: uuidv7(),
        number: await tx.nextCaseNumber(),
        now: at(0),
      });
      await tx.insertCase(c);
      await tx.addCorrelationKeys(c.id, c.correlationKeys);
      return c;
    });
  }

  function correlationKeyRows(caseId: string): number {
    const db = new Database(store.path, { readonly: true });
    try {
      const row = db
        .prepare('SELECT count(*) AS n FROM correlation_keys WHERE case_id = ?')
        .get(caseId) as { n: number };
      return row.n;
    } finally {
      db.close();
    }
  }

  async function findOpen(c: Case): Promise<Case | undefined> {
    return store.transaction((tx) => tx.findOpenCaseByKeys(c.correlationKeys, at(-60)));
  }

  async function audit(): Promise<AuditEntry[]> {
    return store.readAudit(0, 1000);
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-workflow-'));
    store = new SqliteStore({ dataDir: dir });
    now = new Date(T0 + 30 * 60_000);
    workflow = new CaseWorkflow(store, () => now);
    retailCase = await insertCase('retail');
    paymentsCase = await insertCase('payments');
    unscopedCase = await insertCase(undefined);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a comment to the timeline and the audit log in the actor’s name', async () => {
    const updated = await workflow.comment(alice, retailCase.id, 'looking into it');
    expect(updated.updatedAt).toBe(now.toISOString());
    expect((await store.getCase(retailCase.id))?.updatedAt).toBe(now.toISOString());

    const timeline = await store.listTimeline(retailCase.id);
    expect(timeline).toHaveLength(1);
    expect(timeline[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(timeline).toMatchObject([
      {
        caseId: retailCase.id,
        at: now.toISOString(),
        actor: 'alice',
        kind: 'comment',
        message: 'looking into it',
        data: {},
      },
    ]);
    const entries = await audit();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      at: now.toISOString(),
      actor: 'alice',
      action: 'case.comment',
      subject: retailCase.id,
      data: { message: 'looking into it', tokenId: 'tok-alice' },
    });
  });

  it('finds a case by its number', async () => {
    await workflow.comment(alice, String(paymentsCase.number), 'by number');
    expect((await store.listTimeline(paymentsCase.id)).map((e) => e.message)).toEqual([
      'by number',
    ]);
  });

  it('assigns: records the assignment and the move to in_progress', async () => {
    const updated = await workflow.update(alice, retailCase.id, { assignee: 'bob' });
    expect(updated).toMatchObject({ assignee: 'bob', status: 'in_progress' });
    expect(await store.getCase(retailCase.id)).toMatchObject({
      assignee: 'bob',
      status: 'in_progress',
      updatedAt: now.toISOString(),
    });
    const timeline = await store.listTimeline(retailCase.id);
    expect(timeline.map((e) => [e.kind, e.actor])).toEqual([
      ['assigned', 'alice'],
      ['status_changed', 'alice'],
    ]);
    expect(timeline[0]?.data).toEqual({ from: null, to: 'bob' });
    expect((await audit()).map((e) => [e.action, e.actor, e.subject])).toEqual([
      ['case.assigned', 'alice', retailCase.id],
      ['case.status_changed', 'alice', retailCase.id],
    ]);
    const listed = await store.listCases({ status: ['in_progress'] }, { limit: 10 });
    expect(listed.items.map((c) => c.id)).toEqual([retailCase.id]);
  });

  it('changes phase', async () => {
    await workflow.update(alice, retailCase.id, { phase: 'containment' });
    expect((await store.getCase(retailCase.id))?.phase).toBe('containment');
    const [entry] = await store.listTimeline(retailCase.id);
    expect(entry).toMatchObject({
      kind: 'phase_changed',
      actor: 'alice',
      data: { from: 'detection_analysis', to: 'containment' },
    });
    expect((await audit())[0]).toMatchObject({
      action: 'case.phase_changed',
      data: { from: 'detection_analysis', to: 'containment', tokenId: 'tok-alice' },
    });
  });

  it('writes nothing for an update that changes nothing', async () => {
    const result = await workflow.update(alice, retailCase.id, { phase: 'detection_analysis' });
    expect(result.updatedAt).toBe(at(0));
    expect(await store.listTimeline(retailCase.id)).toEqual([]);
    expect(await store.recordedAuditCount()).toBe(0);
    expect((await store.getCase(retailCase.id))?.updatedAt).toBe(at(0));
  });

  it('closes: records the closure and removes the correlation keys', async () => {
    expect(correlationKeyRows(retailCase.id)).toBeGreaterThan(0);
    expect((await findOpen(retailCase))?.id).toBe(retailCase.id);

    const closed = await workflow.close(alice, retailCase.id, 'false_positive', 'test traffic');
    expect(closed).toMatchObject({
      status: 'closed',
      closureReason: 'false_positive',
      closureNote: 'test traffic',
      closedAt: now.toISOString(),
    });
    expect((await store.getCase(retailCase.id))?.status).toBe('closed');
    expect(correlationKeyRows(retailCase.id)).toBe(0);
    expect(correlationKeyRows(paymentsCase.id)).toBeGreaterThan(0);
    expect(await findOpen(retailCase)).toBeUndefined();

    expect(await store.listTimeline(retailCase.id)).toMatchObject([
      { kind: 'closed', actor: 'alice', data: { reason: 'false_positive', note: 'test traffic' } },
    ]);
    expect((await audit()).map((e) => [e.action, e.actor])).toEqual([['case.closed', 'alice']]);
  });

  it('refuses updates to a closed case and writes nothing', async () => {
    await workflow.close(alice, retailCase.id, 'benign', null);
    const count = await store.recordedAuditCount();
    await expect(workflow.update(alice, retailCase.id, { assignee: 'bob' })).rejects.toMatchObject({
      code: 'case_closed',
    });
    await expect(workflow.close(alice, retailCase.id, 'duplicate', null)).rejects.toMatchObject({
      code: 'case_closed',
    });
    expect(await store.recordedAuditCount()).toBe(count);
    expect((await store.getCase(retailCase.id))?.assignee).toBeNull();
  });

  it('reopens: records it and restores the correlation keys', async () => {
    await workflow.close(alice, retailCase.id, 'benign', null);
    now = new Date(T0 + 60 * 60_000);
    const reopened = await workflow.reopen(alice, retailCase.id, 'it is back');
    expect(reopened).toMatchObject({ status: 'open', closedAt: null, closureReason: null });
    expect(correlationKeyRows(retailCase.id)).toBe(retailCase.correlationKeys.length);
    expect((await findOpen(retailCase))?.id).toBe(retailCase.id);

    const timeline = await store.listTimeline(retailCase.id);
    expect(timeline.map((e) => e.kind)).toEqual(['closed', 'reopened']);
    expect(timeline[1]).toMatchObject({
      actor: 'alice',
      message: 'reopened: it is back',
      data: { previousReason: 'benign' },
    });
    expect((await audit()).map((e) => e.action)).toEqual(['case.closed', 'case.reopened']);
    await expect(workflow.reopen(alice, retailCase.id, null)).rejects.toMatchObject({
      code: 'conflict',
    });
  });

  it('hides another unit’s case from a scoped principal as not_found, and writes nothing', async () => {
    for (const target of [retailCase, unscopedCase]) {
      for (const ref of [target.id, String(target.number)]) {
        const attempts: Promise<unknown>[] = [
          workflow.visibleCase(fraudOnly, ref),
          workflow.comment(fraudOnly, ref, 'peek'),
          workflow.update(fraudOnly, ref, { assignee: 'frank' }),
          workflow.close(fraudOnly, ref, 'benign', null),
        ];
        for (const attempt of attempts) {
          const error: unknown = await attempt.then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(WardenError);
          expect(error).toMatchObject({ code: 'not_found', status: 404 });
        }
      }
    }
    expect(await store.recordedAuditCount()).toBe(0);
    expect(await store.getCase(retailCase.id)).toEqual(retailCase);
  });

  it('lets a scoped principal work its own unit’s case', async () => {
    expect((await workflow.visibleCase(fraudOnly, paymentsCase.id)).id).toBe(paymentsCase.id);
    await workflow.update(fraudOnly, paymentsCase.id, { assignee: 'frank' });
    expect(
      (await audit()).every((e) => e.actor === 'frank' && e.data.tokenId === 'tok-frank'),
    ).toBe(true);
  });

  it('answers not_found for a case that does not exist', async () => {
    await expect(workflow.comment(alice, '999', 'x')).rejects.toMatchObject({ code: 'not_found' });
    await expect(workflow.visibleCase(alice, uuidv7())).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('leaves a verifiable audit log after a full lifecycle', async () => {
    await workflow.comment(alice, retailCase.id, 'triage');
    await workflow.update(alice, retailCase.id, { assignee: 'bob', phase: 'containment' });
    await workflow.close(alice, retailCase.id, 'true_positive_contained', null);
    await workflow.reopen(alice, retailCase.id, null);
    expect(await verifyAuditLog(store)).toEqual({ ok: true, entries: 6, problems: [] });
    expect((await store.listTimeline(retailCase.id)).map((e) => e.kind)).toEqual([
      'comment',
      'assigned',
      'status_changed',
      'phase_changed',
      'closed',
      'reopened',
    ]);
  });
});
