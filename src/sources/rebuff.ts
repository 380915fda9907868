import type { AlertDraft, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { sourceContextObservables } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { isoTime } from './time-field.js';
import { arrayAt, objectAt, textAt } from './vendor-fields.js';

/**
 * Rebuff (Protect AI) prompt-injection detection responses, in the shapes its
 * SDKs return:
 * - JS SDK `detectInjection` (tactics): `injectionDetected`, `tacticResults[]`
 *   of `{name: heuristic|language_model|vector_db, score, threshold, detected,
 *   additionalFields}`;
 * - JS SDK and hosted API (before tactics): `injectionDetected`,
 *   `heuristicScore`, `modelScore`, `vectorScore: {topScore,
 *   countOverMaxVectorScore}`, `runHeuristicCheck`, `runVectorCheck`,
 *   `runLanguageModelCheck`, `maxHeuristicScore`, `maxModelScore`, `maxVectorScore`;
 * - Python SDK `detect_injection`: the same in snake_case (`injection_detected`,
 *   `heuristic_score`, `model_score` or `openai_score`, `vector_score` as a
 *   number or `{top_score, count_over_max_vector_score}`, `run_*_check`, `max_*_score`).
 * Rebuff detects only prompt injection. The response names no model, session,
 * user or time: those come from the sender context and the time of receipt.
 */

const WHERE = 'Rebuff response';
const FORMAT = 'rebuff';

/** One check Rebuff ran on the input. */
export interface RebuffCheck {
  /** Short label: `heuristic`, `language model`, `vector DB`, or a tactic's own name. */
  label: string;
  score: number;
  threshold: number | undefined;
  /** The score went over the threshold. */
  detected: boolean;
}

/** An injection verdict with no score to band (no check reported one) reads as Medium. */
const UNSCORED_SEVERITY: SeverityId = 3;

const TACTIC_LABELS: Readonly<Record<string, string>> = {
  heuristic: 'heuristic',
  language_model: 'language model',
  vector_db: 'vector DB',
};

/**
 * The highest score of the checks that ran, in bands: 0.8 and above High,
 * 0.5 to 0.8 Medium, below 0.5 Low. Rebuff's scores are similarities and
 * probabilities in 0..1 and its default thresholds are 0.75 (heuristic) and
 * 0.9 (model, vector), so a default detection is High. No band is Critical:
 * one verdict on one prompt, which the caller can still block.
 */
export function severityIdFromRebuffScore(score: number): SeverityId {
  if (score >= 0.8) return 4;
  if (score >= 0.5) return 3;
  return 2;
}

function scoreAt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidField(field, 'must be a number', WHERE);
  }
  return value;
}

function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function checkOf(label: string, score: number, threshold: number | undefined): RebuffCheck {
  return { label, score, threshold, detected: threshold !== undefined && score > threshold };
}

function tacticChecks(payload: JsonObject): RebuffCheck[] {
  const tactics = payload.tacticResults;
  if (!Array.isArray(tactics)) throw invalidField('tacticResults', 'must be an array', WHERE);
  return tactics.map((item, index) => {
    const field = `tacticResults[${index}]`;
    if (!isJsonObject(item)) throw invalidField(field, 'must be an object', WHERE);
    const name = textAt(item.name) ?? 'tactic';
    const score = scoreAt(item.score, `${field}.score`);
    const check = checkOf(TACTIC_LABELS[name] ?? name, score, optionalNumber(item.threshold));
    return typeof item.detected === 'boolean' ? { ...check, detected: item.detected } : check;
  });
}

interface ScoreFields {
  score: string[];
  run: string;
  max: string;
  label: string;
}

const CAMEL_CHECKS: readonly ScoreFields[] = [
  {
    score: ['heuristicScore'],
    run: 'runHeuristicCheck',
    max: 'maxHeuristicScore',
    label: 'heuristic',
  },
  {
    score: ['modelScore'],
    run: 'runLanguageModelCheck',
    max: 'maxModelScore',
    label: 'language model',
  },
  { score: ['vectorScore'], run: 'runVectorCheck', max: 'maxVectorScore', label: 'vector DB' },
];

const SNAKE_CHECKS: readonly ScoreFields[] = [
  {
    score: ['heuristic_score'],
    run: 'run_heuristic_check',
    max: 'max_heuristic_score',
    label: 'heuristic',
  },
  {
    score: ['model_score', 'openai_score'],
    run: 'run_language_model_check',
    max: 'max_model_score',
    label: 'language model',
  },
  { score: ['vector_score'], run: 'run_vector_check', max: 'max_vector_score', label: 'vector DB' },
];

/** The vector score is a number, or an object whose top score counts. */
function vectorTopScore(value: unknown, field: string): number {
  if (!isJsonObject(value)) return scoreAt(value, field);
  const key = field === 'vector_score' ? 'top_score' : 'topScore';
  const top = value[key];
  if (top === undefined || top === null) throw missingField(`${field}.${key}`, WHERE);
  return scoreAt(top, `${field}.${key}`);
}

/** The score checks of the pre-tactics shapes: a check that did not run is left out. */
function scoreChecks(payload: JsonObject, fields: readonly ScoreFields[]): RebuffCheck[] {
  return fields.flatMap((check): RebuffCheck[] => {
    const key = check.score.find((name) => payload[name] !== undefined && payload[name] !== null);
    if (key === undefined || payload[check.run] === false) return [];
    const score =
      check.label === 'vector DB' ? vectorTopScore(payload[key], key) : scoreAt(payload[key], key);
    return [checkOf(check.label, score, optionalNumber(payload[check.max]))];
  });
}

/** How many stored attacks the input came close to, when Rebuff says. */
function vectorMatches(payload: JsonObject): number | undefined {
  const tactic = arrayAt(payload.tacticResults).find(
    (t) => isJsonObject(t) && t.name === 'vector_db',
  );
  const fromTactic = objectAt(objectAt(tactic).additionalFields).countOverMaxVectorScore;
  const vector = objectAt(payload.vectorScore ?? payload.vector_score);
  return optionalNumber(
    fromTactic ?? vector.countOverMaxVectorScore ?? vector.count_over_max_vector_score,
  );
}

function readVerdict(payload: JsonObject): { field: string; detected: boolean } {
  const field = 'injection_detected' in payload ? 'injection_detected' : 'injectionDetected';
  const value = payload[field];
  if (value === undefined || value === null) throw missingField(field, WHERE);
  if (typeof value !== 'boolean') throw invalidField(field, 'must be true or false', WHERE);
  return { field, detected: value };
}

function formatCheck(check: RebuffCheck): string {
  return check.threshold === undefined
    ? `${check.label} ${check.score}`
    : `${check.label} ${check.score} (threshold ${check.threshold})`;
}

export function normalizeRebuffResponse(payload: unknown, context?: SourceContext): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const verdict = readVerdict(payload);
  const checks =
    'tacticResults' in payload
      ? tacticChecks(payload)
      : scoreChecks(payload, verdict.field === 'injection_detected' ? SNAKE_CHECKS : CAMEL_CHECKS);
  const detected = checks.filter((c) => c.detected);
  if (!verdict.detected && detected.length === 0) {
    throw invalidField(
      verdict.field,
      'is false and no check scored over its threshold: nothing to alert on',
      WHERE,
    );
  }
  const highest = checks.reduce<number | undefined>(
    (max, c) => (max === undefined || c.score > max ? c.score : max),
    undefined,
  );
  const matches = vectorMatches(payload);
  const details = checks.map(formatCheck).join(', ');
  const description = [
    ...(details === '' ? [] : [`Scores: ${details}`]),
    ...(matches === undefined ? [] : [`${matches} known attacks over the vector threshold`]),
  ].join('; ');
  const now = isoTime(Date.now());

  const draft: AlertDraft = {
    source: { format: FORMAT, product: 'Rebuff', vendor: 'Protect AI' },
    type: 'prompt_injection',
    // Scores stay out of the title so repeats of one verdict fold into one alert.
    title:
      detected.length > 0
        ? `Rebuff detected prompt injection: ${detected.map((c) => c.label).join(', ')}`
        : 'Rebuff detected prompt injection',
    severityId: highest === undefined ? UNSCORED_SEVERITY : severityIdFromRebuffScore(highest),
    firstSeen: now,
    lastSeen: now,
    count: 1,
    observables: sourceContextObservables(context),
    // Rebuff screens the user's own input: direct injection.
    atlasTechniques: atlasTechniquesFor('prompt_injection', ['AML.T0051.000']),
    raw: payload,
  };
  if (description !== '') draft.description = description;
  return draft;
}

function isScore(value: unknown): boolean {
  return (typeof value === 'number' && Number.isFinite(value)) || isJsonObject(value);
}

/** The injection verdict with the tactic results or at least one of the shape's scores. */
function isRebuffResponse(payload: JsonObject): boolean {
  if (typeof payload.injectionDetected === 'boolean') {
    return (
      Array.isArray(payload.tacticResults) ||
      typeof payload.heuristicScore === 'number' ||
      typeof payload.modelScore === 'number' ||
      isScore(payload.vectorScore)
    );
  }
  if (typeof payload.injection_detected === 'boolean') {
    return (
      typeof payload.heuristic_score === 'number' ||
      typeof payload.model_score === 'number' ||
      typeof payload.openai_score === 'number' ||
      isScore(payload.vector_score)
    );
  }
  return false;
}

export const rebuffFormat: SourceFormat = {
  name: FORMAT,
  description: 'Rebuff prompt-injection detection response (JS or Python SDK)',
  detect: (payload) => isJsonObject(payload) && isRebuffResponse(payload),
  normalize: normalizeRebuffResponse,
};
