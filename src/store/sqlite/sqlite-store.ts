import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeAlertDoc,
  type AlertFacts,
  type EncodedAlert,
  type NormalizedAlert,
} from '../../core/alert.js';
import {
  AUDIT_GENESIS_HASH,
  sealAuditEntry,
  type AuditDraft,
  type AuditEntry,
} from '../../core/audit-chain.js';
import {
  rebuildCaseFromAlerts,
  withWorkflowOf,
  type Case,
  type CaseAlertTotals,
  type TimelineEntry,
  type TimelineKind,
} from '../../core/case.js';
import { correlationKeysOf } from '../../core/correlation.js';
import type { Role } from '../../core/access.js';
import { WardenError } from '../../core/errors.js';
import type {
  CustodyAction,
  CustodyEvent,
  EvidenceItem,
  EvidenceKind,
  EvidenceSource,
  StoredEvidence,
} from '../../core/evidence.js';
import type {
  ApiToken,
  ApprovalFilter,
  ApprovalRecord,
  ApprovalStatus,
  CaseFilter,
  DeadLetterRecord,
  DeadLetterReplayResult,
  DedupCandidate,
  EffectRecord,
  EffectStatus,
  Page,
  PageRequest,
  PlaybookRunRecord,
  RunEventDraft,
  RunEventRecord,
  RunRecordStatus,
  StagedTransaction,
  Store,
  StoreCounts,
  StoreTransaction,
  TimelinePage,
  WrittenCase,
} from '../store.js';
import { retryWhileBusy } from './busy-retry.js';
import { MIGRATIONS } from './migrations.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { fdatasync, WalSync, type SyncFile } from './wal-sync.js';

export interface SqliteStoreOptions {
  /** Directory holding `warden.db`; created if missing. */
  dataDir: string;
  /**
   * `FULL` makes every commit survive power loss before its transaction
   * resolves (an fdatasync of the WAL after the commit, see `WalSync`);
   * `NORMAL` only process crashes (no sync at all; resolved at commit).
   * @default 'FULL'
   */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * How `FULL` flushes the WAL to disk after commits (tests hold it open).
   * @default fdatasync(2) on libuv's thread pool
   */
  syncWal?: SyncFile;
  /**
   * Run WAL checkpoints from a worker thread. One connection per database
   * file needs to; a second connection to the same file (a writer thread) does not.
   * @default true
   */
  checkpoints?: boolean;
  /**
   * This connection ingests, so it may hold cases that alerts changed in
   * memory before writing them (`StoreTransaction.deferCaseUpdate`), and
   * rebuilds the ones a crash left unwritten. One connection per database
   * file may, the one that ingests; others read such cases as last written.
   * @default false
   */
  defersCaseWrites?: boolean;
}

type Row = Record<string, unknown>;

const ignore = (): void => undefined;

const str = (v: unknown): string => v as string;

function alertFromRow(row: Row): NormalizedAlert {
  const alert = decodeAlertDoc<NormalizedAlert>(str(row.doc), str(row.raw));
  alert.count = row.count as number;
  alert.lastSeen = str(row.last_seen);
  alert.raw = JSON.parse(str(row.raw));
  if (row.case_id) alert.caseId = str(row.case_id);
  return alert;
}

function auditFromRow(row: Row): AuditEntry {
  return {
    seq: row.seq as number,
    at: str(row.at),
    actor: str(row.actor),
    action: str(row.action),
    subject: str(row.subject),
    data: JSON.parse(str(row.data)) as Record<string, unknown>,
    prevHash: str(row.prev_hash),
    hash: str(row.hash),
  };
}

function tokenFromRow(row: Row): ApiToken {
  return {
    id: str(row.id),
    name: str(row.name),
    tokenHash: str(row.token_hash),
    role: str(row.role) as Role,
    units: row.units === null ? null : (JSON.parse(str(row.units)) as string[]),
    createdAt: str(row.created_at),
    createdBy: str(row.created_by),
  };
}

/** JSON text for a column; undefined and null are stored as NULL. */
const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);
const fromJson = (text: unknown): unknown => (text === null ? null : JSON.parse(str(text)));
const nullableText = (v: unknown): string | null => (v === null ? null : str(v));

function runFromRow(row: Row): PlaybookRunRecord {
  return {
    id: str(row.id),
    playbookId: str(row.playbook_id),
    playbookVersion: row.playbook_version as number,
    caseId: str(row.case_id),
    alertId: str(row.alert_id),
    businessUnit: nullableText(row.business_unit),
    parentRunId: nullableText(row.parent_run_id),
    parentStepId: nullableText(row.parent_step_id),
    status: str(row.status) as RunRecordStatus,
    wakeAt: nullableText(row.wake_at),
    state: fromJson(row.state),
    command: fromJson(row.command),
    createdAt: str(row.created_at),
    updatedAt: str(row.updated_at),
    finishedAt: nullableText(row.finished_at),
  };
}

/** A case's values in the order `updateCase` binds them (and `insertCase` begins with). */
function caseValues(c: Case, doc: string): unknown[] {
  return [
    c.status,
    c.phase,
    c.severityId,
    c.tier,
    c.businessUnit,
    c.assignee,
    c.lastSeen,
    c.updatedAt,
    doc,
    c.id,
  ];
}

/** A run's values in the order `updateRun` binds them (and `insertRun` begins with). */
function runValues(run: PlaybookRunRecord): unknown[] {
  return [
    run.playbookVersion,
    run.businessUnit,
    run.status,
    run.wakeAt,
    JSON.stringify(run.state),
    json(run.command),
    run.updatedAt,
    run.finishedAt,
    run.id,
  ];
}

function approvalFromRow(row: Row): ApprovalRecord {
  return {
    id: str(row.id),
    runId: str(row.run_id),
    stepId: str(row.step_id),
    caseId: str(row.case_id),
    businessUnit: nullableText(row.business_unit),
    status: str(row.status) as ApprovalStatus,
    approvers: JSON.parse(str(row.approvers)) as Role[],
    message: str(row.message),
    requestedAt: str(row.requested_at),
    deadline: str(row.deadline),
    answeredBy: nullableText(row.answered_by),
    answeredRole: nullableText(row.answered_role) as Role | null,
    answeredAt: nullableText(row.answered_at),
    comment: nullableText(row.comment),
  };
}

function effectFromRow(row: Row): EffectRecord {
  return {
    idempotencyKey: str(row.idempotency_key),
    runId: str(row.run_id),
    stepId: str(row.step_id),
    item: row.item === null ? null : (row.item as number),
    connector: str(row.connector),
    action: str(row.action),
    input: fromJson(row.input),
    status: str(row.status) as EffectStatus,
    output: fromJson(row.output),
    error: fromJson(row.error),
    exchange: fromJson(row.exchange),
    sentAt: str(row.sent_at),
    finishedAt: nullableText(row.finished_at),
  };
}

function deadLetterFromRow(row: Row): DeadLetterRecord {
  return {
    id: str(row.id),
    receivedAt: str(row.received_at),
    source: nullableText(row.source),
    reasonCode: str(row.reason_code),
    reason: str(row.reason),
    field: nullableText(row.field),
    body: str(row.body),
    replayedAt: nullableText(row.replayed_at),
    replayResult: fromJson(row.replay_result) as DeadLetterReplayResult | null,
  };
}

/** WHERE clauses of a list query, with their parameters in order. */
const EVIDENCE_COLUMNS =
  'id, case_id, name, kind, media_type, sha256, size_bytes, source, collected_at';

function evidenceFromRow(r: Row): EvidenceItem {
  return {
    id: str(r.id),
    caseId: str(r.case_id),
    name: str(r.name),
    kind: str(r.kind) as EvidenceKind,
    mediaType: str(r.media_type),
    sha256: str(r.sha256),
    sizeBytes: r.size_bytes as number,
    source: JSON.parse(str(r.source)) as EvidenceSource,
    collectedAt: str(r.collected_at),
  };
}

class SqlFilter {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  add(clause: string, ...params: unknown[]): void {
    this.clauses.push(clause);
    this.params.push(...params);
  }

  /** `column IN (…)`: absent values add nothing; an empty list matches nothing. */
  in(column: string, values: readonly unknown[] | undefined): void {
    if (!values) return;
    if (values.length === 0) this.add('0');
    else this.add(`${column} IN (${values.map(() => '?').join(',')})`, ...values);
  }
}

/** One append's events as stored: `[at, kind, stepId, data]` each, in order. */
type StoredRunEvent = [string, string, string | null, Record<string, unknown>];

function encodeRunEvents(events: readonly RunEventDraft[]): string {
  return JSON.stringify(events.map((e): StoredRunEvent => [e.at, e.kind, e.stepId, e.data]));
}

function decodeRunEvents(runId: string, lastSeq: number, text: string): RunEventRecord[] {
  const stored = JSON.parse(text) as StoredRunEvent[];
  const first = lastSeq - stored.length + 1;
  return stored.map(([at, kind, stepId, data], i) => ({
    runId,
    seq: first + i,
    at,
    kind,
    stepId,
    data,
  }));
}

interface Cursor {
  u: string;
  id: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString()) as Partial<Cursor>;
    if (typeof c.u === 'string' && typeof c.id === 'string') return { u: c.u, id: c.id };
  } catch {
    // fall through to the error below
  }
  throw new WardenError('invalid_field', 'query: field "cursor" is not a cursor this API issued', {
    field: 'cursor',
    status: 400,
  });
}

/** For a query on `cases`: since which alert its row lags, or null. */
const SINCE_ALERT_COLUMN =
  '(SELECT since_alert FROM unwritten_cases u WHERE u.case_id = cases.id) AS since_alert';
const ALERTS_OF_CASE_SINCE =
  'SELECT doc, count, last_seen FROM alerts WHERE case_id = ? AND rowid > ? ORDER BY rowid';
const CASE_ALERT_TOTALS = `SELECT count(*) AS alertCount, coalesce(sum(count), 0) AS eventCount,
  min(first_seen) AS firstSeen, max(last_seen) AS lastSeen FROM alerts WHERE case_id = ?`;
/** The row of a case the ingest writer holds back (see `unwritten_cases`), or none. */
const UNWRITTEN_SINCE = 'SELECT since_alert FROM unwritten_cases WHERE case_id = ?';

/**
 * A case whose row lags its alerts (the ingest writer holds it back) as
 * those alerts left it: its row, with every alert linked since `sinceAlert`
 * (a rowid) linked again and the counts taken from all of its alerts. Any
 * connection can do this, so a read sees every acknowledged alert's case.
 */
function caseAsAlertsLeftIt(
  written: Case,
  sinceAlert: number,
  alertsSince: Database.Statement,
  totalsOf: Database.Statement,
): Case {
  const alerts = (alertsSince.all(written.id, sinceAlert) as Row[]).map((row) => {
    // Linking reads no description: where a document points into its payload for one is left so.
    const alert = JSON.parse(str(row.doc)) as AlertFacts;
    alert.count = row.count as number;
    alert.lastSeen = str(row.last_seen);
    return { alert, keys: correlationKeysOf(alert) };
  });
  const totals = totalsOf.get(written.id) as CaseAlertTotals;
  return totals.alertCount > 0 ? rebuildCaseFromAlerts(written, alerts, totals) : written;
}

/**
 * Runs the executor should advance now, in three parts merged by their last
 * update: queued runs, running ones (left so by a crash), and waiting ones
 * that are due. The first term of each repeats its partial index's condition
 * word for word, so that SQLite reads that index (the active runs) instead
 * of every run ever made. Queued and running runs come from their index in
 * order, so a poll reads `limit` of them however long the backlog; due
 * waiting runs (few at a time) are sorted.
 */
export const READY_RUNS_QUERY = `SELECT id, updated_at FROM playbook_runs
  WHERE status IN ('queued', 'running') AND status = ?
  ORDER BY updated_at, id LIMIT ?`;
export const QUEUED_RUN_IDS_QUERY = `SELECT id FROM playbook_runs
  WHERE status IN ('queued', 'running') AND status = 'queued'
  ORDER BY updated_at, id LIMIT ?`;
export const DUE_WAITING_RUNS_QUERY = `SELECT id, updated_at FROM playbook_runs
  WHERE status IN ('queued', 'running', 'waiting') AND status = 'waiting' AND wake_at <= ?
  ORDER BY updated_at, id LIMIT ?`;

interface DueRow {
  id: string;
  updated_at: string;
}

const byUpdate = (a: DueRow, b: DueRow): number =>
  a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id < b.id ? -1 : 1;

/**
 * The embedded store: one SQLite file in WAL mode. Writes go through one
 * connection, one transaction at a time (a promise chain serialises them);
 * reads use a second connection so they never see uncommitted work. With the
 * default durability a transaction resolves once an fdatasync of the WAL that
 * began after its COMMIT has finished (`WalSync`); the next transaction runs
 * meanwhile.
 */
export class SqliteStore implements Store {
  readonly backend = 'sqlite';
  readonly defersCaseWrites: boolean;
  readonly path: string;
  private readonly writer: Database.Database;
  private readonly reader: Database.Database;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly tx: SqliteTransaction;
  private readonly checkpointer: WalCheckpointer | undefined;
  /** Absent with `synchronous: 'NORMAL'`: commits are not synced. */
  private readonly walSync: WalSync | undefined;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.path = join(options.dataDir, 'warden.db');
    this.writer = new Database(this.path);
    // A new store uses 16 KiB pages: an alert row (~3 KB) and a busy case's
    // document then rarely spill onto overflow pages, and a commit writes
    // fewer, fuller WAL frames (about 15% less writer CPU per alert than
    // 4 KiB). An existing store keeps the page size it was created with.
    this.writer.pragma(`page_size = ${PAGE_SIZE}`);
    this.writer.pragma('journal_mode = WAL');
    // NORMAL: a COMMIT does not fsync. For the default durability WalSync
    // syncs the WAL after each commit instead, off this thread, and the
    // transaction resolves only then (see WalSync for why that is as durable as FULL).
    this.writer.pragma('synchronous = NORMAL');
    this.walSync =
      options.synchronous === 'NORMAL'
        ? undefined
        : new WalSync(`${this.path}-wal`, options.syncWal ?? fdatasync);
    this.writer.pragma('foreign_keys = ON');
    this.writer.pragma('busy_timeout = 5000');
    migrate(this.writer);
    // Checkpoints run on a worker thread (see WalCheckpointer), not inside commits.
    this.writer.pragma('wal_autocheckpoint = 0');
    this.checkpointer = options.checkpoints === false ? undefined : new WalCheckpointer(this.path);
    this.reader = new Database(this.path, { readonly: true });
    this.reader.pragma('busy_timeout = 5000');
    this.defersCaseWrites = options.defersCaseWrites ?? false;
    this.tx = new SqliteTransaction(this.writer, this.defersCaseWrites);
  }

  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.stagedTransaction(work).durable;
  }

  stagedTransaction<T>(work: (tx: StoreTransaction) => Promise<T>): StagedTransaction<T> {
    const run = async (): Promise<{ result: T; synced: Promise<void> }> => {
      this.walSync?.check();
      retryWhileBusy(() => this.writer.exec('BEGIN IMMEDIATE'));
      this.tx.begin();
      try {
        const result = await work(this.tx);
        this.tx.flushCounters();
        this.writer.exec('COMMIT');
        // Requested now, before anything else runs: the sync must begin after this COMMIT.
        const synced = this.walSync?.afterCommit() ?? Promise.resolve();
        synced.catch(ignore);
        return { result, synced };
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        this.tx.rolledBack();
        throw error;
      }
    };
    const commit = this.tail.then(run, run);
    // The next transaction starts once this one has committed, not once it is durable.
    this.tail = commit.catch(ignore);
    const committed = commit.then(({ result }) => result);
    const durable = commit.then(async ({ result, synced }) => {
      await synced;
      return result;
    });
    committed.catch(ignore);
    durable.catch(ignore);
    return { committed, durable };
  }

  private readonly statements = new Map<string, Database.Statement>();
  private readonly writerStatements = new Map<string, Database.Statement>();

  /**
   * A read's statement, compiled once (list queries vary, so the cache is
   * bounded). The ingest writer's store (the one connection that
   * writes under load) reads on its own connection between its
   * transactions: it sees just what the read-only one would, from a page
   * cache its commits keep warm, where every commit empties the read-only
   * connection's. Inside a transaction, a read must not see it: the
   * read-only connection answers.
   */
  private statement(sql: string): Database.Statement {
    const own = this.defersCaseWrites && !this.writer.inTransaction;
    const statements = own ? this.writerStatements : this.statements;
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= 256) statements.clear();
      statement = (own ? this.writer : this.reader).prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  }

  /** Read errors (a bad cursor, a closed database) become rejections, as callers expect of a promise. */
  private read<T>(query: () => T): Promise<T> {
    try {
      return Promise.resolve(retryWhileBusy(query));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  ping(): Promise<void> {
    return this.read(() => {
      this.statement('SELECT 1').get();
    });
  }

  getAlert(id: string): Promise<NormalizedAlert | undefined> {
    return this.read(() => {
      const row = this.statement('SELECT * FROM alerts WHERE id = ?').get(id) as Row | undefined;
      return row ? alertFromRow(row) : undefined;
    });
  }

  getCase(idOrNumber: string): Promise<Case | undefined> {
    return this.read(() => {
      const row = (
        /^\d+$/.test(idOrNumber)
          ? this.statement(`SELECT doc, ${SINCE_ALERT_COLUMN} FROM cases WHERE number = ?`).get(
              Number(idOrNumber),
            )
          : this.statement(`SELECT doc, ${SINCE_ALERT_COLUMN} FROM cases WHERE id = ?`).get(
              idOrNumber,
            )
      ) as Row | undefined;
      return row ? this.currentCase(row) : undefined;
    });
  }

  /** A case row read with `SINCE_ALERT_COLUMN`, brought up to its alerts if the ingest writer holds it back. */
  private currentCase(row: Row): Case {
    const c = JSON.parse(str(row.doc)) as Case;
    if (row.since_alert === null || row.since_alert === undefined) return c;
    return caseAsAlertsLeftIt(
      c,
      row.since_alert as number,
      this.statement(ALERTS_OF_CASE_SINCE),
      this.statement(CASE_ALERT_TOTALS),
    );
  }

  listCases(filter: CaseFilter, page: PageRequest): Promise<Page<Case>> {
    return this.read(() => {
      const where = new SqlFilter();
      where.in('status', filter.status);
      where.in('severity_id', filter.severityId);
      where.in('tier', filter.tier);
      where.in('business_unit', filter.businessUnit);
      where.in('business_unit', filter.scopeUnits);
      if (filter.model) {
        where.add('id IN (SELECT case_id FROM case_models WHERE model_id = ?)', filter.model);
      }
      // Order and filters use the row; a held-back case's row catches up within its write interval.
      return this.newestFirst(
        'cases',
        `id, updated_at, doc, ${SINCE_ALERT_COLUMN}`,
        'updated_at',
        where,
        page,
        (r) => this.currentCase(r),
      );
    });
  }

  /** One page of `table`, newest first by (`timeColumn`, id), continuing after the page's cursor. */
  private newestFirst<T>(
    table: string,
    columns: string,
    timeColumn: string,
    where: SqlFilter,
    page: PageRequest,
    fromRow: (row: Row) => T,
  ): Page<T> {
    if (page.cursor) {
      const cursor = decodeCursor(page.cursor);
      where.add(
        `(${timeColumn} < ? OR (${timeColumn} = ? AND id < ?))`,
        cursor.u,
        cursor.u,
        cursor.id,
      );
    }
    const clause = where.clauses.length ? `WHERE ${where.clauses.join(' AND ')}` : '';
    const sql = `SELECT ${columns} FROM ${table} ${clause}
        ORDER BY ${timeColumn} DESC, id DESC LIMIT ?`;
    const rows = this.statement(sql).all(...where.params, page.limit + 1) as Row[];
    const last = rows.length > page.limit ? rows[page.limit - 1] : undefined;
    return {
      items: rows.slice(0, page.limit).map(fromRow),
      nextCursor: last ? encodeCursor({ u: str(last[timeColumn]), id: str(last.id) }) : null,
    };
  }

  listCaseAlerts(caseId: string, limit: number): Promise<NormalizedAlert[]> {
    return this.read(() => {
      const rows = this.statement(
        'SELECT * FROM alerts WHERE case_id = ? ORDER BY received_at, id LIMIT ?',
      ).all(caseId, limit) as Row[];
      return rows.map(alertFromRow);
    });
  }

  listTimeline(caseId: string, page?: TimelinePage): Promise<TimelineEntry[]> {
    return this.read(() => {
      // Entry ids are UUIDv7, so id order is write order.
      const rows = (
        page
          ? (
              this.statement(
                `SELECT * FROM timeline WHERE case_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
              ).all(caseId, page.before ?? '\uffff', page.limit) as Row[]
            ).reverse()
          : this.statement('SELECT * FROM timeline WHERE case_id = ? ORDER BY id').all(caseId)
      ) as Row[];
      return rows.map(timelineEntryFromRow);
    });
  }

  listTimelineKinds(caseId: string, kinds: readonly TimelineKind[]): Promise<TimelineEntry[]> {
    return this.read(() => timelineOfKinds((sql) => this.statement(sql), caseId, kinds));
  }

  findTokenByHash(tokenHash: string): Promise<ApiToken | undefined> {
    return this.read(() => {
      const row = this.statement('SELECT * FROM api_tokens WHERE token_hash = ?').get(tokenHash) as
        Row | undefined;
      return row ? tokenFromRow(row) : undefined;
    });
  }

  getToken(id: string): Promise<ApiToken | undefined> {
    return this.read(() => {
      const row = this.statement('SELECT * FROM api_tokens WHERE id = ?').get(id) as
        Row | undefined;
      return row ? tokenFromRow(row) : undefined;
    });
  }

  listTokens(): Promise<ApiToken[]> {
    return this.read(() =>
      (this.statement('SELECT * FROM api_tokens ORDER BY created_at, id').all() as Row[]).map(
        tokenFromRow,
      ),
    );
  }

  readAudit(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.read(() => {
      const rows = this.statement('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?').all(
        afterSeq,
        limit,
      ) as Row[];
      return rows.map(auditFromRow);
    });
  }

  recordedAuditCount(): Promise<number> {
    return this.read(() => {
      const row = this.statement(
        "SELECT value FROM counters WHERE name = 'audit_entries'",
      ).get() as Row;
      return row.value as number;
    });
  }

  counts(): Promise<StoreCounts> {
    return this.read(() => {
      // Alert and event totals are kept as counters: counting a million rows per scrape would not do.
      const alerts = this.statement(
        "SELECT (SELECT value FROM counters WHERE name = 'alerts') AS n, (SELECT value FROM counters WHERE name = 'events') AS e",
      ).get() as Row;
      const cases = this.statement(
        "SELECT count(*) AS n, coalesce(sum(status != 'closed'), 0) AS open FROM cases",
      ).get() as Row;
      return {
        alerts: alerts.n as number,
        events: alerts.e as number,
        cases: cases.n as number,
        openCases: cases.open as number,
      };
    });
  }

  getRun(id: string): Promise<PlaybookRunRecord | undefined> {
    return this.read(() => {
      const row = this.statement('SELECT * FROM playbook_runs WHERE id = ?').get(id) as
        Row | undefined;
      return row ? runFromRow(row) : undefined;
    });
  }

  listRunsForCase(caseId: string): Promise<PlaybookRunRecord[]> {
    return this.read(() =>
      (
        this.statement('SELECT * FROM playbook_runs WHERE case_id = ? ORDER BY created_at, id').all(
          caseId,
        ) as Row[]
      ).map(runFromRow),
    );
  }

  dueRunIds(now: string, limit: number): Promise<string[]> {
    return this.read(() => {
      const ready = this.statement(READY_RUNS_QUERY);
      const rows = [
        ...(ready.all('queued', limit) as DueRow[]),
        ...(ready.all('running', limit) as DueRow[]),
        ...(this.statement(DUE_WAITING_RUNS_QUERY).all(now, limit) as DueRow[]),
      ];
      return rows
        .sort(byUpdate)
        .slice(0, limit)
        .map((row) => row.id);
    });
  }

  queuedRunIds(limit: number): Promise<string[]> {
    // Ids alone (pluck): a row object per run costs about 0.5 us more here.
    return this.read(() => this.statement(QUEUED_RUN_IDS_QUERY).pluck().all(limit) as string[]);
  }

  listRunEvents(runId: string): Promise<RunEventRecord[]> {
    return this.read(() =>
      (
        this.statement(
          'SELECT last_seq, events FROM run_event_groups WHERE run_id = ? ORDER BY last_seq',
        ).all(runId) as Row[]
      ).flatMap((row) => decodeRunEvents(runId, row.last_seq as number, str(row.events))),
    );
  }

  getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.read(() => {
      const row = this.statement('SELECT * FROM approvals WHERE id = ?').get(id) as Row | undefined;
      return row ? approvalFromRow(row) : undefined;
    });
  }

  listApprovals(filter: ApprovalFilter, page: PageRequest): Promise<Page<ApprovalRecord>> {
    return this.read(() => {
      const where = new SqlFilter();
      where.in('status', filter.status);
      where.in('business_unit', filter.scopeUnits);
      return this.newestFirst('approvals', '*', 'requested_at', where, page, approvalFromRow);
    });
  }

  listUnannouncedApprovals(): Promise<ApprovalRecord[]> {
    return this.read(() =>
      (
        this.statement(
          `SELECT * FROM approvals WHERE status = 'pending' AND announced_at IS NULL
             ORDER BY requested_at, id`,
        ).all() as Row[]
      ).map(approvalFromRow),
    );
  }

  getEffect(idempotencyKey: string): Promise<EffectRecord | undefined> {
    return this.read(() => {
      const row = this.statement('SELECT * FROM effects WHERE idempotency_key = ?').get(
        idempotencyKey,
      ) as Row | undefined;
      return row ? effectFromRow(row) : undefined;
    });
  }

  listDeadLetters(page: PageRequest): Promise<Page<DeadLetterRecord>> {
    return this.read(() =>
      this.newestFirst(
        'dead_letters',
        '*',
        'received_at',
        new SqlFilter(),
        page,
        deadLetterFromRow,
      ),
    );
  }

  getDeadLetter(id: string): Promise<DeadLetterRecord | undefined> {
    return this.read(() => {
      const row = this.statement('SELECT * FROM dead_letters WHERE id = ?').get(id) as
        Row | undefined;
      return row ? deadLetterFromRow(row) : undefined;
    });
  }

  listEvidence(caseId: string): Promise<EvidenceItem[]> {
    return this.read(() =>
      (
        this.statement(
          `SELECT ${EVIDENCE_COLUMNS} FROM evidence WHERE case_id = ? ORDER BY id`,
        ).all(caseId) as Row[]
      ).map(evidenceFromRow),
    );
  }

  getEvidence(id: string): Promise<StoredEvidence | undefined> {
    return this.read(() => {
      const row = this.statement('SELECT * FROM evidence WHERE id = ?').get(id) as Row | undefined;
      return row ? { ...evidenceFromRow(row), content: row.content as Buffer } : undefined;
    });
  }

  listCustody(of: { evidenceId: string } | { caseId: string }): Promise<CustodyEvent[]> {
    return this.read(() => {
      const rows = (
        'evidenceId' in of
          ? this.statement('SELECT * FROM evidence_custody WHERE evidence_id = ? ORDER BY seq').all(
              of.evidenceId,
            )
          : this.statement('SELECT * FROM evidence_custody WHERE case_id = ? ORDER BY seq').all(
              of.caseId,
            )
      ) as Row[];
      return rows.map((r) => ({
        evidenceId: str(r.evidence_id),
        at: str(r.at),
        actor: str(r.actor),
        action: str(r.action) as CustodyAction,
        detail: JSON.parse(str(r.detail)) as Record<string, unknown>,
      }));
    });
  }

  scanEvidence(afterId: string | null, limit: number): Promise<StoredEvidence[]> {
    return this.read(() =>
      (
        this.statement('SELECT * FROM evidence WHERE id > ? ORDER BY id LIMIT ?').all(
          afterId ?? '',
          limit,
        ) as Row[]
      ).map((row) => ({ ...evidenceFromRow(row), content: row.content as Buffer })),
    );
  }

  /** Closes once; closing again (two owners shutting down) waits for the same close. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async closeOnce(): Promise<void> {
    await this.tail;
    // Every commit's sync has finished before the WAL's descriptor, then the database, is closed.
    await this.walSync?.close();
    await this.checkpointer?.stop();
    this.reader.close();
    this.writer.pragma('wal_checkpoint(TRUNCATE)');
    this.writer.close();
  }
}

/** Bytes per database page of a store created by this version. */
export const PAGE_SIZE = 16_384;

function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map(
      (r) => r.version as number,
    ),
  );
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    })();
  }
}

/** Open cases whose parsed documents the writer keeps. */
const CASE_CACHE_LIMIT = 5000;

interface CachedCase {
  c: Case;
  /** The row's document as this connection last wrote or read it. */
  text: string;
  /** What the row says (`c` may have changed since). */
  written: WrittenCase['before'];
  /**
   * The `case_models` rows this connection has written for the case, so an
   * update (even of a copy of the cached object) inserts only a model the
   * case did not have. Forgotten with the cache: a rollback undoes rows the
   * memo would otherwise vouch for.
   */
  modelsWritten: Set<string>;
}

function writtenFigures(c: Case): WrittenCase['before'] {
  return { alertCount: c.alertCount, eventCount: c.eventCount, severityId: c.severityId };
}

/** A case whose row lags what alerts did to it (see `deferCaseUpdate`). */
interface UnwrittenCase {
  /** Alerts with a higher rowid may be missing from the row. */
  sinceAlert: number;
  /** The case as alerts changed it; absent until rebuilt from the row and its alerts. */
  cached?: CachedCase;
}

function timelineEntryFromRow(r: Row): TimelineEntry {
  return {
    id: str(r.id),
    caseId: str(r.case_id),
    at: str(r.at),
    actor: str(r.actor),
    kind: str(r.kind) as TimelineKind,
    message: str(r.message),
    data: JSON.parse(str(r.data)) as Record<string, unknown>,
  };
}

function timelineOfKinds(
  prepare: (sql: string) => Database.Statement,
  caseId: string,
  kinds: readonly TimelineKind[],
): TimelineEntry[] {
  if (kinds.length === 0) return [];
  const marks = kinds.map(() => '?').join(', ');
  const rows = prepare(
    `SELECT * FROM timeline WHERE case_id = ? AND kind IN (${marks}) ORDER BY id`,
  ).all(caseId, ...kinds) as Row[];
  return rows.map(timelineEntryFromRow);
}

/** Statements prepared once; every method runs inside the store's open transaction. */
class SqliteTransaction implements StoreTransaction {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly defersCaseWrites: boolean,
  ) {
    this.s = {
      dedup: db.prepare(
        'SELECT id, case_id, last_seen, count FROM alerts WHERE dedup_key = ? AND last_seen >= ? ORDER BY last_seen DESC LIMIT 1',
      ),
      // The hot writes bind by position: named parameters cost ~90 ns each to look up, and
      // their argument objects were spread copies of the records.
      insertAlert:
        db.prepare(`INSERT INTO alerts (id, dedup_key, case_id, type, severity_id, source_format,
        model_id, business_unit, first_seen, last_seen, count, received_at, doc, raw)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      foldRepeat: db.prepare(
        'UPDATE alerts SET count = count + ?, last_seen = max(last_seen, ?) WHERE id = ?',
      ),
      // The row's last_seen and updated_at lag for an unwritten case: those are compared in memory.
      caseByKeys: (n: number) =>
        db.prepare(`SELECT c.id, c.last_seen, c.updated_at FROM cases c WHERE c.id IN (
          SELECT case_id FROM correlation_keys WHERE key IN (${Array.from({ length: n }, () => '?').join(',')}))
          AND c.status != 'closed'`),
      getCase: db.prepare('SELECT doc FROM cases WHERE id = ?').pluck(),
      unwrittenCases: db.prepare('SELECT case_id, since_alert FROM unwritten_cases'),
      markUnwritten: db.prepare(
        'INSERT OR IGNORE INTO unwritten_cases (case_id, since_alert) VALUES (?, ?)',
      ),
      markWritten: db.prepare('DELETE FROM unwritten_cases WHERE case_id = ?'),
      markAllWritten: db.prepare('DELETE FROM unwritten_cases'),
      lastAlertRowid: db.prepare('SELECT coalesce(max(rowid), 0) FROM alerts').pluck(),
      alertsOfCaseSince: db.prepare(ALERTS_OF_CASE_SINCE),
      caseAlertTotals: db.prepare(CASE_ALERT_TOTALS),
      unwrittenSince: db.prepare(UNWRITTEN_SINCE).pluck(),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      nextNumber: db.prepare(
        "UPDATE counters SET value = value + 1 WHERE name = 'case_number' RETURNING value",
      ),
      // Insert and update take the same leading values (see `caseValues`).
      insertCase: db.prepare(`INSERT INTO cases (status, phase, severity_id, tier, business_unit,
        assignee, last_seen, updated_at, doc, id, number, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      updateCase: db.prepare(`UPDATE cases SET status = ?, phase = ?, severity_id = ?, tier = ?,
        business_unit = ?, assignee = ?, last_seen = ?, updated_at = ?, doc = ? WHERE id = ?`),
      caseModel: db.prepare('INSERT OR IGNORE INTO case_models (model_id, case_id) VALUES (?, ?)'),
      addKey: db.prepare('INSERT OR IGNORE INTO correlation_keys (key, case_id) VALUES (?, ?)'),
      removeKeys: db.prepare('DELETE FROM correlation_keys WHERE case_id = ?'),
      timeline: db.prepare(`INSERT INTO timeline (id, case_id, at, actor, kind, message, data)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      auditHead: db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
      audit:
        db.prepare(`INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      bumpCounter: db.prepare('UPDATE counters SET value = value + ? WHERE name = ?'),
      // Insert and update take the same leading values (see `runValues`).
      insertRun: db.prepare(`INSERT INTO playbook_runs (playbook_version, business_unit, status,
        wake_at, state, command, updated_at, finished_at, id, playbook_id, case_id, alert_id,
        parent_run_id, parent_step_id, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      updateRun: db.prepare(`UPDATE playbook_runs SET playbook_version = ?, business_unit = ?,
        status = ?, wake_at = ?, state = ?, command = ?, updated_at = ?, finished_at = ? WHERE id = ?`),
      lastRunEvent: db
        .prepare('SELECT coalesce(max(last_seq), 0) FROM run_event_groups WHERE run_id = ?')
        .pluck(),
      runEvents: db.prepare(
        'INSERT INTO run_event_groups (run_id, last_seq, events) VALUES (?, ?, ?)',
      ),
      insertApproval: db.prepare(`INSERT INTO approvals (id, run_id, step_id, case_id,
        business_unit, status, approvers, message, requested_at, deadline, answered_by,
        answered_role, answered_at, comment) VALUES (@id, @runId, @stepId, @caseId, @businessUnit,
        @status, @approvers, @message, @requestedAt, @deadline, @answeredBy, @answeredRole,
        @answeredAt, @comment)`),
      updateApproval: db.prepare(`UPDATE approvals SET status = @status, answered_by = @answeredBy,
        answered_role = @answeredRole, answered_at = @answeredAt, comment = @comment
        WHERE id = @id AND status = 'pending'`),
      approvalStatus: db.prepare('SELECT status FROM approvals WHERE id = ?').pluck(),
      approvalAnnounced: db.prepare('UPDATE approvals SET announced_at = ? WHERE id = ?'),
      wakeRun: db.prepare(
        "UPDATE playbook_runs SET wake_at = ? WHERE id = ? AND status = 'waiting'",
      ),
      putEffect: db.prepare(`INSERT INTO effects (idempotency_key, run_id, step_id, item,
        connector, action, input, status, output, error, exchange, sent_at, finished_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (idempotency_key) DO UPDATE SET status = excluded.status,
        output = excluded.output, error = excluded.error, exchange = excluded.exchange,
        finished_at = excluded.finished_at`),
      insertEvidence: db.prepare(`INSERT INTO evidence (id, case_id, name, kind, media_type, sha256,
        size_bytes, source, collected_at, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      // A scalar subquery, not INSERT … SELECT: that form cost 16 µs a row here, this one 5.
      // Unknown evidence leaves case_id NULL, which its NOT NULL constraint refuses.
      appendCustody:
        db.prepare(`INSERT INTO evidence_custody (evidence_id, case_id, at, actor, action, detail)
        VALUES (@evidenceId, (SELECT case_id FROM evidence WHERE id = @evidenceId), @at, @actor,
        @action, @detail)`),
      insertDeadLetter: db.prepare(`INSERT INTO dead_letters (id, received_at, source,
        reason_code, reason, field, body, replayed_at, replay_result) VALUES (@id, @receivedAt,
        @source, @reasonCode, @reason, @field, @body, @replayedAt, @replayResult)`),
      // A replay refused again leaves the dead letter with the new reason; a successful one keeps the old.
      markDeadLetterReplayed: db.prepare(`UPDATE dead_letters SET replayed_at = @at,
        replay_result = @result, reason_code = coalesce(@code, reason_code),
        reason = coalesce(@message, reason),
        field = CASE WHEN @code IS NULL THEN field ELSE @field END WHERE id = @id`),
      insertToken:
        db.prepare(`INSERT INTO api_tokens (id, name, token_hash, role, units, created_at, created_by)
        VALUES (@id, @name, @tokenHash, @role, @units, @createdAt, @createdBy)`),
      deleteToken: db.prepare('DELETE FROM api_tokens WHERE id = ?'),
      upsertToken:
        db.prepare(`INSERT INTO api_tokens (id, name, token_hash, role, units, created_at, created_by)
        VALUES (@id, @name, @tokenHash, @role, @units, @createdAt, @createdBy)
        ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, role = excluded.role, units = excluded.units`),
    };
  }

  private readonly caseByKeysStatements = new Map<number, Database.Statement>();

  findDedupCandidate(dedupKey: string, notBefore: string): Promise<DedupCandidate | undefined> {
    const row = this.s.dedup.get(dedupKey, notBefore) as Row | undefined;
    return Promise.resolve(
      row
        ? {
            id: str(row.id),
            caseId: (row.case_id as string | null) ?? null,
            lastSeen: str(row.last_seen),
            count: row.count as number,
          }
        : undefined,
    );
  }

  private pendingAlerts = 0;
  private pendingEvents = 0;
  private pendingAudit = 0;
  private auditHead: { seq: number; hash: string } | undefined;

  /**
   * Parsed case documents as last written by this connection, so the hot
   * path neither re-reads nor re-parses a case it just wrote. Dropped when
   * another connection (the CLI) has committed since, and on rollback, since
   * callers mutate the objects they are handed.
   */
  private readonly caseCache = new Map<string, CachedCase>();
  /**
   * Cases whose rows lag: never dropped like the cache, since they hold
   * what only the alerts know until the row is written (or rebuilt).
   */
  private readonly unwritten = new Map<string, UnwrittenCase>();
  /** Each recently active run's last event number, kept and dropped like the case cache. */
  private readonly lastRunEventSeq = new Map<string, number>();
  private dataVersion = -1;
  /** The alerts' highest rowid before this transaction inserted any (once known). */
  private alertRowidAtBegin: number | undefined;

  begin(): void {
    this.auditHead = undefined;
    this.alertRowidAtBegin = undefined;
    this.discardCounters();
    const version = this.s.dataVersion.get() as number;
    if (version !== this.dataVersion) {
      if (this.dataVersion === -1) this.loadUnwritten();
      else this.adoptOtherWrites();
      this.forgetCached();
    }
    this.dataVersion = version;
  }

  rolledBack(): void {
    this.discardCounters();
    this.forgetCached();
    // What the rolled-back work did to unwritten cases is in their objects:
    // rebuild them from what is stored.
    this.loadUnwritten();
  }

  /** Drops what this connection remembers of rows another connection may have changed. */
  private forgetCached(): void {
    this.caseCache.clear();
    this.lastRunEventSeq.clear();
  }

  private loadUnwritten(): void {
    this.unwritten.clear();
    if (!this.defersCaseWrites) return;
    for (const row of this.s.unwrittenCases.all() as Row[]) {
      this.unwritten.set(str(row.case_id), { sinceAlert: row.since_alert as number });
    }
  }

  /**
   * Another connection committed: where it rewrote an unwritten case (an
   * analyst closed or assigned it), keep its workflow fields and this
   * connection's alert fields.
   */
  private adoptOtherWrites(): void {
    for (const [id, entry] of this.unwritten) {
      const cached = entry.cached;
      if (!cached) continue;
      const text = this.s.getCase.get(id) as string | undefined;
      if (text === undefined) {
        this.unwritten.delete(id);
        this.s.markWritten.run(id);
        continue;
      }
      if (text === cached.text) continue;
      const stored = JSON.parse(text) as Case;
      const merged = withWorkflowOf(cached.c, stored);
      // Reopened meanwhile: the reopen restored only the keys its (older) row knew.
      if (cached.c.status === 'closed' && merged.status !== 'closed') {
        for (const key of merged.correlationKeys) this.s.addKey.run(key, id);
      }
      entry.cached = { ...cached, c: merged, text, written: writtenFigures(stored) };
    }
  }

  /** The case as the unwritten entry knows it, rebuilt from the row and its alerts when needed. */
  private unwrittenCase(id: string, entry: UnwrittenCase): CachedCase | undefined {
    if (entry.cached) return entry.cached;
    const text = this.s.getCase.get(id) as string | undefined;
    if (text === undefined) {
      this.unwritten.delete(id);
      this.s.markWritten.run(id);
      return undefined;
    }
    const written = JSON.parse(text) as Case;
    const c = caseAsAlertsLeftIt(
      written,
      entry.sinceAlert,
      this.s.alertsOfCaseSince,
      this.s.caseAlertTotals,
    );
    const modelsWritten = new Set(written.modelIds);
    entry.cached = { c, text, written: writtenFigures(written), modelsWritten };
    return entry.cached;
  }

  /** Call after `remember(c)`. */
  private writeCaseModels(c: Case, cached: CachedCase | undefined): void {
    const written = cached?.modelsWritten ?? new Set<string>();
    for (const model of c.modelIds) {
      if (written.has(model)) continue;
      this.s.caseModel.run(model, c.id);
      written.add(model);
    }
  }

  /**
   * `text`: the row's document as just written or read. `stored`: `c` was
   * just read from the store, so its models' rows are there.
   */
  private remember(c: Case, text: string, stored = false): CachedCase {
    const previous = this.caseCache.get(c.id) ?? this.unwritten.get(c.id)?.cached;
    const modelsWritten = previous?.modelsWritten ?? new Set<string>();
    if (stored) for (const model of c.modelIds) modelsWritten.add(model);
    const cached: CachedCase = { c, text, written: writtenFigures(c), modelsWritten };
    this.caseCache.delete(c.id);
    this.caseCache.set(c.id, cached);
    if (this.caseCache.size > CASE_CACHE_LIMIT) {
      const oldest = this.caseCache.keys().next().value;
      if (oldest !== undefined) this.caseCache.delete(oldest);
    }
    return cached;
  }

  /** Totals change once per transaction, not once per alert. */
  flushCounters(): void {
    if (this.pendingAlerts > 0) this.s.bumpCounter.run(this.pendingAlerts, 'alerts');
    if (this.pendingEvents > 0) this.s.bumpCounter.run(this.pendingEvents, 'events');
    if (this.pendingAudit > 0) this.s.bumpCounter.run(this.pendingAudit, 'audit_entries');
    this.discardCounters();
  }

  discardCounters(): void {
    this.pendingAlerts = 0;
    this.pendingEvents = 0;
    this.pendingAudit = 0;
  }

  insertAlert({ alert, doc, raw }: EncodedAlert): Promise<void> {
    this.pendingAlerts += 1;
    this.pendingEvents += alert.count;
    const { lastInsertRowid } = this.s.insertAlert.run(
      alert.id,
      alert.dedupKey,
      alert.caseId ?? null,
      alert.type,
      alert.severityId,
      alert.source.format,
      alert.enrichment.modelId ?? null,
      alert.enrichment.businessUnit ?? null,
      alert.firstSeen,
      alert.lastSeen,
      alert.count,
      alert.receivedAt,
      doc,
      raw,
    );
    this.alertRowidAtBegin ??= Number(lastInsertRowid) - 1;
    return Promise.resolve();
  }

  foldRepeat(alertId: string, lastSeen: string, count: number): Promise<void> {
    this.pendingEvents += count;
    this.s.foldRepeat.run(count, lastSeen, alertId);
    return Promise.resolve();
  }

  findOpenCaseByKeys(keys: readonly string[], notBefore: string): Promise<Case | undefined> {
    if (keys.length === 0) return Promise.resolve(undefined);
    let statement = this.caseByKeysStatements.get(keys.length);
    if (!statement) {
      statement = this.s.caseByKeys(keys.length);
      this.caseByKeysStatements.set(keys.length, statement);
    }
    let best: { c: Case; updatedAt: string } | undefined;
    for (const row of statement.all(...keys) as Row[]) {
      const id = str(row.id);
      const entry = this.unwritten.get(id);
      const lagging = entry ? this.unwrittenCase(id, entry)?.c : undefined;
      const lastSeen = lagging ? lagging.lastSeen : str(row.last_seen);
      const updatedAt = lagging ? lagging.updatedAt : str(row.updated_at);
      if (lastSeen < notBefore || (lagging && lagging.status === 'closed')) continue;
      if (
        best &&
        (updatedAt < best.updatedAt || (updatedAt === best.updatedAt && id < best.c.id))
      ) {
        continue;
      }
      const c = lagging ?? this.cachedOrStored(id);
      if (c) best = { c, updatedAt };
    }
    return Promise.resolve(best?.c);
  }

  getCase(id: string): Promise<Case | undefined> {
    const entry = this.unwritten.get(id);
    if (entry) return Promise.resolve(this.unwrittenCase(id, entry)?.c);
    return Promise.resolve(this.cachedOrStored(id));
  }

  private cachedOrStored(id: string): Case | undefined {
    const cached = this.caseCache.get(id);
    if (cached) return cached.c;
    const text = this.s.getCase.get(id) as string | undefined;
    if (text === undefined) return undefined;
    const c = JSON.parse(text) as Case;
    // The ingest writer (another connection) may hold this case's row back.
    const since = this.defersCaseWrites
      ? undefined
      : (this.s.unwrittenSince.get(id) as number | undefined);
    if (since === undefined) {
      this.remember(c, text, true);
      return c;
    }
    const current = caseAsAlertsLeftIt(c, since, this.s.alertsOfCaseSince, this.s.caseAlertTotals);
    // Not `stored`: the models of the alerts linked since may have no rows yet.
    this.remember(current, text);
    return current;
  }

  nextCaseNumber(): Promise<number> {
    const row = this.s.nextNumber.get() as Row;
    return Promise.resolve(row.value as number);
  }

  insertCase(c: Case): Promise<void> {
    const doc = JSON.stringify(c);
    this.s.insertCase.run(...caseValues(c, doc), c.number, c.createdAt);
    this.writeCaseModels(c, this.remember(c, doc));
    return Promise.resolve();
  }

  updateCase(c: Case): Promise<void> {
    this.writeCaseModels(c, this.writeCaseRow(c));
    if (this.unwritten.delete(c.id)) this.s.markWritten.run(c.id);
    return Promise.resolve();
  }

  /** Rewrites an existing case's row (not its models, not its unwritten mark). */
  private writeCaseRow(c: Case): CachedCase {
    const doc = JSON.stringify(c);
    this.s.updateCase.run(...caseValues(c, doc));
    return this.remember(c, doc);
  }

  deferCaseUpdate(c: Case): Promise<void> {
    if (!this.defersCaseWrites) {
      throw new Error('this store connection does not ingest: it cannot defer case writes');
    }
    let entry = this.unwritten.get(c.id);
    if (!entry) {
      const cached = this.caseCache.get(c.id);
      const text = cached?.text ?? (this.s.getCase.get(c.id) as string | undefined);
      if (text === undefined) throw new WardenError('not_found', `case ${c.id} does not exist`);
      this.alertRowidAtBegin ??= this.s.lastAlertRowid.get() as number;
      entry = { sinceAlert: this.alertRowidAtBegin };
      // Only the alerts this transaction linked can be missing from the row.
      this.s.markUnwritten.run(c.id, entry.sinceAlert);
      entry.cached = cached ?? {
        c,
        text,
        written: writtenFigures(JSON.parse(text) as Case),
        modelsWritten: new Set(),
      };
      this.caseCache.delete(c.id);
      this.unwritten.set(c.id, entry);
    }
    const cached = entry.cached as CachedCase;
    cached.c = c;
    this.writeCaseModels(c, cached);
    return Promise.resolve();
  }

  writeUnwrittenCases(caseIds?: readonly string[]): Promise<WrittenCase[]> {
    const written: WrittenCase[] = [];
    if (this.unwritten.size === 0) return Promise.resolve(written);
    const ids = caseIds ?? [...this.unwritten.keys()];
    for (const id of ids) {
      const entry = this.unwritten.get(id);
      if (!entry) continue;
      const cached = this.unwrittenCase(id, entry);
      if (!cached) continue;
      const before = cached.written;
      this.writeCaseRow(cached.c);
      this.unwritten.delete(id);
      if (caseIds) this.s.markWritten.run(id);
      written.push({ case: cached.c, before });
    }
    if (!caseIds) {
      this.s.markAllWritten.run();
      this.unwritten.clear();
    }
    return Promise.resolve(written);
  }

  addCorrelationKeys(caseId: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) this.s.addKey.run(key, caseId);
    return Promise.resolve();
  }

  removeCorrelationKeys(caseId: string): Promise<void> {
    this.s.removeKeys.run(caseId);
    return Promise.resolve();
  }

  appendTimeline(entry: TimelineEntry): Promise<void> {
    const { id, caseId, at, actor, kind, message, data } = entry;
    this.s.timeline.run(id, caseId, at, actor, kind, message, JSON.stringify(data));
    return Promise.resolve();
  }

  listTimelineKinds(caseId: string, kinds: readonly TimelineKind[]): Promise<TimelineEntry[]> {
    return Promise.resolve(timelineOfKinds((sql) => this.db.prepare(sql), caseId, kinds));
  }

  appendAudit(draft: AuditDraft): Promise<AuditEntry> {
    // Read the head once per transaction: BEGIN IMMEDIATE keeps other writers (the CLI) out until commit.
    const head = (this.auditHead ??= (this.s.auditHead.get() as
      { seq: number; hash: string } | undefined) ?? { seq: 0, hash: AUDIT_GENESIS_HASH });
    const { entry, dataJson } = sealAuditEntry(head.seq + 1, head.hash, draft);
    const { seq, at, actor, action, subject, prevHash, hash } = entry;
    this.s.audit.run(seq, at, actor, action, subject, dataJson, prevHash, hash);
    this.auditHead = { seq, hash };
    this.pendingAudit += 1;
    return Promise.resolve(entry);
  }

  insertToken(token: ApiToken): Promise<void> {
    this.s.insertToken.run({ ...token, units: token.units ? JSON.stringify(token.units) : null });
    return Promise.resolve();
  }

  upsertToken(token: ApiToken): Promise<void> {
    this.s.upsertToken.run({ ...token, units: token.units ? JSON.stringify(token.units) : null });
    return Promise.resolve();
  }

  deleteToken(id: string): Promise<boolean> {
    return Promise.resolve(this.s.deleteToken.run(id).changes > 0);
  }

  insertRun(run: PlaybookRunRecord): Promise<void> {
    this.s.insertRun.run(
      ...runValues(run),
      run.playbookId,
      run.caseId,
      run.alertId,
      run.parentRunId,
      run.parentStepId,
      run.createdAt,
    );
    return Promise.resolve();
  }

  updateRun(run: PlaybookRunRecord): Promise<void> {
    const result = this.s.updateRun.run(...runValues(run));
    if (result.changes === 0) throw new WardenError('not_found', `run ${run.id} not found`);
    return Promise.resolve();
  }

  appendRunEvents(runId: string, events: readonly RunEventDraft[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const before = this.lastRunEventSeq.get(runId) ?? (this.s.lastRunEvent.get(runId) as number);
    const last = before + events.length;
    this.s.runEvents.run(runId, last, encodeRunEvents(events));
    if (this.lastRunEventSeq.size >= 4096) this.lastRunEventSeq.clear();
    this.lastRunEventSeq.set(runId, last);
    return Promise.resolve();
  }

  markApprovalAnnounced(id: string, at: string): Promise<void> {
    this.s.approvalAnnounced.run(at, id);
    return Promise.resolve();
  }

  insertApproval(approval: ApprovalRecord): Promise<void> {
    this.s.insertApproval.run({ ...approval, approvers: JSON.stringify(approval.approvers) });
    return Promise.resolve();
  }

  updateApproval(approval: ApprovalRecord): Promise<void> {
    const { id, status, answeredBy, answeredRole, answeredAt, comment } = approval;
    const result = this.s.updateApproval.run({
      id,
      status,
      answeredBy,
      answeredRole,
      answeredAt,
      comment,
    });
    if (result.changes === 0) {
      const current = this.s.approvalStatus.get(id) as string | undefined;
      throw current === undefined
        ? new WardenError('not_found', `approval ${id} not found`)
        : new WardenError('conflict', `approval ${id} is already ${current.replace('_', ' ')}`);
    }
    return Promise.resolve();
  }

  wakeRun(runId: string, at: string): Promise<void> {
    this.s.wakeRun.run(at, runId);
    return Promise.resolve();
  }

  putEffect(effect: EffectRecord): Promise<void> {
    this.s.putEffect.run(
      effect.idempotencyKey,
      effect.runId,
      effect.stepId,
      effect.item,
      effect.connector,
      effect.action,
      JSON.stringify(effect.input) ?? 'null',
      effect.status,
      json(effect.output),
      json(effect.error),
      json(effect.exchange),
      effect.sentAt,
      effect.finishedAt,
    );
    return Promise.resolve();
  }

  insertEvidence(item: StoredEvidence): Promise<void> {
    this.s.insertEvidence.run(
      item.id,
      item.caseId,
      item.name,
      item.kind,
      item.mediaType,
      item.sha256,
      item.sizeBytes,
      JSON.stringify(item.source),
      item.collectedAt,
      Buffer.from(item.content.buffer, item.content.byteOffset, item.content.byteLength),
    );
    return Promise.resolve();
  }

  appendCustody(event: CustodyEvent): Promise<void> {
    try {
      this.s.appendCustody.run({ ...event, detail: JSON.stringify(event.detail) });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'SQLITE_CONSTRAINT_NOTNULL' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new WardenError('not_found', `evidence ${event.evidenceId} not found`);
      }
      throw error;
    }
    return Promise.resolve();
  }

  insertDeadLetter(deadLetter: DeadLetterRecord): Promise<void> {
    this.s.insertDeadLetter.run({ ...deadLetter, replayResult: json(deadLetter.replayResult) });
    return Promise.resolve();
  }

  markDeadLetterReplayed(id: string, at: string, result: DeadLetterReplayResult): Promise<void> {
    const refused = result.status === 'rejected' ? result : undefined;
    const changes = this.s.markDeadLetterReplayed.run({
      id,
      at,
      result: JSON.stringify(result),
      code: refused?.code ?? null,
      message: refused?.message ?? null,
      field: refused?.field ?? null,
    }).changes;
    if (changes === 0) throw new WardenError('not_found', `dead letter ${id} not found`);
    return Promise.resolve();
  }
}
