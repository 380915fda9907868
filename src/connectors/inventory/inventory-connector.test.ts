import { describe, expect, it } from 'vitest';
import { InventoryIndex, type Inventory, type ModelRecord } from '../../core/inventory.js';
import type { ConnectorCall, JsonValue } from '../connector.js';
import { guardConnector } from '../guarded-connector.js';
import { createInventoryConnector } from './inventory-connector.js';

function model(overrides: Partial<ModelRecord> & Pick<ModelRecord, 'id'>): ModelRecord {
  return {
    name: overrides.id,
    owner: 'ml@bank.example',
    businessUnit: 'retail',
    environment: 'prod',
    tier: 2,
    endpoints: [],
    datasets: [],
    featureStores: [],
    ...overrides,
  };
}

const INVENTORY: Inventory = {
  businessUnits: [
    { id: 'retail', name: 'Retail Banking', onCall: 'retail-oncall@bank.example' },
    { id: 'cx', name: 'Customer Experience' },
  ],
  models: [
    model({
      id: 'customer-churn',
      name: 'Customer Churn',
      tier: 1,
      endpoints: ['/v1/models/customer-churn:predict'],
      registryName: 'churn',
      datasets: ['ds-profiles'],
      featureStores: ['fs-360'],
      description: 'Flags customers likely to leave.',
    }),
    model({
      id: 'sentiment',
      businessUnit: 'cx',
      owner: 'cx@bank.example',
      featureStores: ['fs-360'],
    }),
    model({ id: 'fraud', datasets: ['ds-cards'] }),
  ],
  datasets: [
    { id: 'ds-profiles', name: 'Profiles', featureStore: 'fs-360' },
    { id: 'ds-empty', name: 'Nobody reads this' },
  ],
  allowlists: [{ name: 'scanners', reason: 'authorised scanner', cidrs: ['198.51.100.0/24'] }],
};

const connector = guardConnector(createInventoryConnector(new InventoryIndex(INVENTORY)));

function call(action: string, input: JsonValue): ConnectorCall {
  return { action, input, idempotencyKey: 'k', attempt: 1, signal: AbortSignal.timeout(5000) };
}

async function output(action: string, input: JsonValue): Promise<JsonValue> {
  return (await connector.invoke(call(action, input))).output;
}

describe('the inventory connector', () => {
  it('has only read actions', () => {
    expect(Object.values(connector.actions).map((a) => [a.name, a.effect])).toEqual([
      ['model', 'read'],
      ['dataset_readers', 'read'],
      ['owners', 'read'],
      ['allowlisted', 'read'],
    ]);
  });

  it('finds a model by id, registry name or endpoint, with its unit and blast radius', async () => {
    const expected = {
      id: 'customer-churn',
      name: 'Customer Churn',
      owner: 'ml@bank.example',
      businessUnit: 'retail',
      businessUnitName: 'Retail Banking',
      onCall: 'retail-oncall@bank.example',
      environment: 'prod',
      tier: 1,
      endpoints: ['/v1/models/customer-churn:predict'],
      registryName: 'churn',
      datasets: ['ds-profiles'],
      featureStores: ['fs-360'],
      description: 'Flags customers likely to leave.',
      blastRadius: ['sentiment'],
    };
    expect(await output('model', { key: 'customer-churn' })).toEqual(expected);
    expect(await output('model', { key: 'churn' })).toEqual(expected);
    expect(
      await output('model', { key: 'https://api.example/v1/models/customer-churn:predict' }),
    ).toEqual(expected);
    expect(await output('model', { key: 'no-such-model' })).toBeNull();
  });

  it('describes a model once per inventory, frozen, since every run shares the description', async () => {
    const first = (await output('model', { key: 'customer-churn' })) as Record<string, unknown>;
    expect(await output('model', { key: 'churn' })).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.blastRadius)).toBe(true);
    expect(() => (first.datasets as string[]).push('ds-other')).toThrow(TypeError);
    // Sharing it does not freeze the inventory's own lists.
    const inventory = new InventoryIndex(INVENTORY);
    const fresh = guardConnector(createInventoryConnector(inventory));
    const again = (await fresh.invoke(call('model', { key: 'customer-churn' }))).output as Record<
      string,
      unknown
    >;
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    const churn = inventory.findModel('customer-churn') as ModelRecord;
    expect(Object.isFrozen(churn.datasets) || Object.isFrozen(inventory.blastRadius(churn))).toBe(
      false,
    );
  });

  it('lists the readers of a dataset, directly or through its feature store', async () => {
    expect(await output('dataset_readers', { dataset: 'ds-profiles' })).toEqual({
      dataset: 'ds-profiles',
      known: true,
      readers: [
        {
          id: 'customer-churn',
          name: 'Customer Churn',
          owner: 'ml@bank.example',
          businessUnit: 'retail',
          environment: 'prod',
          tier: 1,
        },
        {
          id: 'sentiment',
          name: 'sentiment',
          owner: 'cx@bank.example',
          businessUnit: 'cx',
          environment: 'prod',
          tier: 2,
        },
      ],
    });
    expect(await output('dataset_readers', { dataset: 'ds-empty' })).toEqual({
      dataset: 'ds-empty',
      known: true,
      readers: [],
    });
    expect(await output('dataset_readers', { dataset: 'ds-unknown' })).toMatchObject({
      known: false,
    });
  });

  it('gives the owners and on-call of models, listing unknown ids', async () => {
    expect(
      await output('owners', {
        models: ['customer-churn', 'sentiment', 'ghost', 'customer-churn'],
      }),
    ).toEqual({
      owners: [
        {
          model: 'customer-churn',
          owner: 'ml@bank.example',
          businessUnit: 'retail',
          onCall: 'retail-oncall@bank.example',
        },
        { model: 'sentiment', owner: 'cx@bank.example', businessUnit: 'cx' },
      ],
      unknown: ['ghost'],
    });
  });

  it('matches an address against the allow-lists', async () => {
    expect(await output('allowlisted', { ip: '198.51.100.23' })).toEqual({
      allowlisted: true,
      matches: [
        {
          list: 'scanners',
          cidr: '198.51.100.0/24',
          ip: '198.51.100.23',
          reason: 'authorised scanner',
        },
      ],
    });
    expect(await output('allowlisted', { ip: '203.0.113.7' })).toEqual({
      allowlisted: false,
      matches: [],
    });
    await expect(connector.invoke(call('allowlisted', { ip: 'not-an-ip' }))).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('rejects input outside the schemas', async () => {
    await expect(connector.invoke(call('model', { id: 'x' }))).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('input must have required property') as string,
    });
    await expect(
      connector.invoke(call('owners', { models: 'customer-churn' })),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('reconciles every call as not done: reads are safe to repeat', async () => {
    expect(await connector.reconcile?.(call('model', { key: 'churn' }))).toEqual({
      state: 'not_done',
    });
  });
});
