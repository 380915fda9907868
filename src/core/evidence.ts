import { WardenError } from './errors.js';
import { sha256Hex } from './sha256.js';

/**
 * Forensic evidence on a case: an artifact (a connector's request and
 * response, a transcript, a dataset reference, a model hash, a file an
 * analyst uploads) kept byte for byte with its SHA-256, size, source and
 * time, and never altered afterwards. Every time it is added or read, a
 * custody event names who or what did it, so the case carries a chain of
 * custody. See docs/evidence.md.
 */

export const EVIDENCE_KINDS = [
  /** A connector call an act step made: request, response, OpenC2 form. */
  'action_record',
  /** A connector response an enrich step kept (`evidence: true`). */
  'connector_response',
  /** A value a playbook's handoff attached. */
  'handoff_value',
  'transcript',
  'dataset_reference',
  'model_hash',
  'file',
  'note',
] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

export function isEvidenceKind(value: string): value is EvidenceKind {
  return (EVIDENCE_KINDS as readonly string[]).includes(value);
}

/** Where an item came from: a playbook step's call, or a person. */
export interface EvidenceSource {
  /** `playbook:<id>` or the token's principal name. */
  readonly actor: string;
  readonly runId?: string;
  readonly stepId?: string;
  readonly connector?: string;
  readonly action?: string;
  readonly idempotencyKey?: string;
  /** Why it was collected, in the collector's words. */
  readonly note?: string;
}

export interface EvidenceItem {
  readonly id: string;
  readonly caseId: string;
  readonly name: string;
  readonly kind: EvidenceKind;
  readonly mediaType: string;
  /** Lower-case hex SHA-256 of `content`. */
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly source: EvidenceSource;
  readonly collectedAt: string;
}

export interface StoredEvidence extends EvidenceItem {
  readonly content: Uint8Array;
}

export const CUSTODY_ACTIONS = ['collected', 'read', 'verified'] as const;
export type CustodyAction = (typeof CUSTODY_ACTIONS)[number];

export interface CustodyEvent {
  readonly evidenceId: string;
  readonly at: string;
  readonly actor: string;
  readonly action: CustodyAction;
  /** E.g. the token id that read it, or the hash a verification found. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Largest artifact kept, in bytes; bigger ones belong in an object store, referenced. */
export const EVIDENCE_MAX_BYTES = 8 * 1024 * 1024;

export interface EvidenceDraft {
  readonly id: string;
  readonly caseId: string;
  readonly name: string;
  readonly kind: EvidenceKind;
  readonly source: EvidenceSource;
  readonly collectedAt: string;
  /** Bytes as given, a string as UTF-8, anything else as JSON. */
  readonly content: unknown;
  /** @default application/json for values, text/plain for strings, application/octet-stream for bytes */
  readonly mediaType?: string;
}

/**
 * The stored form of a draft: content fixed as bytes and hashed. Values are
 * written as JSON text; the hash is of those bytes, which are kept as they are.
 */
export function sealEvidence(draft: EvidenceDraft): StoredEvidence {
  let content: Uint8Array;
  let mediaType: string;
  if (draft.content instanceof Uint8Array) {
    content = draft.content;
    mediaType = draft.mediaType ?? 'application/octet-stream';
  } else if (typeof draft.content === 'string') {
    content = Buffer.from(draft.content, 'utf8');
    mediaType = draft.mediaType ?? 'text/plain; charset=utf-8';
  } else {
    content = Buffer.from(JSON.stringify(draft.content) ?? 'null', 'utf8');
    mediaType = draft.mediaType ?? 'application/json';
  }
  if (content.byteLength > EVIDENCE_MAX_BYTES) {
    throw new WardenError(
      'body_too_large',
      `evidence "${draft.name}" is ${content.byteLength} bytes; the limit is ${EVIDENCE_MAX_BYTES} (keep a reference to an object store instead)`,
      { field: 'content' },
    );
  }
  const name = draft.name.trim();
  if (name === '' || name.length > 200) {
    throw new WardenError('invalid_field', 'evidence name must be 1–200 characters', {
      field: 'name',
    });
  }
  return {
    id: draft.id,
    caseId: draft.caseId,
    name,
    kind: draft.kind,
    mediaType,
    sha256: sha256Hex(content),
    sizeBytes: content.byteLength,
    source: draft.source,
    collectedAt: draft.collectedAt,
    content,
  };
}

/** The item without its bytes, as lists and the audit log show it. */
export function evidenceSummary(item: StoredEvidence | EvidenceItem): EvidenceItem {
  const { id, caseId, name, kind, mediaType, sha256, sizeBytes, source, collectedAt } = item;
  return { id, caseId, name, kind, mediaType, sha256, sizeBytes, source, collectedAt };
}

/** What a verification of one stored item found. */
export type EvidenceCheck =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly id: string; readonly problem: string };

/**
 * Checks the bytes against the hash stored with them and the hash the audit
 * log recorded when they were collected (absent: the audit entry is missing).
 */
export function checkEvidence(
  item: StoredEvidence,
  auditedSha256: string | undefined,
): EvidenceCheck {
  const actual = sha256Hex(item.content);
  if (actual !== item.sha256) {
    return {
      ok: false,
      id: item.id,
      problem: `content hashes to ${actual}, stored hash is ${item.sha256}`,
    };
  }
  if (item.content.byteLength !== item.sizeBytes) {
    return {
      ok: false,
      id: item.id,
      problem: `content is ${item.content.byteLength} bytes, stored size is ${item.sizeBytes}`,
    };
  }
  if (auditedSha256 === undefined) {
    return { ok: false, id: item.id, problem: 'no evidence.collected entry in the audit log' };
  }
  if (auditedSha256 !== item.sha256) {
    return {
      ok: false,
      id: item.id,
      problem: `audit log recorded ${auditedSha256}, stored hash is ${item.sha256}`,
    };
  }
  return { ok: true, id: item.id };
}
