import {
  ConnectorError,
  type JsonValue,
  type Reconciliation,
  type WireExchange,
} from '../connector.js';
import {
  compareVersions,
  type MlflowApi,
  type MlflowCallContext,
  type MlflowModelVersion,
} from './mlflow-api.js';
import {
  QUARANTINE_TAG,
  ROLLBACK_DONE_PREFIX,
  ROLLBACK_INTENT_PREFIX,
  findRollback,
  isKnownGood,
  isQuarantined,
  rollbackRecordValue,
  type MlflowTagSettings,
  type RollbackRecord,
} from './mlflow-records.js';

/**
 * `rollback`: moves an alias back to a known-good version. MLflow does not
 * deduplicate writes, so the call's idempotency key is written on the
 * registry itself, in two tags:
 *
 * 1. `warden.rollback.<alias>` on the current ("from") version — the intent
 *    `{key, from, to, case, reason, at}` — then `warden.quarantined=true`;
 * 2. the alias is moved (POST registered-models/alias);
 * 3. `warden.rolled_back_from.<alias>` on the target ("to") version — the
 *    same record, meaning "done".
 *
 * Every attempt first reads the alias and the model's versions and looks
 * for the key: a completion record answers the original result without
 * writing (an idempotent replay); an intent record resumes that same
 * rollback (same target) instead of choosing again. A crash after step 1
 * leaves the intent with the alias still on "from": reconcile answers
 * `not_done` and the repeated call resumes. A crash after step 2 leaves the
 * alias on "to" without a completion record: reconcile answers `done`, and
 * a repeat only writes the completion record.
 */

export interface RollbackRequest {
  readonly name: string;
  readonly alias: string;
  readonly toVersion?: string;
  readonly case?: string | number;
  readonly reason?: string;
  /** The call's idempotency key. */
  readonly key: string;
}

export interface RollbackResult {
  readonly output: { [key: string]: JsonValue };
  readonly exchange: WireExchange;
}

export function rollbackOutput(name: string, record: RollbackRecord): { [key: string]: JsonValue } {
  return {
    name,
    alias: record.alias,
    from_version: record.from,
    to_version: record.to,
    rolled_back: true,
  };
}

export async function runRollback(
  api: MlflowApi,
  settings: MlflowTagSettings,
  request: RollbackRequest,
  context: MlflowCallContext,
): Promise<RollbackResult> {
  const { name, alias, key } = request;
  const current = await api.getVersionByAlias(name, alias, context);
  const listing = await api.listVersions(name, context);
  const trace = findRollback(listing.versions, alias, key);
  if (trace.done) return { output: rollbackOutput(name, trace.done), exchange: listing.exchange };

  const currentVersion = current.found ? current.value.version : undefined;
  const steps = new RollbackSteps(api, name, context);
  if (trace.intent) {
    const intent = trace.intent;
    if (currentVersion === intent.to) return steps.finish(intent, current.exchange);
    if (currentVersion === intent.from) {
      const target = listing.versions.find((version) => version.version === intent.to);
      if (target !== undefined && isQuarantined(target.tags)) {
        throw rejected(
          context,
          `version ${intent.to} of ${name}, this rollback's target, was quarantined since it started: not moving ${name}@${alias}`,
        );
      }
      return steps.resume(intent);
    }
    throw rejected(
      context,
      `${name}@${alias} was moved since this rollback started (now ${currentVersion ?? 'unset'}; ` +
        `the rollback was from version ${intent.from} to ${intent.to}): not moving it again`,
      current.exchange,
    );
  }
  if (!current.found) {
    throw rejected(
      context,
      `${name}@${alias} is not set, so there is nothing to roll back (${current.message})`,
      current.exchange,
    );
  }
  const from =
    listing.versions.find((version) => version.version === current.value.version) ?? current.value;
  const target = await pickTarget(api, settings, request, from, listing.versions, context);
  const record: RollbackRecord = {
    key,
    alias,
    from: from.version,
    to: target.version,
    at: new Date().toISOString(),
    ...(request.case === undefined ? {} : { case: request.case }),
    ...(request.reason === undefined ? {} : { reason: request.reason }),
  };
  await api.setVersionTag(
    name,
    record.from,
    ROLLBACK_INTENT_PREFIX + alias,
    rollbackRecordValue(record),
    context,
  );
  return steps.resume(record);
}

/** The writes after the intent is recorded; each is safe to do again. */
class RollbackSteps {
  constructor(
    private readonly api: MlflowApi,
    private readonly name: string,
    private readonly context: MlflowCallContext,
  ) {}

  async resume(record: RollbackRecord): Promise<RollbackResult> {
    await this.api.setVersionTag(this.name, record.from, QUARANTINE_TAG, 'true', this.context);
    const moved = await this.api.setAlias(this.name, record.alias, record.to, this.context);
    return this.finish(record, moved);
  }

  /** `shown`: the exchange put on the case, the alias move when this attempt made it. */
  async finish(record: RollbackRecord, shown: WireExchange): Promise<RollbackResult> {
    await this.api.setVersionTag(
      this.name,
      record.to,
      ROLLBACK_DONE_PREFIX + record.alias,
      rollbackRecordValue(record),
      this.context,
    );
    return { output: rollbackOutput(this.name, record), exchange: shown };
  }
}

async function pickTarget(
  api: MlflowApi,
  settings: MlflowTagSettings,
  request: RollbackRequest,
  from: MlflowModelVersion,
  versions: readonly MlflowModelVersion[],
  context: MlflowCallContext,
): Promise<MlflowModelVersion> {
  const { name, alias, toVersion } = request;
  if (toVersion !== undefined) {
    let target = versions.find((version) => version.version === toVersion);
    if (target === undefined) {
      // The listing may have been cut short; ask for the version itself.
      const lookup = await api.getModelVersion(name, toVersion, context);
      if (!lookup.found) {
        throw rejected(context, `version ${toVersion} of ${name} does not exist`, lookup.exchange);
      }
      target = lookup.value;
    }
    if (target.version === from.version) {
      throw rejected(context, `${name}@${alias} already points at version ${toVersion}`);
    }
    if (isQuarantined(target.tags)) {
      throw rejected(
        context,
        `version ${toVersion} of ${name} is quarantined (warden.quarantined=true): remove the tag first to roll back to it`,
      );
    }
    if (!isReady(target)) {
      throw rejected(
        context,
        `version ${toVersion} of ${name} is ${target.status ?? ''}, not READY`,
      );
    }
    return target;
  }
  const target = versions.find(
    (version) =>
      compareVersions(version.version, from.version) < 0 &&
      isReady(version) &&
      isKnownGood(version.tags, settings),
  );
  if (target === undefined) {
    throw rejected(
      context,
      `no known-good version of ${name} older than version ${from.version} ` +
        `(known-good: tag ${settings.hashTag} holds a SHA-256 or ${settings.knownGoodTag}=true, ` +
        `and not warden.quarantined=true); pass to_version to choose one`,
    );
  }
  return target;
}

/** A version whose registration failed or is pending cannot serve. */
function isReady(version: MlflowModelVersion): boolean {
  return version.status === undefined || version.status === '' || version.status === 'READY';
}

function rejected(
  context: MlflowCallContext,
  message: string,
  exchange?: WireExchange,
): ConnectorError {
  return new ConnectorError('rejected', `${context.where}: ${message}`, {
    ...(exchange === undefined ? {} : { exchange }),
  });
}

/**
 * Did the rollback with this key take effect? A completion record, or an
 * intent with the alias already on its target: done. No record at all, or
 * an intent with the alias still on its source: not_done (repeating
 * resumes it). An intent with the alias somewhere else, or a version
 * listing cut short without a record: unknown.
 */
export async function reconcileRollback(
  api: MlflowApi,
  request: Pick<RollbackRequest, 'name' | 'alias' | 'key'>,
  context: MlflowCallContext,
): Promise<Reconciliation> {
  const { name, alias, key } = request;
  const listing = await api.listVersions(name, context);
  const trace = findRollback(listing.versions, alias, key);
  if (trace.done) {
    return {
      state: 'done',
      result: { output: rollbackOutput(name, trace.done), exchange: listing.exchange },
    };
  }
  if (trace.intent === undefined) {
    if (!listing.truncated) return { state: 'not_done' };
    return {
      state: 'unknown',
      error: rejected(context, `${name} has more versions than were read; no record found`),
    };
  }
  const intent = trace.intent;
  const current = await api.getVersionByAlias(name, alias, context);
  const now = current.found ? current.value.version : undefined;
  if (now === intent.to) {
    return {
      state: 'done',
      result: { output: rollbackOutput(name, intent), exchange: current.exchange },
    };
  }
  if (now === intent.from) return { state: 'not_done' };
  return {
    state: 'unknown',
    error: rejected(
      context,
      `${name}@${alias} is now ${now ?? 'unset'}, neither the rollback's source ${intent.from} nor its target ${intent.to}`,
      current.exchange,
    ),
  };
}
