import { sha256Hex } from './sha256.js';

/**
 * The audit log is a hash chain: each entry carries the hash of the one
 * before it, and its own hash covers its content and that link. Editing an
 * entry breaks its hash; deleting one breaks the next entry's link.
 */
export interface AuditDraft {
  at: string;
  actor: string;
  action: string;
  subject: string;
  data: Record<string, unknown>;
}

export interface AuditEntry extends AuditDraft {
  seq: number;
  prevHash: string;
  hash: string;
}

export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** Keys as JSON strings: the same few field names are quoted for every entry. */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_KEPT = 4096;

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < QUOTED_KEYS_KEPT) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/** JSON with object keys sorted, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // Hash what will be stored: a Date (or anything with toJSON) as its JSON form.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return canonicalJson((toJSON as () => unknown).call(value));
  // Built by concatenation: every audit entry is hashed on the writer's hot path.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) out += (i > 0 ? ',' : '') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  // Sorting allocates; many objects are built with their keys in order already.
  for (let i = 1; i < keys.length; i += 1) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  let first = true;
  for (const key of keys) {
    const field = object[key];
    if (field === undefined) continue;
    out += `${first ? '' : ','}${quotedKey(key)}:${canonicalJson(field)}`;
    first = false;
  }
  return `${out}}`;
}

export function auditHash(seq: number, prevHash: string, draft: AuditDraft): string {
  const { at, actor, action, subject, data } = draft;
  // Built with its keys in order: canonicalJson then has nothing to sort at the top.
  const body = canonicalJson({ action, actor, at, data, prevHash, seq, subject });
  return sha256Hex(body);
}

export function chainAuditEntry(seq: number, prevHash: string, draft: AuditDraft): AuditEntry {
  return { ...draft, seq, prevHash, hash: auditHash(seq, prevHash, draft) };
}

export type AuditProblem =
  | { kind: 'edited'; seq: number }
  | { kind: 'missing'; afterSeq: number; expectedSeq: number }
  | { kind: 'relinked'; seq: number }
  | { kind: 'truncated'; expectedCount: number; actualCount: number };

export interface AuditVerification {
  ok: boolean;
  entries: number;
  problems: AuditProblem[];
}

/** Incremental verifier, so a long log can be checked while it streams. */
export class AuditChainVerifier {
  private expectedSeq = 1;
  private prevHash = AUDIT_GENESIS_HASH;
  private count = 0;
  readonly problems: AuditProblem[] = [];

  push(entry: AuditEntry): void {
    this.count += 1;
    if (entry.seq !== this.expectedSeq) {
      this.problems.push({
        kind: 'missing',
        afterSeq: this.expectedSeq - 1,
        expectedSeq: this.expectedSeq,
      });
    } else if (entry.prevHash !== this.prevHash) {
      this.problems.push({ kind: 'relinked', seq: entry.seq });
    }
    const { seq, prevHash, hash, ...draft } = entry;
    if (auditHash(seq, prevHash, draft) !== hash) this.problems.push({ kind: 'edited', seq });
    this.expectedSeq = entry.seq + 1;
    this.prevHash = entry.hash;
  }

  /** `recordedCount` is the count the store keeps apart from the log, to catch a cut tail. */
  finish(recordedCount?: number): AuditVerification {
    if (recordedCount !== undefined && recordedCount !== this.count) {
      this.problems.push({
        kind: 'truncated',
        expectedCount: recordedCount,
        actualCount: this.count,
      });
    }
    return { ok: this.problems.length === 0, entries: this.count, problems: this.problems };
  }
}

export function describeAuditProblem(problem: AuditProblem): string {
  switch (problem.kind) {
    case 'edited':
      return `entry ${problem.seq} was edited (its hash does not match its content)`;
    case 'missing':
      return `entry ${problem.expectedSeq} is missing (after entry ${problem.afterSeq})`;
    case 'relinked':
      return `entry ${problem.seq} does not link to the entry before it`;
    case 'truncated':
      return `the log ends early: ${problem.actualCount} entries, ${problem.expectedCount} recorded`;
  }
}
