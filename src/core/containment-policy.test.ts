import { describe, expect, it } from 'vitest';
import type { AlertType } from './alert.js';
import {
  BUILTIN_CELLS,
  BUILTIN_CONTAINMENT_POLICY,
  CONTAINMENT_INTENTS,
  HIGH_IMPACT_INTENTS,
  decideContainment,
  decideInCell,
  describeDecision,
  explainContainment,
  type ContainmentCell,
  type ContainmentPolicy,
} from './containment-policy.js';
import type { ModelTier } from './inventory.js';

function alert(type: AlertType, tier?: ModelTier) {
  return { type, enrichment: tier === undefined ? {} : { tier } };
}

function cell(lists: Partial<ContainmentCell>): ContainmentCell {
  return {
    automatic: [],
    approval: [],
    notifyOnly: [],
    approvers: ['responder', 'admin'],
    ...lists,
  };
}

describe('the built-in policy', () => {
  const builtin = BUILTIN_CONTAINMENT_POLICY;

  it('requires approval for every high-impact action on a tier-1 model', () => {
    for (const intent of HIGH_IMPACT_INTENTS) {
      expect(decideContainment(alert('inference_spike', 1), intent, builtin)).toEqual({
        intent,
        mode: 'approval',
        approvers: ['responder', 'admin'],
      });
    }
    expect(decideContainment(alert('inference_spike', 1), 'page_oncall', builtin).mode).toBe(
      'automatic',
    );
  });

  it('on tier 2 asks only before changing the model itself', () => {
    const modes = explainContainment(alert('data_poisoning', 2), builtin).decisions;
    const approval = modes.filter((d) => d.mode === 'approval').map((d) => d.intent);
    expect(approval.sort()).toEqual(['quarantine_model', 'rollback_model']);
    expect(modes.filter((d) => d.mode === 'automatic')).toHaveLength(9);
  });

  it('lets tier 3 act on everything, and asks first when no model matched', () => {
    expect(
      explainContainment(alert('jailbreak', 3), builtin).decisions.every(
        (d) => d.mode === 'automatic',
      ),
    ).toBe(true);
    const untiered = explainContainment(alert('jailbreak'), builtin);
    expect(untiered.tier).toBe('untiered');
    expect(decideContainment(alert('jailbreak'), 'block_source', builtin).mode).toBe('approval');
    expect(decideContainment(alert('jailbreak'), 'notify_owner', builtin).mode).toBe('automatic');
  });

  it('says it is the built-in policy', () => {
    const explanation = explainContainment(alert('model_drift', 1), builtin);
    expect(explanation).toMatchObject({ layer: 'builtin', field: 'builtin.tier1' });
    expect(explanation.reason).toContain('no policy file');
    expect(explanation.cell).toBe(BUILTIN_CELLS.tier1);
  });
});

describe('defaults and overrides', () => {
  const policy: ContainmentPolicy = {
    file: 'policy.yaml',
    defaults: {
      tier1: cell({ automatic: ['notify_owner'], approval: ['block_source', 'rollback_model'] }),
      '*': cell({ automatic: ['notify_owner', 'block_source'] }),
    },
    types: {
      data_poisoning: {
        tier1: cell({
          automatic: ['quarantine_dataset'],
          approval: ['quarantine_model'],
          approvers: ['admin'],
        }),
      },
      model_drift: {
        '*': cell({ automatic: ['open_ticket'], notifyOnly: ['rollback_model'] }),
        tier3: cell({ automatic: ['rollback_model'] }),
      },
    },
  };

  it('uses the defaults for a type without an override', () => {
    const explanation = explainContainment(alert('inference_spike', 1), policy);
    expect(explanation).toMatchObject({ layer: 'defaults', field: 'defaults.tier1' });
    expect(explanation.reason).toBe(
      'no override for inference_spike on tier-1 models, so defaults.tier1 applies',
    );
    expect(decideContainment(alert('inference_spike', 2), 'block_source', policy).mode).toBe(
      'automatic',
    );
    expect(explainContainment(alert('inference_spike'), policy).field).toBe('defaults."*"');
  });

  it('replaces the default cell whole with an override: nothing is merged', () => {
    const explanation = explainContainment(alert('data_poisoning', 1), policy);
    expect(explanation).toMatchObject({ layer: 'override', field: 'types.data_poisoning.tier1' });
    // notify_owner is automatic in defaults.tier1 but not listed in the override.
    expect(decideContainment(alert('data_poisoning', 1), 'notify_owner', policy).mode).toBe(
      'forbidden',
    );
    expect(decideContainment(alert('data_poisoning', 1), 'quarantine_model', policy)).toEqual({
      intent: 'quarantine_model',
      mode: 'approval',
      approvers: ['admin'],
    });
    // Other tiers of the same type still use the defaults.
    expect(explainContainment(alert('data_poisoning', 2), policy).field).toBe('defaults."*"');
  });

  it('prefers a type\'s own tier over its "*" cell, and its "*" cell over the defaults', () => {
    expect(explainContainment(alert('model_drift', 3), policy).field).toBe(
      'types.model_drift.tier3',
    );
    expect(explainContainment(alert('model_drift', 1), policy).field).toBe('types.model_drift."*"');
    expect(explainContainment(alert('model_drift'), policy).field).toBe('types.model_drift."*"');
    expect(decideContainment(alert('model_drift', 1), 'rollback_model', policy).mode).toBe(
      'notify_only',
    );
  });

  it('falls back to the built-in cell for a tier the file leaves unset', () => {
    const partial: ContainmentPolicy = { file: 'policy.yaml', defaults: {}, types: {} };
    const explanation = explainContainment(alert('jailbreak', 2), partial);
    expect(explanation.layer).toBe('builtin');
    expect(explanation.reason).toContain('policy.yaml sets neither');
  });

  it('decides every intent, in vocabulary order', () => {
    const { decisions } = explainContainment(alert('data_poisoning', 1), policy);
    expect(decisions.map((d) => d.intent)).toEqual([...CONTAINMENT_INTENTS]);
    expect(decisions.map(describeDecision)).toContain('approval by admin');
  });
});

describe('decideInCell', () => {
  it('fails safe when a hand-built cell lists an intent twice', () => {
    const twice = cell({ automatic: ['block_source'], approval: ['block_source'] });
    expect(decideInCell(twice, 'block_source').mode).toBe('approval');
    const thrice = cell({ automatic: ['block_user'], notifyOnly: ['block_user'] });
    expect(decideInCell(thrice, 'block_user').mode).toBe('notify_only');
  });
});
