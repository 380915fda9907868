import type { AlertDraft, AlertType, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { alertTypeFromKeywords } from './alert-type-inference.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { sourceContextObservables } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { isoTime } from './time-field.js';

/**
 * LLM Guard (Protect AI) API responses: `POST /analyze/prompt`
 * (`sanitized_prompt`, `is_valid`, `scanners`), `/analyze/output`
 * (`sanitized_output`, …), `/scan/prompt` and `/scan/output` (`is_valid`,
 * `scanners`). `scanners` maps each scanner that ran to its risk score in
 * -1..1: LLM Guard rescales every scanner's own score around its threshold,
 * so a score above 0 means the scanner failed the text and 1 is the highest
 * risk. The response names no model, session, user or time: those come from
 * the sender context and the time of receipt.
 */

const WHERE = 'LLM Guard response';
const FORMAT = 'llm-guard';

/** What a failing scanner means to Warden. */
export interface LlmGuardScannerMapping {
  type: AlertType;
  /** ATLAS ids the scanner implies; empty means "the alert type's defaults". */
  atlasTechniques: readonly string[];
}

type Direction = 'prompt' | 'output' | 'unknown';

const PROMPT_INJECTION: LlmGuardScannerMapping = {
  type: 'prompt_injection',
  atlasTechniques: ['AML.T0051.000'],
};
const DATA_LEAK: LlmGuardScannerMapping = {
  type: 'data_exfiltration',
  atlasTechniques: ['AML.T0057'],
};

/** Scanners whose meaning does not depend on what was scanned. */
const SCANNER_TYPES: Readonly<Record<string, LlmGuardScannerMapping>> = {
  PromptInjection: PROMPT_INJECTION,
  // Zero-width and tag characters smuggle instructions past a reader.
  InvisibleText: { type: 'prompt_injection', atlasTechniques: ['AML.T0051'] },
  Secrets: DATA_LEAK,
  Anonymize: DATA_LEAK,
  Sensitive: DATA_LEAK,
};

/**
 * Content-policy scanners: a policy violation when they fail on the model's
 * output; on a prompt (or when it is unknown what was scanned) Warden has no
 * type for "the user wrote something off-policy", so they read as `other`.
 */
const POLICY_SCANNERS = new Set([
  'BanCode',
  'BanCompetitors',
  'BanSubstrings',
  'BanTopics',
  'Bias',
  'Code',
  'FactualConsistency',
  'Gibberish',
  'JSON',
  'Language',
  'LanguageSame',
  'MaliciousURLs',
  'NoRefusal',
  'ReadingTime',
  'Regex',
  'Relevance',
  'Sentiment',
  'Toxicity',
  'URLReachability',
]);

/** Scanners LLM Guard offers on only one side, which tell a `/scan/*` response's side. */
const PROMPT_ONLY = new Set([
  'Anonymize',
  'InvisibleText',
  'PromptInjection',
  'Secrets',
  'TokenLimit',
]);
const OUTPUT_ONLY = new Set([
  'Bias',
  'Deanonymize',
  'FactualConsistency',
  'JSON',
  'LanguageSame',
  'MaliciousURLs',
  'NoRefusal',
  'ReadingTime',
  'Relevance',
  'Sensitive',
  'URLReachability',
]);

const DIRECTION_LABEL: Record<Direction, string> = {
  prompt: 'prompt',
  output: 'output',
  unknown: 'text',
};

/**
 * Maps a failing scanner to an alert type: the table above, then keywords in
 * the scanner's name (a custom `Jailbreak` scanner reads as `jailbreak`),
 * else `other`.
 */
export function classifyLlmGuardScanner(
  scanner: string,
  direction: Direction,
): LlmGuardScannerMapping {
  const known = SCANNER_TYPES[scanner];
  if (known) return known;
  if (POLICY_SCANNERS.has(scanner)) {
    return direction === 'output'
      ? { type: 'output_policy_violation', atlasTechniques: [] }
      : { type: 'other', atlasTechniques: [] };
  }
  return { type: alertTypeFromKeywords([scanner]) ?? 'other', atlasTechniques: [] };
}

/**
 * The highest risk score of the failing scanners in bands: above 0 to 0.4
 * Low, 0.4 to 0.8 Medium, 0.8 to 1 High. No band is Critical: one verdict on
 * one text, which the caller could still block, is not an emergency on its
 * own; correlation and tiering raise a case that needs it.
 */
export function severityIdFromLlmGuardRisk(risk: number): SeverityId {
  if (risk >= 0.8) return 4;
  if (risk >= 0.4) return 3;
  return 2;
}

function readIsValid(payload: JsonObject): boolean {
  const value = payload.is_valid;
  if (value === undefined || value === null) throw missingField('is_valid', WHERE);
  if (typeof value !== 'boolean') throw invalidField('is_valid', 'must be true or false', WHERE);
  return value;
}

function readScores(payload: JsonObject): [string, number][] {
  const value = payload.scanners;
  if (value === undefined || value === null) throw missingField('scanners', WHERE);
  if (!isJsonObject(value)) {
    throw invalidField('scanners', 'must be an object of scanner name to risk score', WHERE);
  }
  return Object.entries(value).map(([name, score]) => {
    if (typeof score !== 'number' || !Number.isFinite(score) || score < -1 || score > 1) {
      throw invalidField(`scanners.${name}`, 'must be a risk score from -1 to 1', WHERE);
    }
    return [name, score];
  });
}

function directionOf(payload: JsonObject, scanners: readonly string[]): Direction {
  if ('sanitized_prompt' in payload) return 'prompt';
  if ('sanitized_output' in payload) return 'output';
  if (scanners.some((name) => PROMPT_ONLY.has(name))) return 'prompt';
  if (scanners.some((name) => OUTPUT_ONLY.has(name))) return 'output';
  return 'unknown';
}

export function normalizeLlmGuardResponse(payload: unknown, context?: SourceContext): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const isValid = readIsValid(payload);
  const scores = readScores(payload);
  // Highest risk first; equal scores keep LLM Guard's order.
  const failing = scores.filter(([, score]) => score > 0).sort((a, b) => b[1] - a[1]);
  if (isValid && failing.length === 0) {
    throw invalidField(
      'is_valid',
      'is true and no scanner scored above its threshold: nothing to alert on, the scan passed',
      WHERE,
    );
  }
  const direction = directionOf(
    payload,
    scores.map(([name]) => name),
  );
  const mappings = failing.map(([name]) => classifyLlmGuardScanner(name, direction));
  // The riskiest scanner that maps to a Warden type names the alert.
  const lead = mappings.find((m) => m.type !== 'other') ?? mappings[0];
  const type = lead?.type ?? 'other';
  const techniques = mappings.filter((m) => m.type === type).flatMap((m) => m.atlasTechniques);
  const risk = failing[0]?.[1];
  const now = isoTime(Date.now());
  const side = DIRECTION_LABEL[direction];
  const names = failing.map(([name]) => name);

  const draft: AlertDraft = {
    source: { format: FORMAT, product: 'LLM Guard', vendor: 'Protect AI' },
    type,
    // Scores stay out of the title so repeats of one verdict fold into one alert.
    title:
      names.length > 0
        ? `LLM Guard flagged ${side}: ${names.join(', ')}`
        : `LLM Guard found the ${side} invalid`,
    description: `Risk scores (above 0 fails): ${scores
      .map(([name, score]) => `${name} ${score}`)
      .join(', ')}`,
    // is_valid false with no scanner above 0 is LLM Guard's own verdict with no score to band.
    severityId: risk === undefined ? 2 : severityIdFromLlmGuardRisk(risk),
    firstSeen: now,
    lastSeen: now,
    count: 1,
    observables: sourceContextObservables(context),
    atlasTechniques: atlasTechniquesFor(type, techniques),
    raw: payload,
  };
  return draft;
}

export const llmGuardFormat: SourceFormat = {
  name: FORMAT,
  description:
    'LLM Guard API response (/analyze/prompt, /analyze/output, /scan/prompt, /scan/output)',
  detect: (payload) =>
    isJsonObject(payload) &&
    typeof payload.is_valid === 'boolean' &&
    isJsonObject(payload.scanners),
  normalize: normalizeLlmGuardResponse,
};
