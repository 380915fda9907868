import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyObservables, encodeAlert } from '../../core/alert.js';
import { closeCase, linkAlertToCase, openCaseFor, reopenCase, type Case } from '../../core/case.js';
import { correlationKeysOf } from '../../core/correlation.js';
import { uuidv7 } from '../../core/ids.js';
import {
  auditHash,
  canonicalJson,
  type AuditDraft,
  type AuditEntry,
} from '../../core/audit-chain.js';
import { WardenError } from '../../core/errors.js';
import { sealEvidence } from '../../core/evidence.js';
import { verifyAuditLog } from '../../pipeline/audit-verification.js';
import { at, describeStoreContract, makeAlert, makeCase } from '../store.contract.js';
import { storedCaseRow } from './case-row.test-support.js';
import { MIGRATIONS } from './migrations.js';
import {
  DUE_WAITING_RUNS_QUERY,
  PAGE_SIZE,
  QUEUED_RUN_IDS_QUERY,
  READY_RUNS_QUERY,
  SqliteStore,
} from './sqlite-store.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'warden-sqlite-'));
}

describeStoreContract('sqlite', () => {
  const dir = tempDir();
  const store = new SqliteStore({ dataDir: dir, defersCaseWrites: true });
  return Promise.resolve({
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});

function auditDraft(n: number): AuditDraft {
  return { at: at(n), actor: 'tester', action: `test.${n}`, subject: `s-${n}`, data: { n } };
}

describe('SqliteStore', () => {
  let dir: string;
  let store: SqliteStore | undefined;

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  function openStore(defersCaseWrites = false): SqliteStore {
    store = new SqliteStore({ dataDir: dir, defersCaseWrites });
    return store;
  }

  /** A second, independent connection to the store's file, as an attacker or operator would have. */
  function withRawDb<T>(run: (db: Database.Database) => T): T {
    const db = new Database(join(dir, 'warden.db'));
    try {
      return run(db);
    } finally {
      db.close();
    }
  }

  /** Brings a raw database to the schema an earlier version left: every migration below `version`. */
  function migrateBelow(db: Database.Database, version: number): void {
    db.exec(`CREATE TABLE schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    for (const m of MIGRATIONS.filter((m) => m.version < version)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, at(0));
    }
  }

  const rowAlertCount = (caseId: string): number | undefined =>
    storedCaseRow(dir, caseId)?.alertCount;

  it('creates warden.db in the data dir, creating the dir when missing', async () => {
    const nested = join(dir, 'a', 'b');
    const s = new SqliteStore({ dataDir: nested });
    expect(s.path).toBe(join(nested, 'warden.db'));
    expect(s.backend).toBe('sqlite');
    await s.close();
  });

  it('runs in WAL journal mode', () => {
    openStore();
    const mode = withRawDb((db) => db.pragma('journal_mode', { simple: true }) as string);
    expect(mode.toLowerCase()).toBe('wal');
  });

  it('creates a store with 16 KiB pages and keeps the page size of one made before', async () => {
    const created = openStore();
    expect(withRawDb((db) => db.pragma('page_size', { simple: true }))).toBe(PAGE_SIZE);
    expect(PAGE_SIZE).toBe(16_384);
    await created.close();

    // A store created with SQLite's default pages (by an earlier version) opens as it is.
    const older = join(dir, 'older');
    mkdirSync(older);
    const db = new Database(join(older, 'warden.db'));
    db.pragma('page_size = 4096');
    db.pragma('journal_mode = WAL');
    db.close();
    const reopened = new SqliteStore({ dataDir: older });
    const size = new Database(reopened.path, { readonly: true });
    try {
      expect(size.pragma('page_size', { simple: true })).toBe(4096);
    } finally {
      size.close();
      await reopened.close();
    }
  });

  it('finds due runs through the indexes of active runs, not by reading every run', () => {
    openStore();
    const plan = (sql: string, ...params: unknown[]): string =>
      withRawDb((db) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
          .map((step) => step.detail)
          .join('; '),
      );
    // Ready runs in index order: a poll reads `limit` of them, not the whole backlog sorted.
    const ready = plan(READY_RUNS_QUERY, 'queued', 10);
    expect(ready).toContain('USING COVERING INDEX playbook_runs_ready');
    expect(ready).not.toContain('TEMP B-TREE');
    const queued = plan(QUEUED_RUN_IDS_QUERY, 10);
    expect(queued).toContain('USING COVERING INDEX playbook_runs_ready');
    expect(queued).not.toContain('TEMP B-TREE');
    expect(plan(DUE_WAITING_RUNS_QUERY, at(1), 10)).toContain('USING INDEX playbook_runs_due');
  });

  it('counts approvals asked before announcements were recorded as announced (migration 6)', async () => {
    withRawDb((db) => {
      migrateBelow(db, 6);
      db.prepare(
        `INSERT INTO approvals (id, run_id, step_id, case_id, business_unit, status, approvers,
           message, requested_at, deadline) VALUES ('a1', 'r1', 's', 'c1', NULL, 'pending',
           '["responder"]', 'ok?', ?, ?)`,
      ).run(at(1), at(9));
    });
    const migrated = openStore();
    expect(await migrated.getApproval('a1')).toMatchObject({ status: 'pending', message: 'ok?' });
    expect(await migrated.listUnannouncedApprovals()).toEqual([]);
  });

  it('keeps run events stored one per row before migration 8, numbered as they were', async () => {
    withRawDb((db) => {
      migrateBelow(db, 8);
      const insert = db.prepare('INSERT INTO run_events VALUES (?, ?, ?, ?, ?, ?)');
      insert.run('r1', 1, at(1), 'run_started', null, '{}');
      insert.run('r1', 2, at(2), 'step_started', 'intel', '{"why":"ok ✓","n":[1,2]}');
      insert.run('r2', 1, at(3), 'run_started', null, '{}');
    });
    const migrated = openStore();
    await migrated.transaction((tx) =>
      tx.appendRunEvents('r1', [{ at: at(4), kind: 'run_finished', stepId: null, data: {} }]),
    );
    expect(await migrated.listRunEvents('r1')).toEqual([
      { runId: 'r1', seq: 1, at: at(1), kind: 'run_started', stepId: null, data: {} },
      {
        runId: 'r1',
        seq: 2,
        at: at(2),
        kind: 'step_started',
        stepId: 'intel',
        data: { why: 'ok ✓', n: [1, 2] },
      },
      { runId: 'r1', seq: 3, at: at(4), kind: 'run_finished', stepId: null, data: {} },
    ]);
    expect((await migrated.listRunEvents('r2')).map((e) => e.seq)).toEqual([1]);
  });

  it('numbers run events on from what another connection appended', async () => {
    const first = openStore();
    const event = (kind: string) => ({ at: at(0), kind, stepId: null, data: {} });
    await first.transaction((tx) => tx.appendRunEvents('r1', [event('a')]));
    const other = new SqliteStore({ dataDir: dir, checkpoints: false });
    try {
      await other.transaction((tx) => tx.appendRunEvents('r1', [event('b')]));
    } finally {
      await other.close();
    }
    await first.transaction((tx) => tx.appendRunEvents('r1', [event('c')]));
    expect((await first.listRunEvents('r1')).map((e) => [e.seq, e.kind])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  it('records each migration once and does not re-run them on reopen; data survives', async () => {
    const first = openStore();
    const alert = makeAlert();
    const c = makeCase(1);
    await first.transaction(async (tx) => {
      await tx.insertAlert(encodeAlert(alert));
      expect(await tx.nextCaseNumber()).toBe(1);
      await tx.insertCase(c);
      await tx.appendAudit(auditDraft(1));
    });
    const migrations = (): { version: number; name: string; applied_at: string }[] =>
      withRawDb(
        (db) =>
          db
            .prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version')
            .all() as {
            version: number;
            name: string;
            applied_at: string;
          }[],
      );
    const before = migrations();
    expect(before.map((m) => [m.version, m.name])).toEqual(
      MIGRATIONS.map((m) => [m.version, m.name]),
    );
    await first.close();
    store = undefined;

    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = openStore();
    expect(migrations()).toEqual(before);
    expect(await second.getAlert(alert.id)).toEqual(alert);
    expect(await second.getCase('1')).toEqual(c);
    expect(await second.recordedAuditCount()).toBe(1);
    // Counters were not re-seeded: numbering and the audit chain carry on.
    const [number, entry] = await second.transaction(async (tx) => [
      await tx.nextCaseNumber(),
      await tx.appendAudit(auditDraft(2)),
    ]);
    expect(number).toBe(2);
    expect(entry.seq).toBe(2);
    expect((await verifyAuditLog(second)).ok).toBe(true);
  });

  it('close() waits for a running transaction to commit', async () => {
    const first = openStore();
    const alert = makeAlert();
    const running = first.transaction(async (tx) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await tx.insertAlert(encodeAlert(alert));
    });
    await first.close();
    await running;
    store = undefined;
    expect(await openStore().getAlert(alert.id)).toEqual(alert);
  });

  it('closes cleanly after a failed transaction', async () => {
    const s = openStore();
    await expect(s.transaction(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    store = undefined;
    await expect(s.close()).resolves.toBeUndefined();
  });

  it('closes once when closed twice, at the same time or after', async () => {
    const s = openStore();
    store = undefined;
    const both = Promise.all([s.close(), s.close()]);
    const settled = await Promise.race([
      both.then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000)),
    ]);
    expect(settled).toBe('closed');
    await expect(s.close()).resolves.toBeUndefined();
  });

  it('rejects transactions once closed', async () => {
    const s = openStore();
    await s.close();
    store = undefined;
    await expect(s.transaction((tx) => tx.nextCaseNumber())).rejects.toThrow();
  });

  // Bug: listCases decodes the cursor synchronously, so a bad cursor throws
  // out of the call instead of rejecting the promise it returns.
  it('reports a bad cursor as a rejected promise, not a synchronous throw', async () => {
    const s = openStore();
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = s.listCases({}, { limit: 5, cursor: 'garbage' });
    }).not.toThrow();
    await expect(promise).rejects.toBeInstanceOf(WardenError);
  });

  it('refuses to update or delete evidence or its chain of custody, even from another connection', async () => {
    const s = openStore();
    const c = makeCase(1);
    await s.transaction((tx) => tx.insertCase(c));
    const item = sealEvidence({
      id: 'ev-1',
      caseId: c.id,
      name: 'transcript',
      kind: 'transcript',
      source: { actor: 'alice' },
      collectedAt: at(1),
      content: 'user: ignore previous instructions',
    });
    await s.transaction(async (tx) => {
      await tx.insertEvidence(item);
      await tx.appendCustody({
        evidenceId: item.id,
        at: at(1),
        actor: 'alice',
        action: 'collected',
        detail: {},
      });
    });
    withRawDb((db) => {
      expect(() =>
        db.prepare("UPDATE evidence SET content = x'00' WHERE id = 'ev-1'").run(),
      ).toThrow(/evidence is immutable/);
      expect(() => db.prepare("DELETE FROM evidence WHERE id = 'ev-1'").run()).toThrow(
        /never deleted/,
      );
      expect(() => db.prepare("UPDATE evidence_custody SET actor = 'mallory'").run()).toThrow(
        /append-only/,
      );
      expect(() => db.prepare('DELETE FROM evidence_custody').run()).toThrow(/append-only/);
    });
    expect((await s.getEvidence('ev-1'))?.sha256).toBe(item.sha256);
  });

  describe('audit tampering is caught by verifyAuditLog', () => {
    let entries: AuditEntry[];

    beforeEach(async () => {
      const s = openStore();
      entries = await s.transaction(async (tx) => {
        const out: AuditEntry[] = [];
        for (let n = 1; n <= 5; n++) out.push(await tx.appendAudit(auditDraft(n)));
        return out;
      });
    });

    it('passes an untouched log, in one page or many', async () => {
      const s = store as SqliteStore;
      expect(await verifyAuditLog(s)).toEqual({ ok: true, entries: 5, problems: [] });
      expect(await verifyAuditLog(s, 2)).toEqual({ ok: true, entries: 5, problems: [] });
      expect(await verifyAuditLog(s, 5)).toEqual({ ok: true, entries: 5, problems: [] });
    });

    it('stores each entry’s data as the canonical JSON its hash covers', async () => {
      const s = store as SqliteStore;
      const data = { z: 'last', a: { y: [2, 1], b: 'first' } };
      const entry = await s.transaction((tx) => tx.appendAudit({ ...auditDraft(6), data }));
      const row = withRawDb(
        (db) => db.prepare('SELECT data FROM audit_log WHERE seq = 6').get() as { data: string },
      );
      expect(row.data).toBe('{"a":{"b":"first","y":[2,1]},"z":"last"}');
      expect(row.data).toBe(canonicalJson(data));
      expect(entry.hash).toBe(
        auditHash(6, (entries[4] as AuditEntry).hash, { ...auditDraft(6), data }),
      );
      expect(await verifyAuditLog(s)).toEqual({ ok: true, entries: 6, problems: [] });
    });

    it('passes an empty log', async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
      expect(await verifyAuditLog(openStore())).toEqual({ ok: true, entries: 0, problems: [] });
    });

    it('reports an entry whose data was edited', async () => {
      withRawDb((db) =>
        db.prepare('UPDATE audit_log SET data = ? WHERE seq = 3').run(JSON.stringify({ n: 333 })),
      );
      expect(await verifyAuditLog(store as SqliteStore, 2)).toEqual({
        ok: false,
        entries: 5,
        problems: [{ kind: 'edited', seq: 3 }],
      });
    });

    it('reports an entry edited with its hash recomputed as breaking the next link', async () => {
      const target = entries[2] as AuditEntry;
      const forged = { ...auditDraft(3), actor: 'mallory' };
      withRawDb((db) =>
        db
          .prepare('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 3')
          .run('mallory', auditHash(3, target.prevHash, forged)),
      );
      expect(await verifyAuditLog(store as SqliteStore)).toEqual({
        ok: false,
        entries: 5,
        problems: [{ kind: 'relinked', seq: 4 }],
      });
    });

    it('reports a deleted middle entry as missing', async () => {
      withRawDb((db) => db.prepare('DELETE FROM audit_log WHERE seq = 3').run());
      const result = await verifyAuditLog(store as SqliteStore);
      expect(result.ok).toBe(false);
      expect(result.entries).toBe(4);
      expect(result.problems).toContainEqual({ kind: 'missing', afterSeq: 2, expectedSeq: 3 });
      expect(result.problems.map((p) => p.kind).sort()).toEqual(['missing', 'truncated']);
    });

    it('reports a deleted last entry as truncation', async () => {
      withRawDb((db) => db.prepare('DELETE FROM audit_log WHERE seq = 5').run());
      expect(await verifyAuditLog(store as SqliteStore)).toEqual({
        ok: false,
        entries: 4,
        problems: [{ kind: 'truncated', expectedCount: 5, actualCount: 4 }],
      });
    });
  });

  describe('cases left unwritten (deferCaseUpdate) across connections and restarts', () => {
    /** The ingesting connection: a case opened by one alert, then a second alert linked without writing the row. */
    async function deferredCase(ingest: SqliteStore): Promise<Case> {
      const opener = makeAlert();
      const c = openCaseFor(opener, correlationKeysOf(opener), {
        id: uuidv7(),
        number: 1,
        now: at(0),
      });
      await ingest.transaction(async (tx) => {
        await tx.insertAlert(encodeAlert({ ...opener, caseId: c.id }));
        await tx.insertCase(c);
        await tx.addCorrelationKeys(c.id, c.correlationKeys);
      });
      const second = makeAlert({ lastSeen: at(7), receivedAt: at(7), severityId: 5, count: 3 });
      second.observables.ips = ['203.0.113.9'];
      second.observables.users = ['mallory'];
      return ingest.transaction(async (tx) => {
        const current = (await tx.getCase(c.id)) as Case;
        linkAlertToCase(current, second, correlationKeysOf(second), second.receivedAt);
        await tx.insertAlert(encodeAlert({ ...second, caseId: c.id }));
        await tx.addCorrelationKeys(c.id, correlationKeysOf(second));
        await tx.deferCaseUpdate(current);
        return structuredClone(current);
      });
    }

    it('the ingesting connection reads what is committed, never its transaction in progress', async () => {
      const ingest = new SqliteStore({ dataDir: dir, defersCaseWrites: true });
      const opener = makeAlert();
      const c = openCaseFor(opener, correlationKeysOf(opener), {
        id: uuidv7(),
        number: 1,
        now: at(0),
      });
      const linked = makeAlert({ lastSeen: at(5), receivedAt: at(5) });
      await ingest.transaction(async (tx) => {
        await tx.insertAlert(encodeAlert({ ...opener, caseId: c.id }));
        await tx.insertCase(c);
        // Not committed: a read outside the transaction does not see it.
        expect(await ingest.getCase(c.id)).toBeUndefined();
        expect(await ingest.getAlert(opener.id)).toBeUndefined();
      });
      expect((await ingest.getCase(c.id))?.alertCount).toBe(1);
      await ingest.transaction(async (tx) => {
        const current = (await tx.getCase(c.id)) as Case;
        linkAlertToCase(current, linked, correlationKeysOf(linked), at(5));
        await tx.insertAlert(encodeAlert({ ...linked, caseId: c.id }));
        await tx.updateCase(current);
        expect((await ingest.getCase(c.id))?.alertCount).toBe(1);
        expect(await ingest.getAlert(linked.id)).toBeUndefined();
      });
      expect((await ingest.getCase(c.id))?.alertCount).toBe(2);
      expect((await ingest.getAlert(linked.id))?.caseId).toBe(c.id);
      await ingest.close();
    });

    it('rebuilds a case a crash left unwritten from its row and its alerts', async () => {
      const ingest = new SqliteStore({ dataDir: dir, defersCaseWrites: true });
      const projected = await deferredCase(ingest);
      // A crash: the connection goes away without writing the case.
      await ingest.close();
      expect(
        withRawDb((db) => db.prepare('SELECT count(*) AS n FROM unwritten_cases').get()),
      ).toEqual({ n: 1 });

      const restarted = openStore(true);
      // The row lags; a read rebuilds the case from it and the alerts linked since.
      expect(rowAlertCount(projected.id)).toBe(1);
      expect(await restarted.getCase(projected.id)).toEqual(projected);
      const [written] = await restarted.transaction((tx) => tx.writeUnwrittenCases());
      expect(written?.before).toEqual({ alertCount: 1, eventCount: 1, severityId: 4 });
      expect(written?.case).toEqual(projected);
      expect(rowAlertCount(projected.id)).toBe(2);
      expect(await restarted.getCase(projected.id)).toEqual(projected);
      expect(
        withRawDb((db) => db.prepare('SELECT count(*) AS n FROM unwritten_cases').get()),
      ).toEqual({ n: 0 });
    });

    it('a connection that does not ingest reads the case as its alerts left it and leaves the mark alone', async () => {
      const ingest = new SqliteStore({ dataDir: dir, defersCaseWrites: true });
      const projected = await deferredCase(ingest);
      await ingest.close();
      const reader = openStore();
      const seen = await reader.transaction(async (tx) =>
        structuredClone(await tx.getCase(projected.id)),
      );
      expect(seen).toEqual(projected);
      expect(await reader.getCase(projected.id)).toEqual(projected);
      expect(rowAlertCount(projected.id)).toBe(1);
      expect(await reader.transaction((tx) => tx.writeUnwrittenCases())).toEqual([]);
      await expect(reader.transaction((tx) => tx.deferCaseUpdate(seen as Case))).rejects.toThrow(
        /does not ingest/,
      );
      expect(
        withRawDb((db) => db.prepare('SELECT count(*) AS n FROM unwritten_cases').get()),
      ).toEqual({ n: 1 });
    });

    it('keeps what another connection changed meanwhile (an analyst closed the case) and the alerts it did not know', async () => {
      const ingest = openStore(true);
      const projected = await deferredCase(ingest);
      const api = new SqliteStore({ dataDir: dir, checkpoints: false });
      try {
        await api.transaction(async (tx) => {
          // Read as its alerts left it, though its row lags.
          const current = (await tx.getCase(projected.id)) as Case;
          expect(current.alertCount).toBe(2);
          closeCase(current, 'false_positive', 'scanner', at(9));
          current.assignee = 'dana';
          await tx.updateCase(current);
          await tx.removeCorrelationKeys(current.id);
        });
      } finally {
        await api.close();
      }
      const merged = await ingest.transaction(async (tx) =>
        structuredClone(await tx.getCase(projected.id)),
      );
      expect(merged).toMatchObject({
        status: 'closed',
        closureReason: 'false_positive',
        assignee: 'dana',
        alertCount: 2,
        eventCount: 4,
        observables: { users: ['mallory'] },
      });
      // Closed: it no longer takes alerts.
      const found = await ingest.transaction((tx) =>
        tx.findOpenCaseByKeys(projected.correlationKeys, at(0)),
      );
      expect(found).toBeUndefined();
      await ingest.transaction((tx) => tx.writeUnwrittenCases());
      expect(await ingest.getCase(projected.id)).toMatchObject({ status: 'closed', alertCount: 2 });
    });

    it('restores every key of a case another connection reopened while its row lagged', async () => {
      const ingest = openStore(true);
      const projected = await deferredCase(ingest);
      await ingest.transaction(async (tx) => {
        const c = (await tx.getCase(projected.id)) as Case;
        closeCase(c, 'benign', null, at(8));
        await tx.updateCase(c);
        await tx.removeCorrelationKeys(c.id);
        // The next alert's work leaves the (closed) case unwritten again.
        await tx.deferCaseUpdate(c);
      });
      const api = new SqliteStore({ dataDir: dir, checkpoints: false });
      try {
        await api.transaction(async (tx) => {
          const stale = (await tx.getCase(projected.id)) as Case;
          reopenCase(stale, null, at(9));
          // The API restores the keys its copy of the case knows.
          stale.correlationKeys = stale.correlationKeys.slice(0, 1);
          await tx.updateCase(stale);
          await tx.addCorrelationKeys(stale.id, stale.correlationKeys);
        });
      } finally {
        await api.close();
      }
      const user = correlationKeysOf(
        makeAlert({ observables: { ...emptyObservables(), users: ['mallory'] } }),
      );
      const found = await ingest.transaction((tx) => tx.findOpenCaseByKeys(user, at(0)));
      expect(found?.id).toBe(projected.id);
    });
  });
});
