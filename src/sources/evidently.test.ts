import { describe, expect, it } from 'vitest';
import { evidentlyFormat } from './evidently.js';
import { describeSourceFormatContract } from './source-format.contract.js';
import { normalizePayload, normalizePayloads } from './source-registry.js';

/*
 * Snapshots written from Evidently 0.7's public API: a Report run with
 * tests (`Report([DataDriftPreset()], include_tests=True).run(...)`) and its
 * `snapshot.dict()`, whose `tests` carry name, description, status (SUCCESS,
 * FAIL, WARNING, ERROR) and the metric they check (`metric_config.params.type`,
 * e.g. `evidently:metric_v2:ValueDrift`). Ids and values are made up.
 */

function test(name: string, status: string, metricType: string, description?: string): unknown {
  return {
    id: `t-${name.length}-${status}`,
    name,
    ...(description === undefined ? {} : { description }),
    metric_config: {
      metric_id: `m-${metricType}`,
      params: { type: `evidently:metric_v2:${metricType}` },
    },
    test_config: { type: 'evidently:test_v2:LessThanMetricTest', threshold: 0.5 },
    status,
  };
}

const driftSnapshot = {
  id: '0194f1c2-7a8b-7c9d-8e0f-112233445566',
  name: 'daily-drift',
  timestamp: '2026-11-26T06:00:00.000Z',
  metadata: { model: 'support-bot' },
  tags: ['prod'],
  metrics: [],
  tests: [
    test(
      'Share of Drifted Columns: Less 0.5',
      'FAIL',
      'DriftedColumnsCount',
      'Share of drifted columns is 0.6. Test threshold is lt=0.5',
    ),
    test('Value drift for prompt_length', 'FAIL', 'ValueDrift'),
    test('Missing values: Equal 0', 'SUCCESS', 'MissingValueCount'),
    test('Row count: Greater 100', 'SUCCESS', 'RowCount'),
  ],
};

const qualitySnapshot = {
  metrics: [],
  tags: ['model:ranker-v3'],
  tests: [
    test('Missing values: Equal 0', 'FAIL', 'MissingValueCount'),
    test('Duplicated rows: Equal 0', 'WARNING', 'DuplicatedRowCount'),
    test('Row count: Greater 100', 'SUCCESS', 'RowCount'),
    test('Column count', 'SUCCESS', 'ColumnCount'),
    test('Empty rows', 'SUCCESS', 'EmptyRowsCount'),
    test('Accuracy', 'SKIPPED', 'Accuracy'),
  ],
};

const accuracySnapshot = {
  metrics: [],
  tests: [
    test('Accuracy: Greater 0.9', 'WARNING', 'Accuracy'),
    test('F1: Greater 0.8', 'SUCCESS', 'F1Score'),
  ],
};

const passingSnapshot = {
  metrics: [],
  tests: [test('Share of Drifted Columns: Less 0.5', 'SUCCESS', 'DriftedColumnsCount')],
};

describeSourceFormatContract(evidentlyFormat, {
  valid: [driftSnapshot, qualitySnapshot, accuracySnapshot],
  invalid: [
    { metrics: [] },
    { metrics: [], tests: 'FAIL' },
    { metrics: [], tests: [{ name: 'x', status: 'BROKEN' }] },
    passingSnapshot,
  ],
  empty: [passingSnapshot],
});

describe('Evidently snapshots', () => {
  it('reads failed drift tests as one model_drift alert for the snapshot', () => {
    const draft = normalizePayload(driftSnapshot, undefined, { model: 'from-context' });
    expect(draft).toMatchObject({
      source: { format: 'evidently', product: 'Evidently', uid: driftSnapshot.id },
      type: 'model_drift',
      title: 'Evidently daily-drift: 2 of 4 tests failed (drift)',
      // 2 of 4 FAIL = 50%: High.
      severityId: 4,
      atlasTechniques: ['AML.T0031'],
      firstSeen: '2026-11-26T06:00:00.000Z',
      lastSeen: '2026-11-26T06:00:00.000Z',
      dedupKey: `evidently:${driftSnapshot.id}`,
      // The snapshot's metadata wins over the sender context.
      observables: { model: { id: 'support-bot' } },
    });
    expect(draft.description).toContain(
      'FAIL Share of Drifted Columns: Less 0.5 (Share of drifted columns is 0.6. Test threshold is lt=0.5)',
    );
    expect(draft.description).not.toContain('Missing values');
  });

  it('reads data-quality-only failures as other; model from a tag; severity from the FAIL share', () => {
    expect(normalizePayload(qualitySnapshot)).toMatchObject({
      type: 'other',
      atlasTechniques: [],
      // 1 FAIL of 5 evaluated (SKIPPED not counted) = 20%: Medium.
      severityId: 3,
      observables: { model: { id: 'ranker-v3' } },
    });
    expect(normalizePayload(qualitySnapshot).dedupKey).toBeUndefined();
  });

  it('reads other failures as model_drift, Low when only warnings; model from the context', () => {
    expect(normalizePayload(accuracySnapshot, undefined, { model: 'clf-1' })).toMatchObject({
      type: 'model_drift',
      severityId: 2,
      observables: { model: { id: 'clf-1' } },
    });
  });

  it('expands a snapshot whose tests all pass into no alert', () => {
    expect(normalizePayloads(passingSnapshot)).toEqual([]);
    expect(() => normalizePayload(passingSnapshot)).toThrow(/carries no finding/);
  });
});
