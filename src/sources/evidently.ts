import type { AlertDraft, AlertType, SeverityId } from '../core/alert.js';
import { emptyObservables } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { withSourceContext } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { epochMsOf } from './time-field.js';
import { arrayAt, idAt, objectAt, seenTimes, textAt } from './vendor-fields.js';

/**
 * An Evidently (0.7) Snapshot dict (`snapshot.dict()` / `json()`): `metrics`
 * and `tests`, each test with a `status`. One snapshot is one alert listing
 * its failed tests; a snapshot whose tests all pass carries no finding.
 */

const WHERE = 'Evidently snapshot';

const STATUSES = new Set(['SUCCESS', 'FAIL', 'WARNING', 'ERROR', 'SKIPPED']);
/** Statuses that make a finding: a critical test failed (FAIL) or a non-critical one (WARNING). */
const FAILED = new Set(['FAIL', 'WARNING']);
/** Statuses that count as evaluated, for the share of failures. */
const EVALUATED = new Set(['SUCCESS', 'FAIL', 'WARNING']);

/** Metric types that measure the data's quality, not the model's inputs' distribution. */
const DATA_QUALITY_METRIC =
  /^(?:Dataset)?MissingValueCount$|^Duplicated(?:Row|Columns)Count$|^Empty(?:Rows|Columns)Count$|^(?:Almost)?ConstantColumnsCount$|^AlmostDuplicatedColumnsCount$|^(?:Column|Row)Count$|^(?:In|Out)(?:Range|List)ValueCount$|^UniqueValueCount$|^CategoryCount$/;
const DATA_QUALITY_NAME = /\bmissing\b|\bduplicat|\bempty\b|\bconstant\b|\bnull/i;

/** Share of FAIL among evaluated tests → severity, highest first. A test run is not an attack: no Critical. */
const SEVERITY_BY_FAIL_SHARE: ReadonlyArray<readonly [number, SeverityId]> = [
  [0.5, 4],
  [0.2, 3],
  [0, 2],
];

const MAX_LISTED = 20;

interface SnapshotTest {
  name: string;
  status: string;
  description?: string;
  metricType?: string;
}

function isTestEntry(value: unknown): boolean {
  return (
    isJsonObject(value) &&
    typeof value.status === 'string' &&
    STATUSES.has(value.status.toUpperCase()) &&
    (isJsonObject(value.test_config) || isJsonObject(value.metric_config))
  );
}

function isSnapshot(value: unknown): value is JsonObject & { tests: unknown[] } {
  return (
    isJsonObject(value) &&
    Array.isArray(value.metrics) &&
    Array.isArray(value.tests) &&
    value.tests.length > 0 &&
    value.tests.every(isTestEntry)
  );
}

/** The last segment of an `evidently:metric_v2:ValueDrift` type. */
function metricTypeOf(test: JsonObject): string | undefined {
  const type = textAt(objectAt(objectAt(test.metric_config).params).type);
  return type?.split(':').pop();
}

function testsOf(payload: JsonObject): SnapshotTest[] {
  if (payload.tests === undefined || payload.tests === null) throw missingField('tests', WHERE);
  if (!Array.isArray(payload.tests)) throw invalidField('tests', 'must be an array', WHERE);
  return payload.tests.map((entry: unknown, i) => {
    if (!isJsonObject(entry)) throw invalidField(`tests[${i}]`, 'must be an object', WHERE);
    const status = textAt(entry.status)?.trim().toUpperCase();
    if (status === undefined || !STATUSES.has(status)) {
      throw invalidField(`tests[${i}].status`, `must be one of ${[...STATUSES].join(', ')}`, WHERE);
    }
    const metricType = metricTypeOf(entry);
    const description = textAt(entry.description)?.trim();
    return {
      name: textAt(entry.name)?.trim() ?? metricType ?? `test ${i}`,
      status,
      ...(description === undefined ? {} : { description }),
      ...(metricType === undefined ? {} : { metricType }),
    };
  });
}

function isDrift(test: SnapshotTest): boolean {
  return /drift/i.test(test.name) || /drift/i.test(test.metricType ?? '');
}

function isDataQuality(test: SnapshotTest): boolean {
  return DATA_QUALITY_METRIC.test(test.metricType ?? '') || DATA_QUALITY_NAME.test(test.name);
}

/** Any failed drift test: drift; else only data-quality failures: other; else drift (model quality). */
function typeOf(failed: readonly SnapshotTest[]): AlertType {
  if (failed.some(isDrift)) return 'model_drift';
  return failed.every(isDataQuality) ? 'other' : 'model_drift';
}

/** The model: `metadata.model` (or `model_id`, `model_name`), else a `model:X` / `model=X` tag. */
function modelOf(payload: JsonObject): string | undefined {
  const metadata = objectAt(payload.metadata);
  const fromMetadata = [metadata.model, metadata.model_id, metadata.model_name]
    .map(idAt)
    .find((v) => v !== undefined);
  if (fromMetadata !== undefined) return fromMetadata.trim();
  for (const tag of arrayAt(payload.tags)) {
    const match = typeof tag === 'string' ? /^model[:=](.+)$/.exec(tag.trim()) : null;
    if (match?.[1]) return match[1].trim();
  }
  return undefined;
}

function listed(tests: readonly SnapshotTest[]): string {
  const shown = tests
    .slice(0, MAX_LISTED)
    .map((t) => `${t.status} ${t.name}${t.description ? ` (${t.description})` : ''}`);
  if (tests.length > MAX_LISTED) shown.push(`and ${tests.length - MAX_LISTED} more`);
  return shown.join('; ');
}

export function normalizeEvidentlySnapshot(payload: unknown, context?: SourceContext): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const tests = testsOf(payload);
  const failed = tests.filter((t) => FAILED.has(t.status));
  if (failed.length === 0) {
    throw invalidField('tests', 'records no failed test: nothing to alert on', WHERE);
  }
  const evaluated = tests.filter((t) => EVALUATED.has(t.status)).length;
  const fails = failed.filter((t) => t.status === 'FAIL').length;
  const share = evaluated === 0 ? 0 : fails / evaluated;
  const severityId: SeverityId =
    fails === 0 ? 2 : (SEVERITY_BY_FAIL_SHARE.find(([floor]) => share >= floor)?.[1] ?? 2);
  const type = typeOf(failed);

  const id = idAt(payload.id)?.trim();
  const name = textAt(payload.name)?.trim();
  const observables = emptyObservables();
  const model = modelOf(payload);
  if (model !== undefined) observables.model = { id: model };

  const title = `Evidently${name === undefined ? '' : ` ${name}`}: ${failed.length} of ${evaluated} tests failed${
    failed.some(isDrift) ? ' (drift)' : ''
  }`;
  const at = epochMsOf(payload.timestamp);

  return {
    source: {
      format: 'evidently',
      product: 'Evidently',
      vendor: 'Evidently AI',
      ...(id === undefined ? {} : { uid: id }),
    },
    type,
    title,
    description: `Failed tests: ${listed(failed)}.`,
    severityId,
    ...seenTimes(at, at),
    count: 1,
    observables: withSourceContext(observables, context),
    atlasTechniques: atlasTechniquesFor(type, []),
    ...(id === undefined ? {} : { dedupKey: `evidently:${id}` }),
    raw: payload,
  };
}

export const evidentlyFormat: SourceFormat = {
  name: 'evidently',
  description:
    'Evidently (0.7) snapshot dict with test results: one alert listing the failed tests; none when all pass',
  detect: isSnapshot,
  normalize: normalizeEvidentlySnapshot,
  expand: (payload) => {
    if (!isSnapshot(payload)) return [payload];
    const anyFailed = payload.tests.some(
      (t) => isJsonObject(t) && typeof t.status === 'string' && FAILED.has(t.status.toUpperCase()),
    );
    return anyFailed ? [payload] : [];
  },
};
