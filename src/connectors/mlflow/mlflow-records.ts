import type { JsonValue } from '../connector.js';
import type { MlflowModelVersion } from './mlflow-api.js';

/**
 * What Warden writes on the registry, as model-version tags (MLflow keeps
 * no alias history and has no checksum field, so tags are the only place),
 * and how it reads them back: the known-good rule, quarantine, and the
 * rollback records that make `rollback` idempotent and reconcilable.
 */

/** `true` on a version Warden (or a person) has taken out of rotation. */
export const QUARANTINE_TAG = 'warden.quarantined';
/** JSON `{ case, reason, at, key }` written by `quarantine_version`. */
export const QUARANTINE_RECORD_TAG = 'warden.quarantine_record';
/** On the version an alias was moved away from: the rollback as started. */
export const ROLLBACK_INTENT_PREFIX = 'warden.rollback.';
/** On the version an alias was moved to: the rollback as finished. */
export const ROLLBACK_DONE_PREFIX = 'warden.rolled_back_from.';

export interface MlflowTagSettings {
  /** The tag holding the known-good artifact SHA-256. */
  readonly hashTag: string;
  /** `true` / `false` here overrides the hash rule (never quarantine). */
  readonly knownGoodTag: string;
}

const SHA256 = /^(?:sha256:)?([0-9a-f]{64})$/i;

/** Lower-case hex without a `sha256:` prefix, or undefined when not a SHA-256. */
export function normalizeSha256(value: string | undefined): string | undefined {
  const match = SHA256.exec((value ?? '').trim());
  return match?.[1]?.toLowerCase();
}

function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}

export function isQuarantined(tags: Readonly<Record<string, string>>): boolean {
  return isTrue(tags[QUARANTINE_TAG]);
}

/**
 * The known-good rule: a quarantined version (`warden.quarantined=true`)
 * never is; otherwise `<known_good_tag>=true` makes a version known-good and
 * `<known_good_tag>=false` rules it out; without that tag, a version is
 * known-good when its `<hash_tag>` holds a SHA-256.
 */
export function isKnownGood(
  tags: Readonly<Record<string, string>>,
  settings: MlflowTagSettings,
): boolean {
  if (isQuarantined(tags)) return false;
  const explicit = tags[settings.knownGoodTag]?.trim().toLowerCase();
  if (explicit === 'true') return true;
  if (explicit === 'false') return false;
  return normalizeSha256(tags[settings.hashTag]) !== undefined;
}

/** One rollback, as written in both of its tags. */
export interface RollbackRecord {
  /** The call's idempotency key. */
  readonly key: string;
  readonly alias: string;
  readonly from: string;
  readonly to: string;
  readonly case?: string | number;
  readonly reason?: string;
  /** ISO time the rollback started. */
  readonly at: string;
}

/** Tag values are limited (5000 characters on some servers): long reasons are cut. */
const REASON_LIMIT = 500;

export function rollbackRecordValue(record: RollbackRecord): string {
  const value: Record<string, JsonValue> = {
    key: record.key,
    alias: record.alias,
    from: record.from,
    to: record.to,
    at: record.at,
  };
  if (record.case !== undefined) value.case = record.case;
  if (record.reason !== undefined) value.reason = record.reason.slice(0, REASON_LIMIT);
  return JSON.stringify(value);
}

/** The record in a tag value, or undefined when the value is not one of ours. */
export function parseRollbackRecord(value: string | undefined): RollbackRecord | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { key, alias, from, to, at, reason } = parsed as Record<string, unknown>;
  const caseValue = (parsed as Record<string, unknown>).case;
  if (
    typeof key !== 'string' ||
    typeof alias !== 'string' ||
    typeof from !== 'string' ||
    typeof to !== 'string' ||
    typeof at !== 'string'
  ) {
    return undefined;
  }
  return {
    key,
    alias,
    from,
    to,
    at,
    ...(typeof caseValue === 'string' || typeof caseValue === 'number' ? { case: caseValue } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}

/** Where the records of one rollback key were found among a model's versions. */
export interface RollbackTrace {
  /** The intent, on the version the alias was moved away from. */
  readonly intent?: RollbackRecord;
  /** The completion, on the version the alias was moved to. */
  readonly done?: RollbackRecord;
}

export function findRollback(
  versions: readonly MlflowModelVersion[],
  alias: string,
  key: string,
): RollbackTrace {
  let intent: RollbackRecord | undefined;
  let done: RollbackRecord | undefined;
  for (const version of versions) {
    const started = parseRollbackRecord(version.tags[ROLLBACK_INTENT_PREFIX + alias]);
    if (started?.key === key && started.from === version.version) intent ??= started;
    const finished = parseRollbackRecord(version.tags[ROLLBACK_DONE_PREFIX + alias]);
    if (finished?.key === key && finished.to === version.version) done ??= finished;
  }
  return { ...(intent ? { intent } : {}), ...(done ? { done } : {}) };
}

/** Every rollback recorded on these versions (any alias), one per key, newest first. */
export function rollbackHistory(
  versions: readonly MlflowModelVersion[],
): { record: RollbackRecord; completed: boolean }[] {
  const byKey = new Map<string, { record: RollbackRecord; completed: boolean }>();
  for (const version of versions) {
    for (const [tag, value] of Object.entries(version.tags)) {
      const completed = tag.startsWith(ROLLBACK_DONE_PREFIX);
      if (!completed && !tag.startsWith(ROLLBACK_INTENT_PREFIX)) continue;
      const record = parseRollbackRecord(value);
      if (record === undefined) continue;
      const known = byKey.get(record.key);
      byKey.set(record.key, { record, completed: completed || (known?.completed ?? false) });
    }
  }
  return [...byKey.values()].sort((a, b) =>
    a.record.at < b.record.at ? 1 : a.record.at > b.record.at ? -1 : 0,
  );
}

/** The `warden.*` tags of a version. */
export function wardenTags(tags: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([key]) => key.startsWith('warden.')));
}
