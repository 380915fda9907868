import { WardenError } from './errors.js';
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

/** JSON with object keys sorted, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  // Most values are built with their keys in order already: then the native serialiser gives
  // the same text, several times faster and without a string per field.
  return inCanonicalOrder(value, 0) ? (JSON.stringify(value) ?? 'null') : sortedJson(value);
}

/** Deeper than this is left to `sortedJson` (which the native serialiser's checks then cover). */
const ORDER_CHECK_DEPTH = 64;

/**
 * Whether `JSON.stringify(value)` is already canonical: every object's keys
 * in sorted order, and nothing it would treat unlike `sortedJson` (a
 * `toJSON` method, which may return keys in any order; a function or symbol
 * field, which it drops and `sortedJson` writes as null).
 */
function inCanonicalOrder(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (depth > ORDER_CHECK_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      if (!inCanonicalOrder(value[i], depth + 1)) return false;
    }
    return true;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  const object = value as Record<string, unknown>;
  let previous: string | undefined;
  // for…in walks the own keys in Object.keys order, then any inherited enumerable ones (which
  // JSON.stringify leaves out: at worst they send the value the slow way), allocating nothing.
  for (const key in object) {
    if (previous !== undefined && previous > key) return false;
    previous = key;
    const field = object[key];
    const kind = typeof field;
    if (kind === 'function' || kind === 'symbol') return false;
    if (kind === 'object' && !inCanonicalOrder(field, depth + 1)) return false;
  }
  return true;
}

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

function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // Hash what will be stored: a Date (or anything with toJSON) as its JSON form.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return sortedJson((toJSON as () => unknown).call(value));
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) out += (i > 0 ? ',' : '') + sortedJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const field = object[key];
    if (field === undefined) continue;
    out += `${first ? '' : ','}${quotedKey(key)}:${sortedJson(field)}`;
    first = false;
  }
  return `${out}}`;
}

/** The text an entry's hash covers, given its data already as canonical JSON. */
function hashedText(seq: number, prevHash: string, draft: AuditDraft, dataJson: string): string {
  const { at, actor, action, subject } = draft;
  // A row read back with a field missing is hashed as it always was (the field left out).
  const typed =
    typeof at === 'string' &&
    typeof actor === 'string' &&
    typeof action === 'string' &&
    typeof subject === 'string' &&
    typeof prevHash === 'string' &&
    typeof seq === 'number' &&
    draft.data !== undefined;
  if (!typed) return sortedJson({ action, actor, at, data: draft.data, prevHash, seq, subject });
  // canonicalJson({ action, actor, at, data, prevHash, seq, subject }), without serialising data again.
  return (
    `{"action":${JSON.stringify(action)},"actor":${JSON.stringify(actor)},` +
    `"at":${JSON.stringify(at)},"data":${dataJson},"prevHash":${JSON.stringify(prevHash)},` +
    `"seq":${JSON.stringify(seq)},"subject":${JSON.stringify(subject)}}`
  );
}

export function auditHash(seq: number, prevHash: string, draft: AuditDraft): string {
  return sha256Hex(hashedText(seq, prevHash, draft, canonicalJson(draft.data)));
}

export function chainAuditEntry(seq: number, prevHash: string, draft: AuditDraft): AuditEntry {
  return sealAuditEntry(seq, prevHash, draft).entry;
}

/**
 * The entry, and its data as canonical JSON: what a store keeps, so the
 * data is serialised once for both the hash and the row, and the stored
 * text is the very text the hash covers.
 */
export function sealAuditEntry(
  seq: number,
  prevHash: string,
  draft: AuditDraft,
): { entry: AuditEntry; dataJson: string } {
  const dataJson = canonicalJson(draft.data);
  const hash = sha256Hex(hashedText(seq, prevHash, draft, dataJson));
  return { entry: { ...draft, seq, prevHash, hash }, dataJson };
}

export type AuditProblem =
  | { kind: 'edited'; seq: number }
  | { kind: 'missing'; afterSeq: number; expectedSeq: number }
  | { kind: 'relinked'; seq: number }
  | { kind: 'truncated'; expectedCount: number; actualCount: number }
  | { kind: 'anchor_mismatch'; seq: number }
  | { kind: 'anchor_missing'; seq: number };

/**
 * An entry's seq and hash as recorded outside Warden (`warden audit head`).
 * The chain alone shows an edit only to someone who cannot rewrite every
 * later entry too; an anchor kept elsewhere fixes the log up to its entry,
 * since each hash covers all before it.
 */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

/** `SEQ:HASH`, as `warden audit head` prints it. */
export function formatAuditAnchor(anchor: AuditAnchor): string {
  return `${anchor.seq}:${anchor.hash}`;
}

/** Reads `SEQ:HASH` (a positive seq, a 64-digit hex SHA-256); `invalid_field` names `field`. */
export function parseAuditAnchor(text: string, field = 'anchor'): AuditAnchor {
  const match = /^\s*(\d+):([0-9a-fA-F]{64})\s*$/.exec(text);
  const seq = Number(match?.[1]);
  if (!match?.[2] || !Number.isSafeInteger(seq) || seq < 1) {
    throw new WardenError(
      'invalid_field',
      `${field} must be SEQ:HASH as warden audit head prints it, e.g. 42:${'ab'.repeat(32)} (got "${text}")`,
      { field, status: 400 },
    );
  }
  return { seq, hash: match[2].toLowerCase() };
}

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
  /** Anchors by seq, removed once their entry is seen: those left at the end are missing. */
  private readonly anchors: Map<number, string>;

  constructor(anchors: readonly AuditAnchor[] = []) {
    this.anchors = new Map(anchors.map((a) => [a.seq, a.hash.toLowerCase()]));
  }

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
    const anchored = this.anchors.get(seq);
    if (anchored !== undefined) {
      this.anchors.delete(seq);
      if (anchored !== hash) this.problems.push({ kind: 'anchor_mismatch', seq });
    }
    this.expectedSeq = entry.seq + 1;
    this.prevHash = entry.hash;
  }

  /** `recordedCount` is the count the store keeps apart from the log, to catch a cut tail. */
  finish(recordedCount?: number): AuditVerification {
    for (const seq of [...this.anchors.keys()].sort((a, b) => a - b)) {
      this.problems.push({ kind: 'anchor_missing', seq });
    }
    this.anchors.clear();
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
    case 'anchor_mismatch':
      return `entry ${problem.seq} does not have the hash recorded outside Warden: the log was rewritten at or before it`;
    case 'anchor_missing':
      return `entry ${problem.seq}, recorded outside Warden, is not in the log: it was cut back`;
  }
}
