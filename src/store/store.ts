import type { EncodedAlert, NormalizedAlert, SeverityId } from '../core/alert.js';
import type { AuditDraft, AuditEntry } from '../core/audit-chain.js';
import type { Case, CaseStatus, TimelineEntry } from '../core/case.js';
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
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;

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
  findTokenByHash(tokenHash: string): Promise<ApiToken | undefined>;
  getToken(id: string): Promise<ApiToken | undefined>;
  /** Audit entries with seq > afterSeq, in order. */
  readAudit(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  /** How many audit entries were appended, as recorded apart from the log itself. */
  recordedAuditCount(): Promise<number>;
  counts(): Promise<StoreCounts>;
  close(): Promise<void>;
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
  updateCase(c: Case): Promise<void>;
  addCorrelationKeys(caseId: string, keys: readonly string[]): Promise<void>;
  /** A closed case stops absorbing alerts. */
  removeCorrelationKeys(caseId: string): Promise<void>;
  appendTimeline(entry: TimelineEntry): Promise<void>;
  appendAudit(draft: AuditDraft): Promise<AuditEntry>;
  insertToken(token: ApiToken): Promise<void>;
  /** Replace the token hash of an existing token id (the env-provided admin token). */
  upsertToken(token: ApiToken): Promise<void>;
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
