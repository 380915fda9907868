import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WardenError } from '../core/errors.js';
import type {
  Allowlist,
  BusinessUnit,
  DatasetRecord,
  Inventory,
  ModelRecord,
  ModelTier,
} from '../core/inventory.js';
import { parseCidr } from '../core/ip-range.js';
import { DEFAULT_PIPELINE_SETTINGS, type PipelineSettings } from '../core/settings.js';
import { parseByteSize, parseDuration } from './units.js';
import { isScalar } from 'yaml';
import type { Fields } from './yaml-source.js';
import { YamlFile, deepFreeze, describeNode, optional, readIfExists } from './yaml-source.js';

export const INVENTORY_FILE = 'inventory.yaml';
export const SETTINGS_FILE = 'warden.yaml';

export interface ServerSettings {
  host: string;
  port: number;
  bodyLimitBytes: number;
}

export const DEFAULT_SERVER_SETTINGS: Readonly<ServerSettings> = Object.freeze({
  host: '0.0.0.0',
  port: 8080,
  bodyLimitBytes: 10 * 1024 * 1024,
});

/** What the ingest API does with alerts it refuses. */
export interface IngestSettings {
  /**
   * Keep each refused alert (no format recognises it, or its format refuses
   * it) as a dead letter an operator can inspect and replay; it is still not
   * an alert. `warden.yaml`: `ingest: { dead_letter: true }`.
   * @default false
   */
  deadLetter: boolean;
}

export const DEFAULT_INGEST_SETTINGS: Readonly<IngestSettings> = Object.freeze({
  deadLetter: false,
});

/** Everything read from a config directory; deeply frozen. */
export interface WardenConfig {
  /** Absolute path of the config directory. */
  readonly dir: string;
  readonly inventory: Inventory;
  readonly server: Readonly<ServerSettings>;
  readonly pipeline: Readonly<PipelineSettings>;
  readonly ingest: Readonly<IngestSettings>;
}

/**
 * Reads `inventory.yaml` (required) and `warden.yaml` (optional) from `dir`.
 * Any problem throws `invalid_config` with `file:line:column: field.path problem`.
 */
export function loadWardenConfig(dir: string): WardenConfig {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new WardenError('invalid_config', `config directory not found: ${dir}`);
  if (!stat.isDirectory()) {
    throw new WardenError('invalid_config', `config path is not a directory: ${dir}`);
  }

  const inventoryPath = join(dir, INVENTORY_FILE);
  const inventoryText = readIfExists(inventoryPath);
  if (inventoryText === undefined) {
    throw new WardenError(
      'invalid_config',
      `${inventoryPath} not found: a config directory must contain ${INVENTORY_FILE}`,
    );
  }
  const inventory = readInventory(new YamlFile(inventoryPath, inventoryText));

  const settingsPath = join(dir, SETTINGS_FILE);
  const settingsText = readIfExists(settingsPath);
  const settings =
    settingsText === undefined
      ? {
          server: { ...DEFAULT_SERVER_SETTINGS },
          pipeline: { ...DEFAULT_PIPELINE_SETTINGS },
          ingest: { ...DEFAULT_INGEST_SETTINGS },
        }
      : readSettings(new YamlFile(settingsPath, settingsText));

  return deepFreeze({ dir: resolve(dir), inventory, ...settings });
}

// ---------------------------------------------------------------------------
// inventory.yaml

const INVENTORY_KEYS = ['business_units', 'models', 'datasets', 'allowlists'] as const;
const BUSINESS_UNIT_KEYS = ['id', 'name', 'on_call'] as const;
const MODEL_KEYS = [
  'id',
  'name',
  'owner',
  'business_unit',
  'environment',
  'tier',
  'endpoints',
  'registry_name',
  'datasets',
  'feature_stores',
  'description',
] as const;
const DATASET_KEYS = ['id', 'name', 'feature_store', 'owner', 'business_unit'] as const;
const ALLOWLIST_KEYS = ['name', 'reason', 'cidrs'] as const;
// The prefix must be digits when present: parseCidr reads "10.0.0.0/" as /0.
const CIDR_SHAPE = /^[^/]+(\/\d{1,3})?$/;

function readInventory(file: YamlFile): Inventory {
  const root = file.root(INVENTORY_KEYS);

  const unitEntries = root.list('business_units', BUSINESS_UNIT_KEYS);
  unique(unitEntries, 'id');
  const businessUnits = unitEntries.map((entry): BusinessUnit => ({
    id: entry.requiredString('id'),
    name: entry.requiredString('name'),
    ...optional('onCall', entry.optionalString('on_call')),
  }));
  const unitIds = new Set(businessUnits.map((unit) => unit.id));
  const checkUnit = (entry: Fields, key: string, id: string | undefined): void => {
    if (id === undefined || unitIds.has(id)) return;
    const declared = [...unitIds].join(', ') || 'none';
    entry.fail(key, `"${id}" is not a declared business unit (declared: ${declared})`);
  };

  const datasetEntries = root.list('datasets', DATASET_KEYS);
  unique(datasetEntries, 'id');
  const datasets = datasetEntries.map((entry): DatasetRecord => {
    const businessUnit = entry.optionalString('business_unit');
    checkUnit(entry, 'business_unit', businessUnit);
    return {
      id: entry.requiredString('id'),
      name: entry.requiredString('name'),
      ...optional('featureStore', entry.optionalString('feature_store')),
      ...optional('owner', entry.optionalString('owner')),
      ...optional('businessUnit', businessUnit),
    };
  });

  const datasetIds = new Set(datasets.map((dataset) => dataset.id));
  // An endpoint or registry name naming two models would attribute alerts to either at random.
  const modelKeyOwners = new Map<string, string>();
  const claim = (entry: Fields, key: string, index: number | undefined, value: string): void => {
    const owner = modelKeyOwners.get(value.toLowerCase());
    if (owner !== undefined && owner !== entry.path) {
      const problem = `"${value}" already identifies ${owner}`;
      if (index === undefined) entry.fail(key, problem);
      else entry.failItem(key, index, problem);
    }
    modelKeyOwners.set(value.toLowerCase(), entry.path);
  };

  const modelEntries = root.list('models', MODEL_KEYS);
  unique(modelEntries, 'id');
  const models = modelEntries.map((entry): ModelRecord => {
    const id = entry.requiredString('id');
    const name = entry.requiredString('name');
    const owner = entry.requiredString('owner');
    const businessUnit = entry.requiredString('business_unit');
    checkUnit(entry, 'business_unit', businessUnit);
    const endpoints = entry.stringList('endpoints');
    endpoints.forEach((endpoint, index) => claim(entry, 'endpoints', index, endpoint));
    const registryName = entry.optionalString('registry_name');
    if (registryName !== undefined && registryName !== id) {
      claim(entry, 'registry_name', undefined, registryName);
    }
    const modelDatasets = entry.stringList('datasets');
    modelDatasets.forEach((dataset, index) => {
      if (!datasetIds.has(dataset)) {
        const declared = [...datasetIds].join(', ') || 'none';
        entry.failItem(
          'datasets',
          index,
          `"${dataset}" is not a declared dataset (declared: ${declared})`,
        );
      }
    });
    return {
      id,
      name,
      owner,
      businessUnit,
      environment: entry.requiredString('environment'),
      tier: readTier(entry),
      endpoints,
      ...optional('registryName', registryName),
      datasets: modelDatasets,
      featureStores: entry.stringList('feature_stores'),
      ...optional('description', entry.optionalString('description')),
    };
  });

  const allowlistEntries = root.list('allowlists', ALLOWLIST_KEYS);
  unique(allowlistEntries, 'name');
  const allowlists = allowlistEntries.map((entry): Allowlist => {
    const name = entry.requiredString('name');
    const reason = entry.optionalString('reason');
    const cidrs = entry.stringList('cidrs', { required: true });
    cidrs.forEach((cidr, index) => {
      if (!CIDR_SHAPE.test(cidr) || !parseCidr(cidr)) {
        entry.failItem('cidrs', index, `"${cidr}" is not an IP address or CIDR range`);
      }
    });
    return { name, ...optional('reason', reason), cidrs };
  });

  return { businessUnits, models, datasets, allowlists };
}

function readTier(entry: Fields): ModelTier {
  const node = entry.value('tier');
  if (node === undefined) entry.fail('tier', 'is required');
  const tier = isScalar(node) ? node.value : undefined;
  if (tier !== 1 && tier !== 2 && tier !== 3) {
    entry.fail('tier', `must be 1, 2 or 3 (got ${describeNode(node)})`);
  }
  return tier;
}

/** Rejects a second entry with the same `key`, pointing at the repeat. */
function unique(entries: Fields[], key: string): void {
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const value = entry.optionalString(key);
    if (value === undefined) continue;
    const first = seen.get(value);
    if (first !== undefined) entry.fail(key, `"${value}" is already used by ${first}`);
    seen.set(value, entry.path);
  }
}

// ---------------------------------------------------------------------------
// warden.yaml

/** A duration, or 0 to turn off what it delays. */
function durationOrZero(text: string | number, field: string): number {
  return text === 0 || (typeof text === 'string' && /^\s*0+\s*[a-z]*\s*$/i.test(text))
    ? 0
    : parseDuration(text, field);
}

const SETTINGS_KEYS = ['server', 'pipeline', 'ingest'] as const;
const SERVER_KEYS = ['host', 'port', 'body_limit'] as const;
const PIPELINE_KEYS = ['dedup_window', 'correlation_window', 'case_write_interval'] as const;
const INGEST_KEYS = ['dead_letter'] as const;

function readSettings(file: YamlFile): {
  server: ServerSettings;
  pipeline: PipelineSettings;
  ingest: IngestSettings;
} {
  const root = file.root(SETTINGS_KEYS);
  const server = root.section('server', SERVER_KEYS);
  const pipeline = root.section('pipeline', PIPELINE_KEYS);
  const ingest = root.section('ingest', INGEST_KEYS);
  return {
    server: {
      host: server.optionalString('host') ?? DEFAULT_SERVER_SETTINGS.host,
      port: readPort(server),
      bodyLimitBytes:
        server.withUnits('body_limit', parseByteSize) ?? DEFAULT_SERVER_SETTINGS.bodyLimitBytes,
    },
    pipeline: {
      dedupWindowMs:
        pipeline.withUnits('dedup_window', parseDuration) ??
        DEFAULT_PIPELINE_SETTINGS.dedupWindowMs,
      correlationWindowMs:
        pipeline.withUnits('correlation_window', parseDuration) ??
        DEFAULT_PIPELINE_SETTINGS.correlationWindowMs,
      caseWriteIntervalMs:
        pipeline.withUnits('case_write_interval', durationOrZero) ??
        DEFAULT_PIPELINE_SETTINGS.caseWriteIntervalMs,
    },
    ingest: {
      deadLetter: readBoolean(ingest, 'dead_letter') ?? DEFAULT_INGEST_SETTINGS.deadLetter,
    },
  };
}

/** YAML `true` / `false` only: a quoted "true" or a `yes` is more likely a slip than a choice. */
function readBoolean(fields: Fields, key: string): boolean | undefined {
  const node = fields.value(key);
  if (node === undefined) return undefined;
  const value = isScalar(node) ? node.value : undefined;
  if (typeof value !== 'boolean') {
    fields.fail(key, `must be true or false (got ${describeNode(node)})`);
  }
  return value;
}

function readPort(server: Fields): number {
  const node = server.value('port');
  if (node === undefined) return DEFAULT_SERVER_SETTINGS.port;
  const port = isScalar(node) ? node.value : undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    server.fail('port', `must be an integer from 0 to 65535 (got ${describeNode(node)})`);
  }
  return port;
}

// ---------------------------------------------------------------------------
// YAML access that keeps source positions for error messages
