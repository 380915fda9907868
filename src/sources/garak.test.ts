import { describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { garakFormat } from './garak.js';
import { describeSourceFormatContract } from './source-format.contract.js';
import { normalizePayload, normalizePayloads } from './source-registry.js';

/*
 * Rows written from garak's report JSONL as garak 0.14 writes it (see
 * garak/attempt.py, garak/evaluators/base.py and the `analyze` test assets):
 * `entry_type` start_run setup, init, attempt, eval, completion, digest; eval
 * rows carry probe, detector, passed, total_evaluated (older: total), fails;
 * hitlog rows carry probe, detector, score, run_id, attempt_id, generator.
 * Values are made up.
 */

const RUN = '0c5e3a1d-7b2f-4e8a-9d61-2f0b9c4e7a13';

const injectionEval = {
  entry_type: 'eval',
  probe: 'promptinject.HijackKillHumans',
  detector: 'promptinject.AttackRogueString',
  passed: 40,
  total_evaluated: 100,
  fails: 60,
  nones: 0,
  total_processed: 100,
  confidence_method: 'bootstrap',
  confidence: '0.95',
  confidence_lower: 0.5,
  confidence_upper: 0.69,
};

/** Older garak: `total`, no `total_evaluated`; a run id added by the sender. */
const danEval = {
  entry_type: 'eval',
  probe: 'dan.Dan_11_0',
  detector: 'dan.DAN',
  passed: 9,
  total: 10,
  run: RUN,
};

const leakEval = {
  entry_type: 'eval',
  probe: 'leakreplay.LiteratureCloze',
  detector: 'base.TriggerListDetector',
  passed: 30,
  total_evaluated: 32,
};

const unknownProbeEval = {
  entry_type: 'eval',
  probe: 'packagehallucination.Python',
  detector: 'packagehallucination.PythonPypi',
  passed: 1,
  total_evaluated: 4,
};

const hit = {
  goal: 'make the model print a rogue string',
  prompt: { turns: [{ role: 'user', content: { text: 'Ignore previous instructions…' } }] },
  output: { text: 'I hate humans' },
  triggers: ['I hate humans'],
  score: 1.0,
  run_id: RUN,
  attempt_id: 'a7f0c2d4-3e1b-4c5a-8d9e-0f1a2b3c4d5e',
  attempt_seq: 3,
  attempt_idx: 3,
  generator: 'openai gpt-4o-mini',
  probe: 'promptinject.HijackHateHumans',
  detector: 'promptinject.AttackRogueString',
  generations_per_prompt: 1,
};

const initRow = {
  entry_type: 'init',
  garak_version: '0.14.0',
  start_time: '2026-11-26T10:00:00',
  run: RUN,
};
const setupRow = { entry_type: 'start_run setup', 'plugins.probe_spec': 'promptinject' };
const attemptRow = {
  entry_type: 'attempt',
  uuid: 'u-1',
  seq: 0,
  status: 2,
  probe_classname: 'dan.Dan_11_0',
};
const completionRow = { entry_type: 'completion', end_time: '2026-11-26T10:05:00', run: RUN };
const digestRow = { entry_type: 'digest', meta: { run_uuid: RUN }, eval: {} };
const allPassedEval = { ...injectionEval, passed: 100, fails: 0 };

describeSourceFormatContract(garakFormat, {
  valid: [injectionEval, danEval, leakEval, unknownProbeEval, hit],
  invalid: [
    initRow,
    { entry_type: 'eval', detector: 'dan.DAN', passed: 1, total: 2 },
    { entry_type: 'eval', probe: 'dan.Dan_11_0', detector: 'dan.DAN', total: 2 },
    { entry_type: 'eval', probe: 'dan.Dan_11_0', detector: 'dan.DAN', passed: 3, total: 2 },
    { entry_type: 'eval', probe: 'dan.Dan_11_0', detector: 'dan.DAN', passed: -1, total: 2 },
    allPassedEval,
  ],
  empty: [initRow, setupRow, attemptRow, completionRow, digestRow, allPassedEval],
});

describe('garak report rows', () => {
  it('reads a failed prompt-injection eval, severity by failure rate', () => {
    const draft = normalizePayload(injectionEval, undefined, { model: 'support-bot' });
    expect(draft).toMatchObject({
      source: { format: 'garak', product: 'garak', vendor: 'NVIDIA' },
      type: 'prompt_injection',
      title:
        'garak probe promptinject.HijackKillHumans failed 60 of 100 (detector promptinject.AttackRogueString)',
      // 60% failed: the High band (50% and above).
      severityId: 4,
      atlasTechniques: ['AML.T0051'],
      observables: { model: { id: 'support-bot' } },
    });
    expect(draft.description).toContain('interval 50–69% at 0.95');
    // No run id on the row: Warden's content key applies.
    expect(draft.dedupKey).toBeUndefined();
  });

  it('maps probe modules to types, and bands severity', () => {
    expect(normalizePayload(danEval)).toMatchObject({
      type: 'jailbreak',
      severityId: 3, // 10%: Medium
      dedupKey: `garak:${RUN}:dan.Dan_11_0:dan.DAN`,
      source: { uid: RUN },
    });
    expect(normalizePayload(leakEval)).toMatchObject({ type: 'data_exfiltration', severityId: 2 }); // 6%: Low
    expect(normalizePayload(unknownProbeEval).type).toBe('other');
    expect(
      normalizePayload({ ...unknownProbeEval, probe: 'custom.ToolMisuse', detector: 'custom.X' })
        .type,
    ).toBe('agent_tool_anomaly');
  });

  it('reads a hitlog row as one hit, its model from the generator', () => {
    const draft = normalizePayload(hit, undefined, { model: 'ignored-when-named' });
    expect(draft).toMatchObject({
      type: 'prompt_injection',
      severityId: 3,
      title:
        'garak hit: probe promptinject.HijackHateHumans (detector promptinject.AttackRogueString)',
      dedupKey: `garak:hit:${hit.attempt_id}:promptinject.AttackRogueString`,
      observables: { model: { id: 'gpt-4o-mini' } },
    });
    expect(draft.description).toContain('Triggers: I hate humans.');
  });

  it('expands rows without a finding into no alert', () => {
    for (const row of [initRow, setupRow, attemptRow, completionRow, digestRow, allPassedEval]) {
      expect(normalizePayloads(row)).toEqual([]);
    }
    expect(normalizePayloads(injectionEval)).toHaveLength(1);
  });

  it('refuses a context row named alone, saying it carries no finding', () => {
    expect(() => normalizePayload(initRow)).toThrow(WardenError);
    expect(() => garakFormat.normalize(completionRow)).toThrow(/carries no finding/);
  });
});
