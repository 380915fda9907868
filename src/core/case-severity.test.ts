import { describe, expect, it } from 'vitest';
import type { AlertType, SeverityId } from './alert.js';
import { caseSeverityOf, type CaseSeverityInput } from './case-severity.js';

function input(overrides: Partial<CaseSeverityInput>): CaseSeverityInput {
  return {
    maxAlertSeverity: 3,
    alertTypes: ['other'],
    tier: 2,
    allAllowlisted: false,
    ...overrides,
  };
}

const severityOf = (overrides: Partial<CaseSeverityInput>): SeverityId =>
  caseSeverityOf(input(overrides)).severityId;

describe('caseSeverityOf', () => {
  it('starts from the highest alert severity', () => {
    for (const s of [1, 2, 3, 4, 5, 6] as const) {
      expect(severityOf({ maxAlertSeverity: s })).toBe(s);
    }
    expect(caseSeverityOf(input({ maxAlertSeverity: 3 })).reason).toBe('highest alert severity 3');
  });

  it.each<[AlertType, SeverityId]>([
    ['data_poisoning', 4],
    ['model_integrity', 4],
    ['data_exfiltration', 4],
    ['credential_misuse', 4],
    ['prompt_injection', 3],
    ['jailbreak', 3],
    ['agent_tool_anomaly', 3],
    ['inference_spike', 3],
    ['cost_harvesting', 3],
    ['training_pipeline_anomaly', 3],
    ['output_policy_violation', 2],
    ['model_drift', 2],
    ['other', 1],
  ])('raises a low alert severity to the floor of %s (%i)', (type, floor) => {
    expect(severityOf({ maxAlertSeverity: 1, alertTypes: [type] })).toBe(floor);
  });

  it('uses the worst type of several and explains the raise', () => {
    const result = caseSeverityOf(
      input({ maxAlertSeverity: 1, alertTypes: ['model_drift', 'data_poisoning', 'jailbreak'] }),
    );
    expect(result.severityId).toBe(4);
    expect(result.reason).toContain('raised to 4 for data_poisoning');
  });

  it('never lowers an alert severity to a type floor', () => {
    expect(severityOf({ maxAlertSeverity: 5, alertTypes: ['model_drift'] })).toBe(5);
  });

  it('adds one for a tier-1 model, not past Critical', () => {
    const result = caseSeverityOf(input({ maxAlertSeverity: 3, tier: 1 }));
    expect(result.severityId).toBe(4);
    expect(result.reason).toContain('+1 for a tier-1 model');
    expect(severityOf({ maxAlertSeverity: 4, tier: 1 })).toBe(5);
    expect(severityOf({ maxAlertSeverity: 5, tier: 1 })).toBe(5);
    expect(severityOf({ maxAlertSeverity: 6, tier: 1 })).toBe(6);
  });

  it('takes one off for a tier-3 model, not below Informational', () => {
    const result = caseSeverityOf(input({ maxAlertSeverity: 4, tier: 3 }));
    expect(result.severityId).toBe(3);
    expect(result.reason).toContain('-1 for a tier-3 model');
    expect(severityOf({ maxAlertSeverity: 2, tier: 3 })).toBe(1);
    expect(severityOf({ maxAlertSeverity: 1, tier: 3 })).toBe(1);
    expect(caseSeverityOf(input({ maxAlertSeverity: 1, tier: 3 })).reason).not.toContain('tier-3');
  });

  it('leaves tier 2 and unknown tiers alone', () => {
    expect(severityOf({ maxAlertSeverity: 4, tier: 2 })).toBe(4);
    expect(severityOf({ maxAlertSeverity: 4, tier: undefined })).toBe(4);
  });

  it('applies the tier step after the type floor', () => {
    expect(severityOf({ maxAlertSeverity: 1, alertTypes: ['data_poisoning'], tier: 1 })).toBe(5);
    expect(severityOf({ maxAlertSeverity: 1, alertTypes: ['data_poisoning'], tier: 3 })).toBe(3);
  });

  it('caps at Low when every alert came from an allow-listed range', () => {
    const result = caseSeverityOf(
      input({
        maxAlertSeverity: 5,
        alertTypes: ['data_exfiltration'],
        tier: 1,
        allAllowlisted: true,
      }),
    );
    expect(result.severityId).toBe(2);
    expect(result.reason).toContain('capped at 2: all sources allow-listed');
    expect(severityOf({ maxAlertSeverity: 1, allAllowlisted: true })).toBe(1);
    expect(severityOf({ maxAlertSeverity: 5, allAllowlisted: false })).toBe(5);
  });

  it('never answers Unknown', () => {
    expect(severityOf({ maxAlertSeverity: 0, alertTypes: [], tier: 3 })).toBe(1);
    expect(severityOf({ maxAlertSeverity: 0, alertTypes: [] })).toBe(1);
  });
});
