import { deepFreeze } from '../../config/yaml-source.js';
import type { InventoryIndex, ModelRecord } from '../../core/inventory.js';
import { parseIp } from '../../core/ip-range.js';
import {
  ConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonSchema,
  type JsonValue,
} from '../connector.js';

/**
 * Read actions over the model inventory (inventory.yaml), for `enrich`
 * steps that need more than the alert's own enrichment: another model, the
 * readers of a dataset, the owners of a list of models, the allow-lists.
 */

const STRING = { type: 'string', minLength: 1 };
const MODEL_REFERENCE_PROPERTIES = {
  id: STRING,
  name: STRING,
  owner: STRING,
  businessUnit: STRING,
  environment: STRING,
  tier: { enum: [1, 2, 3] },
};

const MODEL_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    ...MODEL_REFERENCE_PROPERTIES,
    businessUnitName: STRING,
    onCall: STRING,
    endpoints: { type: 'array', items: STRING },
    registryName: STRING,
    datasets: { type: 'array', items: STRING },
    featureStores: { type: 'array', items: STRING },
    description: { type: 'string' },
    blastRadius: { type: 'array', items: STRING },
  },
  required: ['id', 'name', 'owner', 'businessUnit', 'environment', 'tier', 'blastRadius'],
};

function action(
  name: string,
  description: string,
  input: Record<string, unknown>,
  output: JsonSchema,
): ConnectorActionSpec {
  return {
    name,
    description,
    effect: 'read',
    inputSchema: {
      type: 'object',
      properties: input,
      required: Object.keys(input),
      additionalProperties: false,
    },
    outputSchema: output,
  };
}

const ACTIONS: Record<string, ConnectorActionSpec> = {
  model: action(
    'model',
    'The model with this id, registry name or endpoint (URL or path), or null.',
    { key: STRING },
    { anyOf: [{ type: 'null' }, MODEL_SCHEMA] },
  ),
  dataset_readers: action(
    'dataset_readers',
    'The models that read a dataset, or the feature store it lives in.',
    { dataset: STRING },
    {
      type: 'object',
      properties: {
        dataset: STRING,
        known: { type: 'boolean' },
        readers: {
          type: 'array',
          items: { type: 'object', properties: MODEL_REFERENCE_PROPERTIES },
        },
      },
      required: ['dataset', 'known', 'readers'],
    },
  ),
  owners: action(
    'owners',
    'The owner and business unit on-call of each model; ids not in the inventory are listed as unknown.',
    { models: { type: 'array', items: STRING, maxItems: 1000 } },
    {
      type: 'object',
      properties: {
        owners: { type: 'array', items: { type: 'object' } },
        unknown: { type: 'array', items: STRING },
      },
      required: ['owners', 'unknown'],
    },
  ),
  allowlisted: action(
    'allowlisted',
    'The allow-list entries whose ranges contain the address.',
    { ip: STRING },
    {
      type: 'object',
      properties: { allowlisted: { type: 'boolean' }, matches: { type: 'array' } },
      required: ['allowlisted', 'matches'],
    },
  ),
};

export function createInventoryConnector(inventory: InventoryIndex, name = 'inventory'): Connector {
  return {
    name,
    type: 'inventory',
    actions: ACTIONS,
    // Lookups are in memory: no reason to queue them.
    concurrency: 64,
    invoke: (call) => Promise.resolve(lookup(inventory, name, call)),
  };
}

type Json = { [key: string]: JsonValue };

function lookup(inventory: InventoryIndex, name: string, call: ConnectorCall): ConnectorResult {
  const input = call.input as Json;
  switch (call.action) {
    case 'model': {
      const model = inventory.findModel(input.key as string);
      return { output: model === undefined ? null : describeModel(inventory, model) };
    }
    case 'dataset_readers': {
      const dataset = input.dataset as string;
      const readers = inventory.readersOf(dataset);
      const known = inventory.dataset(dataset) !== undefined || readers.length > 0;
      return { output: { dataset, known, readers: readers.map(modelReference) } };
    }
    case 'owners': {
      const ids = [...new Set(input.models as string[])];
      const owners: JsonValue[] = [];
      const unknown: string[] = [];
      for (const id of ids) {
        const model = inventory.findModel(id);
        if (model === undefined) {
          unknown.push(id);
          continue;
        }
        const unit = inventory.businessUnit(model.businessUnit);
        owners.push({
          model: model.id,
          owner: model.owner,
          businessUnit: model.businessUnit,
          ...(unit?.onCall === undefined ? {} : { onCall: unit.onCall }),
        });
      }
      return { output: { owners, unknown } };
    }
    case 'allowlisted': {
      const ip = input.ip as string;
      if (parseIp(ip) === undefined) {
        throw new ConnectorError(
          'invalid_input',
          `${name}.allowlisted: input.ip is not an IP address`,
        );
      }
      const matches = inventory.allowlistMatches([ip]).map((match) => ({ ...match }));
      return { output: { allowlisted: matches.length > 0, matches } };
    }
    default:
      throw new ConnectorError('unknown_action', `${name}: no action "${call.action}"`);
  }
}

function modelReference(model: ModelRecord): Json {
  return {
    id: model.id,
    name: model.name,
    owner: model.owner,
    businessUnit: model.businessUnit,
    environment: model.environment,
    tier: model.tier,
  };
}

/**
 * A model's description, built once per inventory: playbooks look the same
 * few models up for every run. Frozen, since every caller shares it (the
 * executor only reads step outputs, and stores them as text).
 */
const descriptions = new WeakMap<InventoryIndex, Map<string, Json>>();

function describeModel(inventory: InventoryIndex, model: ModelRecord): Json {
  let known = descriptions.get(inventory);
  if (!known) {
    known = new Map();
    descriptions.set(inventory, known);
  }
  let description = known.get(model.id);
  if (description === undefined) {
    description = deepFreeze(buildDescription(inventory, model));
    known.set(model.id, description);
  }
  return description;
}

function buildDescription(inventory: InventoryIndex, model: ModelRecord): Json {
  const unit = inventory.businessUnit(model.businessUnit);
  return {
    ...modelReference(model),
    ...(unit === undefined ? {} : { businessUnitName: unit.name }),
    ...(unit?.onCall === undefined ? {} : { onCall: unit.onCall }),
    endpoints: [...model.endpoints],
    ...(model.registryName === undefined ? {} : { registryName: model.registryName }),
    datasets: [...model.datasets],
    featureStores: [...model.featureStores],
    ...(model.description === undefined ? {} : { description: model.description }),
    blastRadius: [...inventory.blastRadius(model)],
  };
}
