import type { AlertDraft, AlertType, SeverityId } from '../core/alert.js';
import { emptyObservables } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { alertTypeFromKeywords } from './alert-type-inference.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { withSourceContext } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { arrayAt, objectAt, seenTimes, textAt } from './vendor-fields.js';

/**
 * garak (NVIDIA's LLM vulnerability scanner) report rows: a `.report.jsonl`
 * file holds one object per line, each with an `entry_type`. Only `eval` rows
 * are findings (one probe scored by one detector: `passed` of `total` /
 * `total_evaluated` outputs were safe); `start_run setup`, `init`, `attempt`,
 * `completion` and `digest` rows carry none and expand into no alert, and so
 * does an `eval` row that every output passed. A hitlog row (`.hitlog.jsonl`:
 * one failing output, with `probe`, `detector`, `score` and `attempt_id` /
 * `run_id`) is one finding. Eval rows name no model: the sender's context
 * (`?model=`, `--model`) does.
 */

const WHERE = 'garak report row';
const PRODUCT = { format: 'garak', product: 'garak', vendor: 'NVIDIA' } as const;

/** Report rows that record the run, not a finding. */
const CONTEXT_ENTRY_TYPES: ReadonlySet<string> = new Set([
  'start_run setup',
  'init',
  'attempt',
  'completion',
  'digest',
]);

/** Probe modules (the part of `promptinject.HijackHateHumans` before the dot) → alert type. */
const TYPE_BY_PROBE_MODULE: Readonly<Record<string, AlertType>> = {
  promptinject: 'prompt_injection',
  latentinjection: 'prompt_injection',
  encoding: 'prompt_injection',
  dan: 'jailbreak',
  tap: 'jailbreak',
  suffix: 'jailbreak',
  visual_jailbreak: 'jailbreak',
  leakreplay: 'data_exfiltration',
  xss: 'data_exfiltration',
  apikey: 'data_exfiltration',
  divergence: 'data_exfiltration',
  realtoxicityprompts: 'output_policy_violation',
  lmrc: 'output_policy_violation',
};

/** Failure-rate bands of an eval row, highest first: the share of outputs that failed. */
const SEVERITY_BY_FAILURE_RATE: ReadonlyArray<readonly [number, SeverityId]> = [
  [0.5, 4],
  [0.1, 3],
  [0, 2],
];
/** A hitlog row is one failing output: Medium. */
const HIT_SEVERITY: SeverityId = 3;

function typeOfProbe(probe: string, detector: string): AlertType {
  const module = probe.split('.')[0]?.toLowerCase() ?? '';
  return (
    TYPE_BY_PROBE_MODULE[module] ??
    alertTypeFromKeywords([probe.replace(/\./g, ' '), detector.replace(/\./g, ' ')]) ??
    'other'
  );
}

function requiredText(payload: JsonObject, field: string): string {
  const value = textAt(payload[field]);
  if (value !== undefined) return value;
  if (payload[field] === undefined || payload[field] === null) throw missingField(field, WHERE);
  throw invalidField(field, 'must be a non-empty string', WHERE);
}

function count(payload: JsonObject, field: string): number | undefined {
  const value = payload[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidField(field, 'must be a non-negative integer', WHERE);
  }
  return value;
}

/** `total_evaluated` (garak 0.10 and later), else `total`. */
function evalCounts(row: JsonObject): { passed: number; total: number } {
  const passed = count(row, 'passed');
  if (passed === undefined) throw missingField('passed', WHERE);
  const totalField = row.total_evaluated !== undefined ? 'total_evaluated' : 'total';
  const total = count(row, totalField);
  if (total === undefined) throw missingField('total_evaluated', WHERE);
  if (passed > total) throw invalidField('passed', `must not exceed ${totalField}`, WHERE);
  return { passed, total };
}

function runIdOf(row: JsonObject): string | undefined {
  return textAt(row.run) ?? textAt(row.run_id) ?? textAt(row.run_uuid);
}

function isHitlogRow(payload: JsonObject): boolean {
  return (
    payload.entry_type === undefined &&
    typeof payload.probe === 'string' &&
    typeof payload.detector === 'string' &&
    typeof payload.score === 'number' &&
    (typeof payload.attempt_id === 'string' || typeof payload.run_id === 'string')
  );
}

function normalizeEval(row: JsonObject, context: SourceContext | undefined): AlertDraft {
  const probe = requiredText(row, 'probe');
  const detector = requiredText(row, 'detector');
  const { passed, total } = evalCounts(row);
  if (passed === total) {
    throw invalidField('passed', 'equals the total: the probe found nothing', WHERE);
  }
  const failed = total - passed;
  const rate = failed / total;
  const severityId = SEVERITY_BY_FAILURE_RATE.find(([floor]) => rate >= floor)?.[1] ?? 2;
  const type = typeOfProbe(probe, detector);
  const runId = runIdOf(row);
  // garak's bootstrap interval is on the failure rate.
  const lower = row.confidence_lower;
  const upper = row.confidence_upper;
  const level = textAt(row.confidence);
  const interval =
    typeof lower === 'number' && typeof upper === 'number'
      ? ` (interval ${Math.round(lower * 100)}–${Math.round(upper * 100)}%${level ? ` at ${level}` : ''})`
      : '';
  return {
    source: { ...PRODUCT, ...(runId === undefined ? {} : { uid: runId }) },
    type,
    title: `garak probe ${probe} failed ${failed} of ${total} (detector ${detector})`,
    description: `garak scan: ${failed} of ${total} outputs (${Math.round(rate * 100)}%) failed detector ${detector} on probe ${probe}${interval}.`,
    severityId,
    ...seenTimes(undefined, undefined),
    count: 1,
    observables: withSourceContext(emptyObservables(), context),
    atlasTechniques: atlasTechniquesFor(type, []),
    // Without a run id, Warden's content key folds repeats of the same probe result.
    ...(runId === undefined ? {} : { dedupKey: `garak:${runId}:${probe}:${detector}` }),
    raw: row,
  };
}

function normalizeHit(row: JsonObject, context: SourceContext | undefined): AlertDraft {
  const probe = requiredText(row, 'probe');
  const detector = requiredText(row, 'detector');
  const type = typeOfProbe(probe, detector);
  const attemptId = textAt(row.attempt_id);
  const runId = textAt(row.run_id);
  const observables = emptyObservables();
  // `generator` is garak's "<family> <model name>", e.g. "openai gpt-4o-mini".
  const generator = textAt(row.generator)?.trim();
  if (generator !== undefined) {
    observables.model = {
      id: generator.includes(' ') ? generator.slice(generator.indexOf(' ') + 1) : generator,
    };
  }
  const triggers = arrayAt(row.triggers).filter((t): t is string => textAt(t) !== undefined);
  const goal = textAt(row.goal);
  const output = textAt(objectAt(row.output).text);
  return {
    source: { ...PRODUCT, ...(runId === undefined ? {} : { uid: runId }) },
    type,
    title: `garak hit: probe ${probe} (detector ${detector})`,
    description: [
      goal && `Goal: ${goal}.`,
      `Detector score ${String(row.score)}.`,
      triggers.length > 0 && `Triggers: ${triggers.join(', ')}.`,
      output && `Output: ${output.slice(0, 500)}`,
    ]
      .filter(Boolean)
      .join(' '),
    severityId: HIT_SEVERITY,
    ...seenTimes(undefined, undefined),
    count: 1,
    observables: withSourceContext(observables, context),
    atlasTechniques: atlasTechniquesFor(type, []),
    ...(attemptId === undefined ? {} : { dedupKey: `garak:hit:${attemptId}:${detector}` }),
    raw: row,
  };
}

export function normalizeGarakRow(payload: unknown, context?: SourceContext): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  if (isHitlogRow(payload)) return normalizeHit(payload, context);
  const entryType = payload.entry_type;
  if (entryType === undefined || entryType === null) throw missingField('entry_type', WHERE);
  if (entryType !== 'eval') {
    throw invalidField(
      'entry_type',
      typeof entryType === 'string' && CONTEXT_ENTRY_TYPES.has(entryType)
        ? `is "${entryType}": the row carries no finding`
        : 'must be "eval" (a finding) or a known report row type',
      WHERE,
    );
  }
  return normalizeEval(payload, context);
}

/** No alert for a row that records the run, or an eval that every output passed. */
function expandGarakRow(payload: unknown): unknown[] {
  if (!isJsonObject(payload)) return [payload];
  const entryType = payload.entry_type;
  if (typeof entryType === 'string' && CONTEXT_ENTRY_TYPES.has(entryType)) return [];
  if (entryType === 'eval') {
    const passed = payload.passed;
    const total = payload.total_evaluated ?? payload.total;
    if (typeof passed === 'number' && passed === total) return [];
  }
  return [payload];
}

export const garakFormat: SourceFormat = {
  name: 'garak',
  description:
    'garak report JSONL rows (eval: a probe that failed; init/attempt/… rows carry no finding) and hitlog rows',
  detect: (payload) =>
    isJsonObject(payload) &&
    (isHitlogRow(payload) ||
      (typeof payload.entry_type === 'string' &&
        (CONTEXT_ENTRY_TYPES.has(payload.entry_type) ||
          (payload.entry_type === 'eval' &&
            typeof payload.probe === 'string' &&
            typeof payload.detector === 'string')))),
  normalize: normalizeGarakRow,
  expand: expandGarakRow,
};
