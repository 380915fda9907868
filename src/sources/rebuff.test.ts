import { afterEach, describe, expect, it, vi } from 'vitest';
import { WardenError } from '../core/errors.js';
import { rebuffFormat, severityIdFromRebuffScore } from './rebuff.js';
import { describeSourceFormatContract } from './source-format.contract.js';

/*
 * Payloads written from Rebuff's SDK types (protectai/rebuff): the JS SDK's
 * `DetectResponse` with `tacticResults` (`name` heuristic, language_model,
 * vector_db; `score`, `threshold`, `detected`, `additionalFields`), its
 * earlier `DetectResponse` / `DetectApiSuccessResponse` (`heuristicScore`,
 * `modelScore`, `vectorScore: {topScore, countOverMaxVectorScore}`,
 * `run*Check`, `max*Score`, `injectionDetected`), and the Python SDK's
 * `RebuffDetectionResponse` (`heuristic_score`, `openai_score`,
 * `vector_score`, `run_*_check`, `max_*_score`, `injection_detected`).
 * Values are made up.
 */

const jsTactics = {
  injectionDetected: true,
  tacticResults: [
    { name: 'heuristic', score: 0.81, detected: true, threshold: 0.75, additionalFields: {} },
    { name: 'language_model', score: 0.4, detected: false, threshold: 0.9, additionalFields: {} },
    {
      name: 'vector_db',
      score: 0.62,
      detected: false,
      threshold: 0.9,
      additionalFields: { countOverMaxVectorScore: 0 },
    },
  ],
};

const jsLegacy = {
  heuristicScore: 0.3,
  modelScore: 0.95,
  vectorScore: { topScore: 0.93, countOverMaxVectorScore: 2 },
  runHeuristicCheck: true,
  runVectorCheck: true,
  runLanguageModelCheck: true,
  maxHeuristicScore: 0.75,
  maxModelScore: 0.9,
  maxVectorScore: 0.9,
  injectionDetected: true,
};

const python = {
  heuristic_score: 0.6,
  model_score: 0.2,
  vector_score: 0.1,
  run_heuristic_check: true,
  run_vector_check: false,
  run_language_model_check: true,
  max_heuristic_score: 0.55,
  max_model_score: 0.9,
  max_vector_score: 0.9,
  injection_detected: true,
};

/** The Python SDK's older field name for the model score, and a vector score object. */
const pythonOpenAi = {
  heuristic_score: 0.1,
  openai_score: 0.45,
  vector_score: { top_score: 0.3, count_over_max_vector_score: 0 },
  run_heuristic_check: true,
  run_vector_check: true,
  run_language_model_check: true,
  max_heuristic_score: 0.75,
  max_model_score: 0.9,
  max_vector_score: 0.9,
  injection_detected: true,
};

const passed = {
  ...jsLegacy,
  modelScore: 0.1,
  vectorScore: { topScore: 0.2 },
  injectionDetected: false,
};

function errorOf(payload: unknown): WardenError {
  try {
    rebuffFormat.normalize(payload);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected normalize to throw');
}

const errorCases: Array<[string, unknown, 'missing_field' | 'invalid_field', string]> = [
  ['a non-object payload', 'injection', 'invalid_field', '(root)'],
  ['no verdict', { heuristicScore: 0.9 }, 'missing_field', 'injectionDetected'],
  [
    'the verdict as text',
    { injection_detected: 'true', heuristic_score: 0.9 },
    'invalid_field',
    'injection_detected',
  ],
  [
    'tacticResults as an object',
    { injectionDetected: true, tacticResults: {} },
    'invalid_field',
    'tacticResults',
  ],
  [
    'a tactic score as text',
    { injectionDetected: true, tacticResults: [{ name: 'heuristic', score: 'high' }] },
    'invalid_field',
    'tacticResults[0].score',
  ],
  [
    'a score as text',
    { injectionDetected: true, heuristicScore: '0.9' },
    'invalid_field',
    'heuristicScore',
  ],
  [
    'a vector score without its top score',
    { injection_detected: true, vector_score: { count_over_max_vector_score: 1 } },
    'missing_field',
    'vector_score.top_score',
  ],
  ['a prompt that passed', passed, 'invalid_field', 'injectionDetected'],
];

describeSourceFormatContract(rebuffFormat, {
  valid: [jsTactics, jsLegacy, python, pythonOpenAi],
  invalid: errorCases.map(([, payload]) => payload),
});

describe('rebuffFormat.normalize', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('maps the JS tactics response, with the sender context', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
    expect(rebuffFormat.normalize(jsTactics, { model: 'support-bot', user: 'u-1' })).toEqual({
      source: { format: 'rebuff', product: 'Rebuff', vendor: 'Protect AI' },
      type: 'prompt_injection',
      title: 'Rebuff detected prompt injection: heuristic',
      description:
        'Scores: heuristic 0.81 (threshold 0.75), language model 0.4 (threshold 0.9), vector DB 0.62 (threshold 0.9); 0 known attacks over the vector threshold',
      severityId: 4,
      firstSeen: '2026-11-26T12:00:00.000Z',
      lastSeen: '2026-11-26T12:00:00.000Z',
      count: 1,
      observables: {
        ips: [],
        cidrs: [],
        users: ['u-1'],
        apiKeyIds: [],
        sessionIds: [],
        urls: [],
        model: { id: 'support-bot' },
        toolCalls: [],
      },
      atlasTechniques: ['AML.T0051.000'],
      raw: jsTactics,
    });
  });

  it('reads the earlier JS shape, its vector top score and matches', () => {
    const draft = rebuffFormat.normalize(jsLegacy);
    expect(draft).toMatchObject({
      title: 'Rebuff detected prompt injection: language model, vector DB',
      description:
        'Scores: heuristic 0.3 (threshold 0.75), language model 0.95 (threshold 0.9), vector DB 0.93 (threshold 0.9); 2 known attacks over the vector threshold',
      severityId: 4,
    });
    expect(draft.dedupKey).toBeUndefined();
  });

  it('reads the Python SDK shape, leaving out checks that did not run', () => {
    expect(rebuffFormat.normalize(python)).toMatchObject({
      title: 'Rebuff detected prompt injection: heuristic',
      description: 'Scores: heuristic 0.6 (threshold 0.55), language model 0.2 (threshold 0.9)',
      severityId: 3,
    });
  });

  it('reads openai_score as the model score, and a verdict no check explains', () => {
    expect(rebuffFormat.normalize(pythonOpenAi)).toMatchObject({
      title: 'Rebuff detected prompt injection',
      severityId: 2,
    });
  });

  it('keeps a check over its threshold even when the verdict is false', () => {
    expect(
      rebuffFormat.normalize({ ...jsLegacy, modelScore: 0.1, injectionDetected: false }),
    ).toMatchObject({ title: 'Rebuff detected prompt injection: vector DB', severityId: 4 });
  });

  it('reads a verdict with no score as Medium', () => {
    expect(rebuffFormat.normalize({ injectionDetected: true, tacticResults: [] })).toMatchObject({
      title: 'Rebuff detected prompt injection',
      severityId: 3,
    });
  });

  it.each(errorCases)('rejects %s', (_label, payload, code, field) => {
    const error = errorOf(payload);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
  });

  it('explains a prompt that passed', () => {
    expect(errorOf(passed).message).toContain('nothing to alert on');
  });
});

describe('severityIdFromRebuffScore', () => {
  it.each([
    [0, 2],
    [0.49, 2],
    [0.5, 3],
    [0.79, 3],
    [0.8, 4],
    [1, 4],
  ])('reads score %d as severity id %d', (score, id) => {
    expect(severityIdFromRebuffScore(score)).toBe(id);
  });
});
