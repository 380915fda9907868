import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../core/access.js';
import {
  emptyObservables,
  textOnlyAlert,
  type AlertDraft,
  type AlertFacts,
  type AlertObservables,
} from '../core/alert.js';
import { linkAlertToCase, type Case } from '../core/case.js';
import { correlationKeysOf } from '../core/correlation.js';
import { InventoryIndex } from '../core/inventory.js';
import type { PipelineSettings } from '../core/settings.js';
import { storedCaseRow } from '../store/sqlite/case-row.test-support.js';
import { HeldSync, settle, track } from '../store/sqlite/held-sync.test-support.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { StagedTransaction, StoreTransaction } from '../store/store.js';
import { AlertPreparer } from './alert-preparer.js';
import { verifyAuditLog } from './audit-verification.js';
import { CaseWorkflow } from './case-workflow.js';
import {
  IngestPipeline,
  type IngestObserver,
  type IngestOutcome,
  type IngestPipelineOptions,
} from './ingest-pipeline.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SETTINGS: PipelineSettings = {
  dedupWindowMs: HOUR,
  correlationWindowMs: 24 * HOUR,
  caseWriteIntervalMs: 1000,
};
const T0 = Date.parse('2026-03-01T12:00:00.000Z');

/** ISO time `minutes` after the test epoch. */
const at = (minutes: number): string => new Date(T0 + minutes * MINUTE).toISOString();

const inventory = new InventoryIndex({
  businessUnits: [
    { id: 'retail', name: 'Retail' },
    { id: 'payments', name: 'Payments' },
  ],
  models: [
    {
      id: 'churn',
      name: 'Churn Predictor',
      owner: 'retail-ml@example.com',
      businessUnit: 'retail',
      environment: 'production',
      tier: 2,
      endpoints: ['/v1/models/churn:predict'],
      datasets: ['ds-customers'],
      featureStores: [],
    },
    {
      id: 'fraud',
      name: 'Fraud Scorer',
      owner: 'fraud-ml@example.com',
      businessUnit: 'payments',
      environment: 'production',
      tier: 1,
      endpoints: [],
      datasets: ['ds-customers'],
      featureStores: [],
    },
  ],
  datasets: [{ id: 'ds-customers', name: 'Customers' }],
  allowlists: [{ name: 'scanners', reason: 'red team', cidrs: ['198.51.100.0/24'] }],
});

const analyst: Principal = { tokenId: 'tok-1', name: 'alice', role: 'analyst', units: null };

function draft(
  overrides: Partial<AlertDraft> = {},
  observables: Partial<AlertObservables> = {},
): AlertDraft {
  return {
    source: { format: 'native', product: 'Prompt Shield', vendor: 'Example' },
    type: 'prompt_injection',
    title: 'Injected instructions',
    severityId: 3,
    firstSeen: at(0),
    lastSeen: at(0),
    count: 1,
    observables: {
      ...emptyObservables(),
      ips: ['203.0.113.7'],
      model: { id: 'churn' },
      ...observables,
    },
    atlasTechniques: ['AML.T0051'],
    raw: { prompt: 'ignore previous instructions', n: 1 },
    ...overrides,
  };
}

class RecordingObserver implements IngestObserver {
  readonly batches: { alerts: number; duplicates: number; casesOpened: number }[] = [];
  batchCommitted(info: { alerts: number; duplicates: number; casesOpened: number }): void {
    this.batches.push({
      alerts: info.alerts,
      duplicates: info.duplicates,
      casesOpened: info.casesOpened,
    });
  }
}

/** A SQLite store whose next `failures` transactions do all their writes, then fail. */
class FailingStore extends SqliteStore {
  failures = 1;
  readonly error = new Error('disk I/O error');
  override stagedTransaction<T>(work: (tx: StoreTransaction) => Promise<T>): StagedTransaction<T> {
    if (this.failures <= 0) return super.stagedTransaction(work);
    this.failures -= 1;
    return super.stagedTransaction(async (tx) => {
      await work(tx);
      throw this.error;
    });
  }
}

// Every test runs with case rows written at each commit, and held back while alerts keep coming.
describe.each([
  ['written with each commit', false],
  ['held back under load', true],
])('IngestPipeline (case rows %s)', (_mode, defersCaseWrites) => {
  let dir: string;
  let store: SqliteStore;
  let now: Date;
  const clock = (): Date => now;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-ingest-'));
    store = new SqliteStore({ dataDir: dir, defersCaseWrites });
    now = new Date(T0 + 5 * MINUTE);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function pipeline(options: Partial<IngestPipelineOptions> = {}): IngestPipeline {
    return new IngestPipeline({ store, settings: SETTINGS, clock, ...options });
  }

  const preparer = new AlertPreparer(inventory, clock);

  function ingest(p: IngestPipeline, ...drafts: AlertDraft[]): Promise<IngestOutcome[]> {
    return p.submit(drafts.map((d) => preparer.prepare(d)));
  }

  async function caseOf(outcome: IngestOutcome | undefined): Promise<Case> {
    const c = await store.getCase(outcome?.caseId ?? 'none');
    if (!c) throw new Error(`no case for ${JSON.stringify(outcome)}`);
    return c;
  }

  describe('prepare', () => {
    it('assigns identity, dedup key, severity label, receipt time and enrichment', () => {
      const { alert, doc, raw } = preparer.prepare(draft({ severityId: 4 }));
      expect(alert.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(alert.severity).toBe('High');
      expect(alert.receivedAt).toBe(now.toISOString());
      expect(alert.dedupKey).toMatch(/^[0-9a-f]{40}$/);
      expect(alert.enrichment).toMatchObject({ modelId: 'churn', businessUnit: 'retail', tier: 2 });
      expect(preparer.prepare(draft({ dedupKey: 'vendor-1' })).alert.dedupKey).toBe('vendor-1');
      expect(JSON.parse(doc)).toEqual(alert);
      expect(alert).not.toHaveProperty('raw');
      expect(JSON.parse(raw)).toEqual(draft().raw);
    });

    it('keeps the payload text verbatim when it has it', () => {
      const text = '{ "type" : "prompt_injection" }';
      expect(preparer.prepare(draft(), text).raw).toBe(text);
    });
  });

  it("hands a new case's playbooks the whole alert, its description included, when alerts arrive as text", async () => {
    const description = `Detector notes: ${'ignore previous instructions; '.repeat(12)}`;
    const payload = { prompt: 'ignore previous instructions', description };
    const prepared = preparer.prepare(
      draft({ description, raw: payload }),
      JSON.stringify(payload),
    );
    // Stored once, in the payload: the writer's own reading of the alert skips it.
    expect(prepared.doc).not.toContain(description);
    const opened: { alert: AlertFacts; caseId: string }[] = [];
    const p = pipeline({
      caseOpened: (_tx, c, alert) => {
        opened.push({ alert, caseId: c.id });
        return Promise.resolve();
      },
    });
    const [outcome] = await p.submit([textOnlyAlert(prepared.doc, prepared.raw)]);
    expect(opened).toHaveLength(1);
    expect(opened[0]?.alert.description).toBe(description);
    expect(opened[0]?.alert).not.toHaveProperty('descriptionAt');
    expect(opened[0]?.alert.caseId).toBe(outcome?.caseId);
    expect(opened[0]?.caseId).toBe(outcome?.caseId);
    expect((await store.getAlert(outcome?.id ?? ''))?.description).toBe(description);
  });

  describe('deduplication', () => {
    it('adds only what is new when the source counts a running total (a resent, updated finding)', async () => {
      const p = pipeline();
      const total = (count: number, minute: number): AlertDraft =>
        draft({ count, countIsTotal: true, lastSeen: at(minute), dedupKey: 'finding-1' });
      const [first] = await ingest(p, total(3, 0));
      await ingest(p, total(5, 2));
      // A stale resend (a lower total) adds nothing but still counts as seen.
      await ingest(p, total(4, 3));
      const stored = await store.getAlert(first?.id ?? '');
      expect(stored?.count).toBe(5);
      expect(stored?.lastSeen).toBe(at(3));
      expect((await caseOf(first)).eventCount).toBe(5);
      expect((await store.counts()).events).toBe(5);
    });

    it('folds a repeat inside one batch into the first alert', async () => {
      const p = pipeline();
      const [first, repeat] = await ingest(p, draft(), draft({ count: 2, lastSeen: at(3) }));
      expect(first?.status).toBe('new');
      expect(repeat).toEqual({
        id: first?.id,
        status: 'duplicate',
        caseId: first?.caseId,
        caseNumber: first?.caseNumber,
      });
      const stored = await store.getAlert(first?.id ?? '');
      expect(stored?.count).toBe(3);
      expect(stored?.lastSeen).toBe(at(3));
      expect(await store.counts()).toEqual({ alerts: 1, events: 3, cases: 1, openCases: 1 });
      const c = await caseOf(first);
      expect(c.alertCount).toBe(1);
      expect(c.eventCount).toBe(3);
      expect(c.lastSeen).toBe(at(3));
    });

    it('folds a repeat across batches, within the window', async () => {
      const p = pipeline();
      const [first] = await ingest(p, draft());
      now = new Date(T0 + 45 * MINUTE);
      const [repeat] = await ingest(p, draft({ firstSeen: at(30), lastSeen: at(40), count: 3 }));
      expect(repeat).toEqual({ ...first, status: 'duplicate' });
      const stored = await store.getAlert(first?.id ?? '');
      expect(stored?.count).toBe(4);
      expect(stored?.lastSeen).toBe(at(40));
      expect(stored?.firstSeen).toBe(at(0));
      expect((await caseOf(first)).eventCount).toBe(4);
      // Held back, the row (its update time, its timeline) is written once ingest pauses.
      await p.drain();
      const c = await caseOf(first);
      expect(c.eventCount).toBe(4);
      expect(c.lastSeen).toBe(at(40));
      expect(c.updatedAt).toBe(now.toISOString());
      const timeline = await store.listTimeline(c.id);
      expect(timeline.map((e) => e.kind)).toEqual(['created', 'alerts_linked']);
      expect(timeline[1]?.message).toBe('3 repeats folded');
    });

    it('counts the window from the stored last-seen to the repeat’s first-seen, inclusive', async () => {
      const p = pipeline();
      const [first] = await ingest(p, draft({ firstSeen: at(0), lastSeen: at(10) }));
      const [edge] = await ingest(p, draft({ firstSeen: at(70), lastSeen: at(70) }));
      expect(edge?.status).toBe('duplicate');
      expect(edge?.id).toBe(first?.id);
    });

    it('stores a repeat outside the window as a new alert (on the same case)', async () => {
      const p = pipeline();
      const [first] = await ingest(p, draft());
      const [late] = await ingest(p, draft({ firstSeen: at(61), lastSeen: at(61) }));
      expect(late?.status).toBe('new');
      expect(late?.id).not.toBe(first?.id);
      expect(late?.caseId).toBe(first?.caseId);
      expect((await store.counts()).alerts).toBe(2);
      expect((await caseOf(first)).alertCount).toBe(2);
    });

    it('judges the window by alert times, not by when alerts arrive', async () => {
      const p = pipeline();
      const [first] = await ingest(p, draft());
      now = new Date(T0 + 48 * HOUR);
      const [repeat] = await ingest(p, draft({ firstSeen: at(20), lastSeen: at(20) }));
      expect(repeat?.status).toBe('duplicate');
      expect(repeat?.id).toBe(first?.id);
    });

    it('does not fold alerts that differ', async () => {
      const outcomes = await ingest(
        pipeline(),
        draft(),
        draft({ title: 'Another finding' }),
        draft({}, { ips: ['203.0.113.8'] }),
      );
      expect(outcomes.map((o) => o.status)).toEqual(['new', 'new', 'new']);
      expect(new Set(outcomes.map((o) => o.id)).size).toBe(3);
    });
  });

  describe('correlation', () => {
    it('joins alerts from one /24 against one model into one case', async () => {
      const p = pipeline();
      const [a] = await ingest(p, draft({ title: 'A' }, { ips: ['203.0.113.7'] }));
      const [b, c] = await ingest(
        p,
        draft({ title: 'B', firstSeen: at(30), lastSeen: at(30) }, { ips: ['203.0.113.99'] }),
        draft({ title: 'C', firstSeen: at(31), lastSeen: at(31) }, { ips: ['203.0.113.200'] }),
      );
      expect(b?.status).toBe('new');
      expect(b?.caseId).toBe(a?.caseId);
      expect(c?.caseId).toBe(a?.caseId);
      expect(b?.caseNumber).toBe(a?.caseNumber);
      const kase = await caseOf(a);
      expect(kase.alertCount).toBe(3);
      expect(kase.observables.ips).toEqual(['203.0.113.7', '203.0.113.99', '203.0.113.200']);
      expect((await store.listCaseAlerts(kase.id, 10)).map((x) => x.id)).toEqual([
        a?.id,
        b?.id,
        c?.id,
      ]);
      expect((await store.getAlert(b?.id ?? ''))?.caseId).toBe(kase.id);
      expect((await store.counts()).cases).toBe(1);
    });

    it('opens separate cases for another /24 or another model', async () => {
      const [a, otherRange, otherModel] = await ingest(
        pipeline(),
        draft({ title: 'A' }, { ips: ['203.0.113.7'] }),
        draft({ title: 'B' }, { ips: ['203.0.114.7'] }),
        draft({ title: 'C' }, { ips: ['203.0.113.8'], model: { id: 'fraud' } }),
      );
      const ids = [a?.caseId, otherRange?.caseId, otherModel?.caseId];
      expect(new Set(ids).size).toBe(3);
      expect([a?.caseNumber, otherRange?.caseNumber, otherModel?.caseNumber]).toEqual([1, 2, 3]);
      expect(await store.counts()).toMatchObject({ alerts: 3, cases: 3, openCases: 3 });
      expect((await caseOf(otherModel)).businessUnit).toBe('payments');
    });

    it('opens a new case once the correlation window has passed', async () => {
      const p = pipeline();
      const [a] = await ingest(p, draft({ title: 'A' }));
      const [b] = await ingest(
        p,
        draft({ title: 'B', firstSeen: at(24 * 60 + 1), lastSeen: at(24 * 60 + 1) }),
      );
      expect(b?.caseId).not.toBe(a?.caseId);
    });

    it('flags allow-listed sources on the case, caps severity, and lifts the cap when others join', async () => {
      const p = pipeline();
      const [scan] = await ingest(
        p,
        draft({ severityId: 5, title: 'scan' }, { ips: ['198.51.100.10'], users: ['probe-bot'] }),
      );
      let c = await caseOf(scan);
      expect(c.allAllowlisted).toBe(true);
      expect(c.allowlisted).toEqual([
        { list: 'scanners', cidr: '198.51.100.0/24', ip: '198.51.100.10', reason: 'red team' },
      ]);
      expect(c.severityId).toBe(2);
      expect(c.severity).toBe('Low');
      expect(c.severityReason).toContain('allow-listed');

      const [real] = await ingest(
        p,
        draft(
          { severityId: 5, title: 'real', firstSeen: at(5), lastSeen: at(5) },
          { ips: ['203.0.113.50'], users: ['probe-bot'] },
        ),
      );
      expect(real?.caseId).toBe(scan?.caseId);
      c = await caseOf(scan);
      expect(c.allAllowlisted).toBe(false);
      expect(c.severityId).toBe(5);
      await p.drain();
      const timeline = await store.listTimeline(c.id);
      expect(timeline.map((e) => e.kind)).toEqual(['created', 'alerts_linked', 'severity_changed']);
      expect(timeline[2]?.data).toMatchObject({ from: 2, to: 5 });
    });

    it('does not join a closed case: a related alert opens a new one', async () => {
      const p = pipeline();
      const [a] = await ingest(p, draft({ title: 'A' }));
      await new CaseWorkflow(store, clock).close(analyst, a?.caseId ?? '', 'benign', null);

      const [b] = await ingest(p, draft({ title: 'B', firstSeen: at(10), lastSeen: at(10) }));
      expect(b?.status).toBe('new');
      expect(b?.caseId).not.toBe(a?.caseId);
      expect(b?.caseNumber).toBe(2);
      const closed = await caseOf(a);
      expect(closed.status).toBe('closed');
      expect(closed.alertCount).toBe(1);
      expect(await store.counts()).toMatchObject({ cases: 2, openCases: 1 });
    });

    // Bug: a repeat (same dedup key, inside the dedup window) of an alert whose
    // case was closed is folded into that closed case — new activity after an
    // analyst closed the case opens nothing and only touches the closed case.
    it('does not fold a repeat into a closed case: it opens a new one', async () => {
      const p = pipeline();
      const [a] = await ingest(p, draft());
      await new CaseWorkflow(store, clock).close(analyst, a?.caseId ?? '', 'benign', null);

      const [again] = await ingest(p, draft({ firstSeen: at(10), lastSeen: at(10) }));
      expect(again?.caseId).not.toBe(a?.caseId);
      expect((await caseOf(a)).eventCount).toBe(1);
    });
  });

  describe('timeline and audit', () => {
    it('writes one created entry, then alerts_linked per batch that adds alerts', async () => {
      const p = pipeline();
      const [a, b] = await ingest(p, draft({ title: 'A' }), draft({ title: 'B' }));
      const [c] = await ingest(p, draft({ title: 'C', firstSeen: at(5), lastSeen: at(5) }));
      const kase = await caseOf(a);
      expect(kase.alertCount).toBe(3);

      await p.drain();
      const timeline = await store.listTimeline(kase.id);
      expect(timeline.map((e) => e.kind)).toEqual(['created', 'alerts_linked', 'alerts_linked']);
      expect(timeline.every((e) => e.actor === 'system:ingest' && e.caseId === kase.id)).toBe(true);
      expect(timeline[0]?.message).toBe(`case opened: ${kase.title}`);
      expect(timeline[0]?.data).toMatchObject({ alertId: a?.id, businessUnit: 'retail', tier: 2 });
      expect(timeline[1]).toMatchObject({
        message: '1 alert linked',
        data: { alertIds: [b?.id], linked: 1, repeats: 0 },
      });
      expect(timeline[2]?.data).toMatchObject({ alertIds: [c?.id], linked: 1 });
    });

    it('writes only a created entry for a case of one alert', async () => {
      const [a] = await ingest(pipeline(), draft());
      expect((await store.listTimeline(a?.caseId ?? '')).map((e) => e.kind)).toEqual(['created']);
    });

    it('audits each commit once, naming every case it changed and how, in a log that verifies', async () => {
      const p = pipeline();
      const [a] = await ingest(
        p,
        draft({ title: 'A' }),
        draft({ title: 'B' }),
        draft({ title: 'A' }),
      );
      const [c] = await ingest(p, draft({ title: 'C' }, { ips: ['192.0.2.1'] }));
      const audit = await store.readAudit(0, 100);
      expect(audit.map((e) => [e.action, e.actor, e.subject])).toEqual([
        ['ingest.committed', 'system:ingest', 'cases'],
        ['ingest.committed', 'system:ingest', 'cases'],
      ]);
      expect(audit[0]?.data).toEqual({
        alerts: 2,
        repeats: 1,
        cases: [{ caseId: a?.caseId, number: 1, opened: true, linked: 1, repeats: 1 }],
      });
      expect(audit[1]?.data).toEqual({
        alerts: 1,
        repeats: 0,
        cases: [{ caseId: c?.caseId, number: 2, opened: true }],
      });
      expect(await verifyAuditLog(store)).toEqual({ ok: true, entries: 2, problems: [] });
    });
  });

  describe('group commit', () => {
    it('commits 1,000 alerts from 100 concurrent submits in one transaction', async () => {
      const observer = new RecordingObserver();
      const p = pipeline({ observer });
      const submits = Array.from({ length: 100 }, (_, i) =>
        ingest(p, ...Array.from({ length: 10 }, (_, j) => draft({ title: `probe ${i}-${j}` }))),
      );
      const results = await Promise.all(submits);

      expect(results.every((r) => r.length === 10 && r.every((o) => o.status === 'new'))).toBe(
        true,
      );
      const ids = results.flat().map((o) => o.id);
      expect(new Set(ids).size).toBe(1000);
      expect(observer.batches).toEqual([{ alerts: 1000, duplicates: 0, casesOpened: 1 }]);
      expect(await store.counts()).toEqual({ alerts: 1000, events: 1000, cases: 1, openCases: 1 });
      for (const id of ids.filter((_, i) => i % 97 === 0)) {
        expect(await store.getAlert(id)).toBeDefined();
      }
      const c = await caseOf(results[0]?.[0]);
      expect(c.alertCount).toBe(1000);
    });

    it('splits the queue into batches of at most maxBatch', async () => {
      const observer = new RecordingObserver();
      const p = pipeline({ observer, maxBatch: 300 });
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          ingest(p, ...Array.from({ length: 10 }, (_, j) => draft({ title: `t ${i}-${j}` }))),
        ),
      );
      expect(results.flat()).toHaveLength(1000);
      expect(observer.batches.map((b) => b.alerts)).toEqual([300, 300, 300, 100]);
      expect((await store.counts()).alerts).toBe(1000);
    });

    it('resolves only after the commit, and drain() waits for queued work', async () => {
      const p = pipeline();
      const pending = ingest(p, draft());
      await p.drain();
      expect((await store.counts()).alerts).toBe(1);
      const [outcome] = await pending;
      expect(await store.getAlert(outcome?.id ?? '')).toBeDefined();
    });

    it('rejects every waiting submit when the store is closed, and stores nothing', async () => {
      const p = pipeline({ maxBatch: 300 });
      await store.close();
      const settled = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) =>
          ingest(p, ...Array.from({ length: 10 }, (_, j) => draft({ title: `t ${i}-${j}` }))),
        ),
      );
      expect(settled.every((s) => s.status === 'rejected')).toBe(true);

      store = new SqliteStore({ dataDir: dir, defersCaseWrites });
      expect(await store.counts()).toEqual({ alerts: 0, events: 0, cases: 0, openCases: 0 });
      expect(await store.recordedAuditCount()).toBe(0);
    });

    describe('with the WAL sync held', () => {
      let held: HeldSync;

      beforeEach(async () => {
        await store.close();
        held = new HeldSync();
        store = new SqliteStore({ dataDir: dir, syncWal: held.sync, defersCaseWrites });
      });

      afterEach(() => {
        for (const call of held.calls) call.finish();
      });

      it('commits the next batch before the previous one’s submits resolve, and resolves them in order once durable', async () => {
        const observer = new RecordingObserver();
        const p = pipeline({ observer });
        const told: string[] = [];
        const submit = (name: string, d: AlertDraft): { id: string; done: Promise<unknown> } => {
          const prepared = preparer.prepare(d);
          const done = p.submit([prepared]).then(() => told.push(name));
          return { id: prepared.alert.id, done };
        };

        const a = submit('a', draft({ title: 'a' }));
        await vi.waitFor(() => expect(held.calls).toHaveLength(1));
        // a has committed and its sync is running: b and c commit meanwhile.
        const b = submit(
          'b',
          draft({ title: 'b' }, { ips: ['192.0.2.1'], model: { id: 'fraud' } }),
        );
        await vi.waitFor(async () => expect(await store.getAlert(b.id)).toBeDefined());
        const c = submit('c', draft({ title: 'c' }));
        await vi.waitFor(async () => expect(await store.getAlert(c.id)).toBeDefined());
        await settle();
        expect(told).toEqual([]);
        expect(observer.batches).toEqual([]);

        held.call(0).finish();
        await a.done;
        expect(told).toEqual(['a']);
        // b and c wait for the sync that began after their commits.
        await vi.waitFor(() => expect(held.calls).toHaveLength(2));
        await settle();
        expect(told).toEqual(['a']);

        held.call(1).finish();
        await Promise.all([b.done, c.done]);
        expect(told).toEqual(['a', 'b', 'c']);
        expect(observer.batches.map((batch) => batch.alerts)).toEqual([1, 1, 1]);
        expect(held.calls).toHaveLength(2);
      });

      it('drain() and close() wait until the commits are durable', async () => {
        const p = pipeline();
        const submitted = track(ingest(p, draft()));
        await vi.waitFor(() => expect(held.calls).toHaveLength(1));
        const drained = track(p.drain());
        const closed = track(p.close());
        await settle();
        expect(submitted.state).toBe('pending');
        expect(drained.state).toBe('pending');
        expect(closed.state).toBe('pending');

        held.call(0).finish();
        await vi.waitFor(() => expect(closed.state).toBe('fulfilled'));
        expect(drained.state).toBe('fulfilled');
        expect(submitted.state).toBe('fulfilled');
      });

      it('rejects the submits of batches whose sync failed', async () => {
        const p = pipeline();
        const first = ingest(p, draft({ title: 'a' }));
        await vi.waitFor(() => expect(held.calls).toHaveLength(1));
        held.call(0).fail(new Error('EIO: i/o error, fdatasync'));
        await expect(first).rejects.toThrow(/could not sync the write-ahead log/);
        await expect(ingest(p, draft({ title: 'b' }))).rejects.toThrow(
          /could not sync the write-ahead log/,
        );
      });
    });

    it('rolls a failed batch back, rejects each of its submits with the error, then recovers', async () => {
      await store.close();
      const failing = new FailingStore({ dataDir: dir, defersCaseWrites });
      store = failing;
      const p = pipeline();
      const settled = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? ingest(p, draft({ title: `t ${i}` }))
            : ingest(p, draft({ title: `t ${i}` }), draft()),
        ),
      );
      expect(
        settled.map((s) => (s.status === 'rejected' ? (s.reason as unknown) : s.status)),
      ).toEqual(Array.from({ length: 20 }, () => failing.error));
      expect(await store.counts()).toEqual({ alerts: 0, events: 0, cases: 0, openCases: 0 });
      expect(await store.recordedAuditCount()).toBe(0);

      const [later] = await ingest(p, draft());
      expect(later?.status).toBe('new');
      expect(later?.caseNumber).toBe(1);
      expect(await store.counts()).toMatchObject({ alerts: 1, cases: 1 });
      expect((await verifyAuditLog(store)).ok).toBe(true);
    });
  });
});

describe('IngestPipeline: case rows held back while alerts keep coming', () => {
  let dir: string;
  let store: SqliteStore;
  const now = new Date(T0 + 5 * MINUTE);
  const preparer = new AlertPreparer(inventory, () => now);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-held-back-'));
    // Commits are durable at once, so callers hear in a fixed order.
    store = new SqliteStore({ dataDir: dir, defersCaseWrites: true, synchronous: 'NORMAL' });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Alerts from one user on one model: one case; each from a new address. */
  const burst = (n: number, from = 0): AlertDraft[] =>
    Array.from({ length: n }, (_, i) =>
      draft({ title: `probe ${from + i}` }, { users: ['mallory'], ips: [`203.0.113.${from + i}`] }),
    );

  const row = (caseId?: string): Case | undefined => storedCaseRow(dir, caseId);

  /** A pipeline over this store that holds cases back for a minute (or `caseWriteIntervalMs`). */
  function holding(
    options: Partial<IngestPipelineOptions> & { caseWriteIntervalMs?: number } = {},
  ): IngestPipeline {
    const { caseWriteIntervalMs = 60_000, ...rest } = options;
    return new IngestPipeline({
      store,
      settings: { ...SETTINGS, caseWriteIntervalMs },
      clock: () => now,
      ...rest,
    });
  }

  /** The first case row's alert count each time a commit's callers hear. */
  function rowCounts(rows: number[]): IngestObserver {
    return { batchCommitted: () => rows.push(row()?.alertCount ?? 0) };
  }

  it('writes the case once ingest pauses, with one timeline entry for what was held back', async () => {
    const rows: number[] = [];
    const p = holding({ maxBatch: 2, observer: rowCounts(rows) });
    // Submitted at once: the pipeline commits them two by two, back to back.
    await Promise.all(burst(10).map((d) => p.submit([preparer.prepare(d)])));
    // The case opened with the first commit; later commits held its row back.
    expect(rows[0]).toBe(2);
    expect(Math.max(...rows)).toBe(2);
    // Reads see it as its alerts left it all the same.
    const [read] = (await store.listCases({}, { limit: 5 })).items;
    expect(read).toMatchObject({ alertCount: 10, eventCount: 10 });
    await vi.waitFor(() => expect(row()?.alertCount).toBe(10));
    const c = row() as Case;
    expect(c).toMatchObject({ alertCount: 10, eventCount: 10 });
    expect(c.observables.ips).toHaveLength(10);
    const linked = (await store.listTimeline(c.id)).filter((e) => e.kind === 'alerts_linked');
    expect(linked.reduce((sum, e) => sum + (e.data.linked as number), 0)).toBe(9);
    expect(linked.length).toBeLessThan(5);
    expect(await store.transaction((tx) => tx.writeUnwrittenCases())).toEqual([]);
  });

  it('writes held-back cases at least once per interval while alerts keep coming', async () => {
    const rows: number[] = [];
    const p = holding({
      caseWriteIntervalMs: 1,
      maxBatch: 1,
      // Only the interval writes them here.
      pauseMs: 60_000,
      observer: rowCounts(rows),
    });
    // Each commit takes longer than 1 ms, so rows are written along the way.
    await Promise.all(burst(12).map((d) => p.submit([preparer.prepare(d)])));
    expect(Math.max(...rows)).toBeGreaterThan(2);
    await vi.waitFor(() => expect(row()?.alertCount).toBe(12));
    await p.close();
  });

  it('answers callers without waiting for held-back cases, and writes them once ingest pauses', async () => {
    const p = holding({ maxBatch: 1, pauseMs: 300 });
    // A new pipeline's first quiet moment writes whatever a crash left: let it pass.
    await p.drain();
    const alice = (ip: string): AlertDraft => draft({}, { users: ['alice'], ips: [ip] });
    const bob = (ip: string): AlertDraft => draft({}, { users: ['bob'], ips: [ip] });
    // One commit each: both cases open, then both are held back.
    const outcomes = await Promise.all(
      [alice('203.0.113.1'), bob('198.18.0.1'), alice('203.0.113.2'), bob('198.18.0.2')].map((d) =>
        p.submit([preparer.prepare(d)]),
      ),
    );
    const [aliceCase, bobCase] = [outcomes[0]?.[0]?.caseId ?? '', outcomes[1]?.[0]?.caseId ?? ''];
    expect(aliceCase).not.toBe(bobCase);
    expect([row(aliceCase)?.alertCount, row(bobCase)?.alertCount]).toEqual([1, 1]);
    expect((await store.getCase(aliceCase))?.alertCount).toBe(2);
    expect((await store.getCase(bobCase))?.alertCount).toBe(2);
    await vi.waitFor(() =>
      expect([row(aliceCase)?.alertCount, row(bobCase)?.alertCount]).toEqual([2, 2]),
    );
    expect(await store.transaction((tx) => tx.writeUnwrittenCases())).toEqual([]);
    await p.close();
  });

  it('drain writes every case still held back', async () => {
    const p = holding({ maxBatch: 1, pauseMs: 60_000 });
    await p.drain();
    const carol = (ip: string): AlertDraft => draft({}, { users: ['carol'], ips: [ip] });
    const dave = draft({}, { users: ['dave'], ips: ['198.18.0.9'] });
    const outcomes = await Promise.all(
      [carol('203.0.113.1'), carol('203.0.113.2'), dave].map((d) =>
        p.submit([preparer.prepare(d)]),
      ),
    );
    const opened = outcomes[0]?.[0]?.caseId ?? '';
    expect(row(opened)?.alertCount).toBe(1);
    await p.drain();
    expect(row(opened)?.alertCount).toBe(2);
    expect(await store.transaction((tx) => tx.writeUnwrittenCases())).toEqual([]);
  });

  it("writes a pause's cases a commit's worth at a time", async () => {
    const p = holding({ pauseMs: 60_000 });
    await p.drain();
    // 300 cases (one user each), opened in one commit, then each held back by a second alert.
    const users = (from: number): AlertDraft[] =>
      Array.from({ length: 300 }, (_, i) =>
        draft(
          { title: `u${i}` },
          { users: [`user-${i}`], ips: [`10.${i >> 8}.${i & 255}.${from}`] },
        ),
      );
    await p.submit(users(1).map((d) => preparer.prepare(d)));
    await p.submit(users(2).map((d) => preparer.prepare(d)));
    const commits = vi.spyOn(store, 'stagedTransaction');
    await p.drain();
    // 256 and 44.
    expect(commits).toHaveBeenCalledTimes(2);
    expect(await store.transaction((tx) => tx.writeUnwrittenCases())).toEqual([]);
  });

  it('writes the held-back cases in rounds, in case-number order, whenever each was held', async () => {
    const p = holding({ caseWriteIntervalMs: 250, pauseMs: 60_000 });
    await p.drain();
    const user = (i: number, ip: string): AlertDraft =>
      draft({ title: `u${i}` }, { users: [`user-${i}`], ips: [ip] });
    const opened = await p.submit(
      [0, 1, 2, 3, 4].map((i) => preparer.prepare(user(i, `10.0.${i}.1`))),
    );
    const numberOf = new Map(opened.map((o) => [o.caseId, o.caseNumber]));
    const tx = await store.transaction((t) => Promise.resolve(t));
    const writes = vi.spyOn(Object.getPrototypeOf(tx) as StoreTransaction, 'writeUnwrittenCases');
    // Held back one commit at a time, the highest number first, the lowest a little later.
    for (const i of [4, 3, 2, 1]) await p.submit([preparer.prepare(user(i, `10.0.${i}.2`))]);
    await new Promise((r) => setTimeout(r, 20));
    await p.submit([preparer.prepare(user(0, '10.0.0.2'))]);
    // Once the first held is due, one commit writes all five, the one held 20 ms ago too.
    await vi.waitFor(() => expect(writes).toHaveBeenCalled());
    const order = writes.mock.calls.map(([ids]) => ids?.map((id) => numberOf.get(id)));
    writes.mockRestore();
    expect(order).toEqual([[1, 2, 3, 4, 5]]);
    expect(row(opened[4]?.caseId ?? undefined)?.alertCount).toBe(2);
    await p.close();
  });

  it('a client that waits for each answer: one commit per alert, then one for its case once ingest pauses', async () => {
    const p = holding({ pauseMs: 100 });
    await p.drain();
    const commits = vi.spyOn(store, 'stagedTransaction');
    for (const d of burst(5)) await p.submit([preparer.prepare(d)]);
    expect(commits).toHaveBeenCalledTimes(5);
    await vi.waitFor(() => expect(commits).toHaveBeenCalledTimes(6));
    expect(row()?.alertCount).toBe(5);
    expect(await store.transaction((tx) => tx.writeUnwrittenCases())).toEqual([]);
  });

  it('answers a caller that waits for each ack with the case as its alerts left it', async () => {
    const p = new IngestPipeline({ store, settings: SETTINGS, clock: () => now });
    for (const [i, d] of burst(4).entries()) {
      const [outcome] = await p.submit([preparer.prepare(d)]);
      expect((await store.getCase(outcome?.caseId ?? ''))?.alertCount).toBe(i + 1);
      expect((await store.listCases({}, { limit: 1 })).items[0]?.alertCount).toBe(i + 1);
    }
  });

  it('writes what a crash left unwritten when the next pipeline starts, and says so on the timeline', async () => {
    const first = holding();
    const [opened] = await first.submit([preparer.prepare(burst(1)[0] as AlertDraft)]);
    const caseId = opened?.caseId ?? '';
    // The ingest connection leaves the case unwritten, then goes away without writing it.
    await store.transaction(async (tx) => {
      const c = (await tx.getCase(caseId)) as Case;
      const more = preparer.prepare(burst(1, 50)[0] as AlertDraft);
      linkAlertToCase(c, more.alert, correlationKeysOf(more.alert), now.toISOString());
      more.alert.caseId = caseId;
      await tx.insertAlert(more);
      await tx.deferCaseUpdate(c);
    });
    await store.close();

    store = new SqliteStore({ dataDir: dir, defersCaseWrites: true });
    expect(row(caseId)?.alertCount).toBe(1);
    expect((await store.getCase(caseId))?.alertCount).toBe(2);
    const restarted = new IngestPipeline({ store, settings: SETTINGS, clock: () => now });
    await restarted.drain();
    const c = await store.getCase(caseId);
    expect(c).toMatchObject({ alertCount: 2, eventCount: 2 });
    expect(c?.observables.ips).toEqual(['203.0.113.0', '203.0.113.50']);
    const timeline = await store.listTimeline(caseId);
    expect(timeline.at(-1)).toMatchObject({
      kind: 'alerts_linked',
      message: '1 alert linked',
      data: { linked: 1, repeats: 0 },
    });
  });
});
