import {
  ConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonValue,
  type RateLimit,
  type Reconciliation,
} from '../connector.js';
import type { SecretString } from '../connector-config-reader.js';
import { basicAuthorization, bearerAuthorization } from '../http/http-credentials.js';
import { SecretRedactor } from '../secrets.js';
import { MLFLOW_ACTIONS, type MlflowActionName } from './mlflow-actions.js';
import {
  MlflowApi,
  type MlflowCallContext,
  type MlflowModelVersion,
  type MlflowRegisteredModel,
} from './mlflow-api.js';
import {
  QUARANTINE_RECORD_TAG,
  QUARANTINE_TAG,
  isKnownGood,
  isQuarantined,
  normalizeSha256,
  rollbackHistory,
  wardenTags,
  type MlflowTagSettings,
} from './mlflow-records.js';
import { reconcileRollback, runRollback } from './mlflow-rollback.js';

/**
 * The `mlflow` connector: reads the MLflow Model Registry (models,
 * versions, aliases, known-good artifact hashes) and rolls a model back by
 * moving an alias, recording what it did as version tags. See
 * docs/connectors/mlflow.md.
 */

export type MlflowAuth =
  | { readonly type: 'bearer'; readonly token: SecretString }
  | { readonly type: 'basic'; readonly username: SecretString; readonly password: SecretString };

export interface MlflowConnectorConfig {
  readonly name: string;
  /** The tracking server (may include a path prefix); `/api/2.0/mlflow/…` is appended. */
  readonly baseUrl: string;
  /** Absent: no credentials are sent (a server without authentication). */
  readonly auth?: MlflowAuth;
  /** Per request. @default 10000 */
  readonly timeoutMs?: number;
  /** @default 4 */
  readonly concurrency?: number;
  readonly rateLimit?: RateLimit;
  /** @default artifact_sha256 */
  readonly hashTag?: string;
  /** @default warden.known_good */
  readonly knownGoodTag?: string;
  /** @default champion */
  readonly defaultAlias?: string;
  /** Other secret values to redact (the config reader's); the credentials are added. */
  readonly secretValues?: readonly string[];
}

export const MLFLOW_DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  concurrency: 4,
  hashTag: 'artifact_sha256',
  knownGoodTag: 'warden.known_good',
  defaultAlias: 'champion',
});

export function createMlflowConnector(config: MlflowConnectorConfig): Connector {
  return new MlflowConnector(config);
}

type JsonObject = { [key: string]: JsonValue };

class MlflowConnector implements Connector {
  readonly type = 'mlflow';
  readonly name: string;
  readonly actions: Readonly<Record<string, ConnectorActionSpec>> = MLFLOW_ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly api: MlflowApi;
  private readonly settings: MlflowTagSettings;
  private readonly defaultAlias: string;

  constructor(config: MlflowConnectorConfig) {
    this.name = config.name;
    this.concurrency = config.concurrency ?? MLFLOW_DEFAULTS.concurrency;
    if (config.rateLimit) this.rateLimit = config.rateLimit;
    this.settings = {
      hashTag: config.hashTag ?? MLFLOW_DEFAULTS.hashTag,
      knownGoodTag: config.knownGoodTag ?? MLFLOW_DEFAULTS.knownGoodTag,
    };
    this.defaultAlias = config.defaultAlias ?? MLFLOW_DEFAULTS.defaultAlias;
    const credentials = authHeaders(config.auth);
    this.api = new MlflowApi({
      baseUrl: config.baseUrl,
      headers: credentials.headers,
      recordedHeaders: credentials.recorded,
      timeoutMs: config.timeoutMs ?? MLFLOW_DEFAULTS.timeoutMs,
      redactor: new SecretRedactor([...(config.secretValues ?? []), ...credentials.secrets]),
    });
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const input = call.input as JsonObject;
    const context = this.context(call);
    const name = text(input.name);
    switch (call.action as MlflowActionName) {
      case 'get_registered_model':
        return this.getRegisteredModel(name, context);
      case 'get_model_version': {
        const version = text(input.version);
        const lookup = await this.api.getModelVersion(name, version, context);
        return {
          output: lookup.found
            ? { found: true, ...this.version(lookup.value) }
            : { found: false, name, version },
          exchange: lookup.exchange,
        };
      }
      case 'get_version_by_alias': {
        const alias = text(input.alias);
        const lookup = await this.api.getVersionByAlias(name, alias, context);
        return {
          output: lookup.found
            ? { found: true, alias, ...this.version(lookup.value) }
            : { found: false, name, alias },
          exchange: lookup.exchange,
        };
      }
      case 'list_versions': {
        const listing = await this.api.listVersions(name, context);
        const limit = typeof input.max_results === 'number' ? input.max_results : Infinity;
        return {
          output: {
            name,
            versions: listing.versions.slice(0, limit).map((version) => this.version(version)),
            truncated: listing.truncated || listing.versions.length > limit,
          },
          exchange: listing.exchange,
        };
      }
      case 'deployment_history':
        return this.deploymentHistory(name, context);
      case 'verify_hash':
        return this.verifyHash(input, context);
      case 'rollback':
        return runRollback(
          this.api,
          this.settings,
          {
            name,
            alias: this.alias(input),
            key: call.idempotencyKey,
            ...(input.to_version === undefined ? {} : { toVersion: text(input.to_version) }),
            ...(typeof input.case === 'string' || typeof input.case === 'number'
              ? { case: input.case }
              : {}),
            ...(typeof input.reason === 'string' ? { reason: input.reason } : {}),
          },
          context,
        );
      case 'set_alias':
        return this.setAlias(name, text(input.alias), text(input.version), context);
      case 'tag_version': {
        const version = text(input.version);
        const key = text(input.key);
        const value = text(input.value);
        const exchange = await this.api.setVersionTag(name, version, key, value, context);
        return { output: { name, version, key, value, tagged: true }, exchange };
      }
      case 'quarantine_version': {
        const version = text(input.version);
        const record: JsonObject = { at: new Date().toISOString(), key: call.idempotencyKey };
        if (input.case !== undefined) record.case = input.case;
        if (typeof input.reason === 'string') record.reason = input.reason.slice(0, 500);
        // The record first: a crash before the flag leaves the version in rotation, not unexplained.
        await this.api.setVersionTag(
          name,
          version,
          QUARANTINE_RECORD_TAG,
          JSON.stringify(record),
          context,
        );
        const exchange = await this.api.setVersionTag(
          name,
          version,
          QUARANTINE_TAG,
          'true',
          context,
        );
        return { output: { name, version, quarantined: true }, exchange };
      }
      default:
        throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
  }

  /**
   * Writes are looked up on the registry: the tag, alias or quarantine flag
   * in place means done, absent means not_done (repeating is then safe);
   * rollback reads its own records (see mlflow-rollback.ts). A failed
   * lookup is unknown.
   */
  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    const input = call.input as JsonObject;
    const context = this.context(call);
    const name = text(input.name);
    try {
      switch (call.action as MlflowActionName) {
        case 'rollback':
          return await reconcileRollback(
            this.api,
            { name, alias: this.alias(input), key: call.idempotencyKey },
            context,
          );
        case 'tag_version': {
          const version = text(input.version);
          const key = text(input.key);
          const value = text(input.value);
          const lookup = await this.api.getModelVersion(name, version, context);
          if (!lookup.found || lookup.value.tags[key] !== value) return { state: 'not_done' };
          const output = { name, version, key, value, tagged: true };
          return { state: 'done', result: { output, exchange: lookup.exchange } };
        }
        case 'set_alias': {
          const alias = text(input.alias);
          const version = text(input.version);
          const lookup = await this.api.getVersionByAlias(name, alias, context);
          if (!lookup.found || lookup.value.version !== version) return { state: 'not_done' };
          // What the alias pointed at before is not recorded anywhere.
          const output = { name, alias, version, previous_version: null };
          return { state: 'done', result: { output, exchange: lookup.exchange } };
        }
        case 'quarantine_version': {
          const version = text(input.version);
          const lookup = await this.api.getModelVersion(name, version, context);
          if (!lookup.found || !isQuarantined(lookup.value.tags)) return { state: 'not_done' };
          const output = { name, version, quarantined: true };
          return { state: 'done', result: { output, exchange: lookup.exchange } };
        }
        default:
          return { state: 'not_done' };
      }
    } catch (error) {
      if (error instanceof ConnectorError) return { state: 'unknown', error };
      throw error;
    }
  }

  private context(call: ConnectorCall): MlflowCallContext {
    return { where: `${this.name}.${call.action}`, signal: call.signal };
  }

  private alias(input: JsonObject): string {
    return typeof input.alias === 'string' ? input.alias : this.defaultAlias;
  }

  private version(version: MlflowModelVersion): JsonObject {
    return {
      name: version.name,
      version: version.version,
      status: version.status ?? null,
      status_message: version.statusMessage ?? null,
      current_stage: version.currentStage ?? null,
      description: version.description ?? null,
      source: version.source ?? null,
      run_id: version.runId ?? null,
      user_id: version.userId ?? null,
      aliases: [...version.aliases],
      tags: { ...version.tags },
      created_at: isoTime(version.creationTimestamp),
      updated_at: isoTime(version.lastUpdatedTimestamp),
      artifact_sha256: normalizeSha256(version.tags[this.settings.hashTag]) ?? null,
      known_good: isKnownGood(version.tags, this.settings),
      quarantined: isQuarantined(version.tags),
    };
  }

  private async getRegisteredModel(
    name: string,
    context: MlflowCallContext,
  ): Promise<ConnectorResult> {
    const lookup = await this.api.getRegisteredModel(name, context);
    if (!lookup.found) return { output: { found: false, name }, exchange: lookup.exchange };
    const model: MlflowRegisteredModel = lookup.value;
    return {
      output: {
        found: true,
        name: model.name,
        description: model.description ?? null,
        aliases: { ...model.aliases },
        latest_versions: model.latestVersions.map((version) => this.version(version)),
        tags: { ...model.tags },
        created_at: isoTime(model.creationTimestamp),
        updated_at: isoTime(model.lastUpdatedTimestamp),
      },
      exchange: lookup.exchange,
    };
  }

  /**
   * MLflow keeps no alias history: this is the versions as they are now
   * plus the rollbacks Warden recorded in its own tags.
   */
  private async deploymentHistory(
    name: string,
    context: MlflowCallContext,
  ): Promise<ConnectorResult> {
    const model = await this.api.getRegisteredModel(name, context);
    if (!model.found) {
      return {
        output: { name, found: false, aliases: {}, versions: [], rollbacks: [], truncated: false },
        exchange: model.exchange,
      };
    }
    const listing = await this.api.listVersions(name, context);
    const aliasesOf = (version: MlflowModelVersion): string[] => {
      // Some servers leave aliases out of search results; the model's map has them all.
      const fromModel = Object.entries(model.value.aliases)
        .filter(([, target]) => target === version.version)
        .map(([alias]) => alias);
      return [...new Set([...version.aliases, ...fromModel])].sort();
    };
    return {
      output: {
        name,
        found: true,
        aliases: { ...model.value.aliases },
        versions: listing.versions.map((version) => ({
          version: version.version,
          aliases: aliasesOf(version),
          current_stage: version.currentStage ?? null,
          status: version.status ?? null,
          created_at: isoTime(version.creationTimestamp),
          updated_at: isoTime(version.lastUpdatedTimestamp),
          artifact_sha256: normalizeSha256(version.tags[this.settings.hashTag]) ?? null,
          known_good: isKnownGood(version.tags, this.settings),
          quarantined: isQuarantined(version.tags),
          warden_tags: wardenTags(version.tags),
        })),
        rollbacks: rollbackHistory(listing.versions).map(({ record, completed }) => ({
          at: record.at,
          alias: record.alias,
          from_version: record.from,
          to_version: record.to,
          case: record.case ?? null,
          reason: record.reason ?? null,
          completed,
          idempotency_key: record.key,
        })),
        truncated: listing.truncated,
      },
      exchange: listing.exchange,
    };
  }

  private async verifyHash(
    input: JsonObject,
    context: MlflowCallContext,
  ): Promise<ConnectorResult> {
    const name = text(input.name);
    const actual = normalizeSha256(text(input.sha256)) ?? '';
    const version = input.version === undefined ? null : text(input.version);
    const alias = version === null ? this.alias(input) : null;
    const lookup =
      version === null
        ? await this.api.getVersionByAlias(name, alias ?? this.defaultAlias, context)
        : await this.api.getModelVersion(name, version, context);
    if (!lookup.found) {
      return {
        output: {
          verdict: 'no_known_hash',
          expected: null,
          actual,
          name,
          version,
          alias,
          found: false,
        },
        exchange: lookup.exchange,
      };
    }
    const expected = normalizeSha256(lookup.value.tags[this.settings.hashTag]) ?? null;
    const verdict =
      expected === null ? 'no_known_hash' : expected === actual ? 'match' : 'mismatch';
    return {
      output: {
        verdict,
        expected,
        actual,
        name,
        version: lookup.value.version,
        alias,
        found: true,
      },
      exchange: lookup.exchange,
    };
  }

  private async setAlias(
    name: string,
    alias: string,
    version: string,
    context: MlflowCallContext,
  ): Promise<ConnectorResult> {
    const current = await this.api.getVersionByAlias(name, alias, context);
    const previous = current.found ? current.value.version : null;
    if (previous === version) {
      return {
        output: { name, alias, version, previous_version: previous, changed: false },
        exchange: current.exchange,
      };
    }
    const exchange = await this.api.setAlias(name, alias, version, context);
    return {
      output: { name, alias, version, previous_version: previous, changed: true },
      exchange,
    };
  }
}

/** Inputs are schema-checked before invoke: strings and integers only reach here. */
function text(value: JsonValue | undefined): string {
  return typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
}

function isoTime(milliseconds: number | undefined): string | null {
  if (milliseconds === undefined) return null;
  const date = new Date(milliseconds);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The credential headers as sent and as recorded, and every value to redact. */
function authHeaders(auth: MlflowAuth | undefined): {
  headers: Record<string, string>;
  recorded: Record<string, string>;
  secrets: readonly string[];
} {
  if (auth === undefined) return { headers: {}, recorded: {}, secrets: [] };
  const authorization =
    auth.type === 'bearer'
      ? bearerAuthorization(auth.token)
      : basicAuthorization(auth.username, auth.password);
  return {
    headers: { authorization: authorization.value },
    recorded: { authorization: authorization.recorded },
    secrets: authorization.secrets,
  };
}
