import type { EncodedAlert, NormalizedAlert, SeverityId } from '../core/alert.js';
import type { AuditDraft, AuditEntry } from '../core/audit-chain.js';
import type { Case, CaseStatus, TimelineEntry, TimelineKind } from '../core/case.js';
import type { CustodyEvent, EvidenceItem, StoredEvidence } from '../core/evidence.js';
import type { Role } from '../core/access.js';
import type { ModelTier } from '../core/inventory.js';

/**
 * The one storage interface. A backend is one folder (`sqlite/`, later
 * `postgres/`) implementing it, and passes `store-contract.ts`.
 *
 * All writes happen inside `transaction`: the work either commits as a whole
 * or leaves nothing behind, and the promise resolves only after the commit is
 * durable, so a caller may acknowledge what it wrote.
 */
export interface Store {
  readonly backend: string;
  /** `StoreTransaction.deferCaseUpdate` is offered: this store's connection ingests. */
  readonly defersCaseWrites: boolean;
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /**
   * `transaction`, in two steps, for callers that pipeline their writes:
   * `committed` settles as soon as the work has committed (or failed and was
   * rolled back), so the caller may start its next transaction, but the
   * commit may not be durable yet, so nothing may be acknowledged then;
   * `durable` settles as `transaction` would, once the commit is durable.
   * `durable` rejects whenever `committed` does, and also when the commit
   * could not be made durable. Either may be left unobserved without an
   * unhandled rejection. Transactions still run one at a time, in call order,
   * and become durable in that order.
   */
  stagedTransaction<T>(work: (tx: StoreTransaction) => Promise<T>): StagedTransaction<T>;

  /** Resolves when the store answers a trivial query (health checks). */
  ping(): Promise<void>;
  getAlert(id: string): Promise<NormalizedAlert | undefined>;
  /** The case by id, or by its number when `idOrNumber` is all digits. */
  getCase(idOrNumber: string): Promise<Case | undefined>;
  listCases(filter: CaseFilter, page: PageRequest): Promise<Page<Case>>;
  /** A case's alerts, oldest first. */
  listCaseAlerts(caseId: string, limit: number): Promise<NormalizedAlert[]>;
  /**
   * A case's timeline, oldest first. With a page: the newest `limit` entries
   * written before the entry `before` (all when omitted), still oldest first.
   */
  listTimeline(caseId: string, page?: TimelinePage): Promise<TimelineEntry[]>;
  /** A case's timeline entries of these kinds, oldest first (e.g. those that make its tasks). */
  listTimelineKinds(caseId: string, kinds: readonly TimelineKind[]): Promise<TimelineEntry[]>;
  findTokenByHash(tokenHash: string): Promise<ApiToken | undefined>;
  getToken(id: string): Promise<ApiToken | undefined>;
  /** Every token, oldest first (hashes included: callers must not show them). */
  listTokens(): Promise<ApiToken[]>;
  /** Audit entries with seq > afterSeq, in order. */
  readAudit(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  /** How many audit entries were appended, as recorded apart from the log itself. */
  recordedAuditCount(): Promise<number>;
  counts(): Promise<StoreCounts>;

  getRun(id: string): Promise<PlaybookRunRecord | undefined>;
  /** A case's runs, oldest first. */
  listRunsForCase(caseId: string): Promise<PlaybookRunRecord[]>;
  /**
   * Ids of the runs an executor should pick up, oldest update first: queued
   * and running ones (after a restart), and waiting ones whose `wakeAt` is at
   * or before `now`. Ids only: the executor polls often and loads only the
   * runs it takes.
   */
  dueRunIds(now: string, limit: number): Promise<string[]>;
  /** Ids of the queued runs, oldest update first: what `dueRunIds` finds of them alone. */
  queuedRunIds(limit: number): Promise<string[]>;
  /** A run's trace, in order. */
  listRunEvents(runId: string): Promise<RunEventRecord[]>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  /** Newest first. */
  listApprovals(filter: ApprovalFilter, page: PageRequest): Promise<Page<ApprovalRecord>>;
  /**
   * Pending approvals whose request has not been announced yet (or never
   * will be: the process stopped in between), oldest first.
   */
  listUnannouncedApprovals(): Promise<ApprovalRecord[]>;
  getEffect(idempotencyKey: string): Promise<EffectRecord | undefined>;
  /** Newest received first. */
  listDeadLetters(page: PageRequest): Promise<Page<DeadLetterRecord>>;
  getDeadLetter(id: string): Promise<DeadLetterRecord | undefined>;
  /** A case's evidence, oldest first, without content. */
  listEvidence(caseId: string): Promise<EvidenceItem[]>;
  /** One item with its bytes. */
  getEvidence(id: string): Promise<StoredEvidence | undefined>;
  /** Custody events, oldest first, of one item or of every item on a case. */
  listCustody(of: { evidenceId: string } | { caseId: string }): Promise<CustodyEvent[]>;
  /** Every item with its bytes, in id order after `afterId`, for verification. */
  scanEvidence(afterId: string | null, limit: number): Promise<StoredEvidence[]>;
  close(): Promise<void>;
}

/** A case `writeUnwrittenCases` wrote, and what its row said before. */
export interface WrittenCase {
  case: Case;
  before: Pick<Case, 'alertCount' | 'eventCount' | 'severityId'>;
}

/** See `Store.stagedTransaction`. */
export interface StagedTransaction<T> {
  committed: Promise<T>;
  durable: Promise<T>;
}

export interface StoreTransaction {
  /** The newest alert with this dedup key last seen at or after `notBefore` (ISO). */
  findDedupCandidate(dedupKey: string, notBefore: string): Promise<DedupCandidate | undefined>;
  insertAlert(encoded: EncodedAlert): Promise<void>;
  /** Fold a repeat into a stored alert: add to its count, move its last-seen forward. */
  foldRepeat(alertId: string, lastSeen: string, count: number): Promise<void>;
  /** The most recently updated open case holding any of the keys and last seen at or after `notBefore`. */
  findOpenCaseByKeys(keys: readonly string[], notBefore: string): Promise<Case | undefined>;
  getCase(id: string): Promise<Case | undefined>;
  nextCaseNumber(): Promise<number>;
  insertCase(c: Case): Promise<void>;
  /** Writes the case's row (a case `deferCaseUpdate` left unwritten too). */
  updateCase(c: Case): Promise<void>;
  /**
   * Keeps `c`, changed by alerts linked to it, as the case's current state
   * without writing its row yet: `getCase` and `findOpenCaseByKeys` on this
   * connection see it from now on, other connections read the row as last
   * written. The row is written by the next `updateCase` or
   * `writeUnwrittenCases`. The store records durably that the case lags, and
   * rebuilds it from its alerts after a crash or a rolled-back transaction.
   * Only a store that ingests offers it (see `Store.defersCaseWrites`).
   */
  deferCaseUpdate(c: Case): Promise<void>;
  /**
   * Writes the cases `deferCaseUpdate` left unwritten: those named, or every
   * one (also those a crash left so). A named case that is not unwritten is skipped.
   */
  writeUnwrittenCases(caseIds?: readonly string[]): Promise<WrittenCase[]>;
  addCorrelationKeys(caseId: string, keys: readonly string[]): Promise<void>;
  /** A closed case stops absorbing alerts. */
  removeCorrelationKeys(caseId: string): Promise<void>;
  appendTimeline(entry: TimelineEntry): Promise<void>;
  /** `Store.listTimelineKinds` inside the transaction: it sees what the transaction appended. */
  listTimelineKinds(caseId: string, kinds: readonly TimelineKind[]): Promise<TimelineEntry[]>;
  appendAudit(draft: AuditDraft): Promise<AuditEntry>;
  insertToken(token: ApiToken): Promise<void>;
  /** Replace the token hash of an existing token id (the env-provided admin token). */
  upsertToken(token: ApiToken): Promise<void>;
  /** Removes a token, so its secret stops working; false when there was none. */
  deleteToken(id: string): Promise<boolean>;
  insertRun(run: PlaybookRunRecord): Promise<void>;
  /** Replaces everything but the run's identity (id, playbook, case, alert, parent, creation time). */
  updateRun(run: PlaybookRunRecord): Promise<void>;
  /** Events get their `seq` from their position after the run's last stored event. */
  appendRunEvents(runId: string, events: readonly RunEventDraft[]): Promise<void>;
  insertApproval(approval: ApprovalRecord): Promise<void>;
  /**
   * Records the answer (status, who, when, comment) of a pending approval;
   * `conflict` when it was answered (or timed out) already.
   */
  updateApproval(approval: ApprovalRecord): Promise<void>;
  /** Records that an approval's request went out to its announcement channels. */
  markApprovalAnnounced(id: string, at: string): Promise<void>;
  /** Makes a waiting run due at `at` (an approval was answered); no-op for a run not waiting. */
  wakeRun(runId: string, at: string): Promise<void>;
  /** Inserts, or replaces the stored effect with the same idempotency key. */
  putEffect(effect: EffectRecord): Promise<void>;
  insertDeadLetter(deadLetter: DeadLetterRecord): Promise<void>;
  /**
   * Records a replay: when and how it ended. A replay refused again also
   * replaces the dead letter's reason (code, message, field) with the new
   * one. `not_found` when there is no such dead letter.
   */
  markDeadLetterReplayed(id: string, at: string, result: DeadLetterReplayResult): Promise<void>;
  /** Stored once and never changed: the backend refuses updates and deletes. */
  insertEvidence(item: StoredEvidence): Promise<void>;
  appendCustody(event: CustodyEvent): Promise<void>;
}

/**
 * An alert the ingest API refused (no format recognised it, or its format
 * refused it), kept when `ingest.dead_letter` is on so an operator can see
 * what arrived and replay it. It is not an alert: nothing else refers to it.
 */
export interface DeadLetterRecord {
  id: string;
  receivedAt: string;
  /** The format the sender asked for with `?source=`; null when it was to be detected. */
  source: string | null;
  /** The error code of the refusal, e.g. `undetected_source_format`, `missing_field`. */
  reasonCode: string;
  reason: string;
  field: string | null;
  /** The payload's JSON text as received (an NDJSON line, or the element of a JSON body). */
  body: string;
  replayedAt: string | null;
  /** How the last replay ended; null until one was tried. */
  replayResult: DeadLetterReplayResult | null;
}

export type DeadLetterReplayResult =
  | { status: 'new' | 'duplicate'; alertId: string; caseId: string | null }
  | { status: 'rejected'; code: string; message: string; field: string | null };

export type RunRecordStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed';

/**
 * A playbook run as stored. The run machine's state and its pending command
 * are opaque JSON to the store: it only needs the columns it selects on.
 */
export interface PlaybookRunRecord {
  id: string;
  playbookId: string;
  playbookVersion: number;
  caseId: string;
  alertId: string;
  /** The case's unit when the run started, for business-unit scoping. */
  businessUnit: string | null;
  parentRunId: string | null;
  parentStepId: string | null;
  status: RunRecordStatus;
  /** When a waiting run is due (a retry's backoff, an approval's deadline). */
  wakeAt: string | null;
  state: unknown;
  /** The command the executor was given and has not reported on; null when none. */
  command: unknown;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface RunEventDraft {
  at: string;
  kind: string;
  stepId: string | null;
  data: Record<string, unknown>;
}

export interface RunEventRecord extends RunEventDraft {
  runId: string;
  /** 1, 2, … within the run. */
  seq: number;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'timed_out';

export interface ApprovalRecord {
  id: string;
  runId: string;
  stepId: string;
  caseId: string;
  businessUnit: string | null;
  status: ApprovalStatus;
  /** Any one of these roles may answer. */
  approvers: Role[];
  message: string;
  requestedAt: string;
  deadline: string;
  answeredBy: string | null;
  answeredRole: Role | null;
  answeredAt: string | null;
  comment: string | null;
}

export interface ApprovalFilter {
  status?: ApprovalStatus[];
  /** Visibility scope of the caller; undefined = all units. */
  scopeUnits?: string[];
}

export type EffectStatus = 'sent' | 'succeeded' | 'failed';

/**
 * One connector call with an effect, recorded before it is sent and again
 * when its result is known: after a crash in between, the executor finds it
 * `sent` and reconciles instead of repeating it.
 */
export interface EffectRecord {
  idempotencyKey: string;
  runId: string;
  stepId: string;
  /** Index in a for_each list; null for a single call. */
  item: number | null;
  connector: string;
  action: string;
  input: unknown;
  status: EffectStatus;
  output: unknown;
  error: unknown;
  /** What went over the wire (secrets redacted), when the connector reports it. */
  exchange: unknown;
  sentAt: string;
  finishedAt: string | null;
}

export interface TimelinePage {
  limit: number;
  /** An entry id: only entries written before it. */
  before?: string;
}

export interface DedupCandidate {
  id: string;
  caseId: string | null;
  lastSeen: string;
  count: number;
}

export interface CaseFilter {
  status?: CaseStatus[];
  severityId?: SeverityId[];
  tier?: ModelTier[];
  businessUnit?: string[];
  model?: string;
  /** Visibility scope of the caller; undefined = all units. */
  scopeUnits?: string[];
}

export interface PageRequest {
  /** @default 50 */
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ApiToken {
  id: string;
  name: string;
  /** SHA-256 hex of the secret; the secret itself is never stored. */
  tokenHash: string;
  role: Role;
  /** null = all business units. */
  units: string[] | null;
  createdAt: string;
  createdBy: string;
}

export interface StoreCounts {
  alerts: number;
  /** Occurrences including folded repeats. */
  events: number;
  cases: number;
  openCases: number;
}
