import type { AlertType, SeverityId } from './alert.js';
import type { ModelTier } from './inventory.js';

/** The least severity an alert type warrants whatever its source said. */
const TYPE_FLOOR: Record<AlertType, SeverityId> = {
  data_poisoning: 4,
  model_integrity: 4,
  data_exfiltration: 4,
  credential_misuse: 4,
  prompt_injection: 3,
  jailbreak: 3,
  agent_tool_anomaly: 3,
  inference_spike: 3,
  cost_harvesting: 3,
  training_pipeline_anomaly: 3,
  output_policy_violation: 2,
  model_drift: 2,
  other: 1,
};

export interface CaseSeverityInput {
  maxAlertSeverity: SeverityId;
  alertTypes: readonly AlertType[];
  tier: ModelTier | undefined;
  /** Every alert in the case came from an allow-listed source range. */
  allAllowlisted: boolean;
}

export interface CaseSeverity {
  severityId: SeverityId;
  reason: string;
}

const clamp = (n: number, lo: number, hi: number): SeverityId =>
  Math.max(lo, Math.min(hi, n)) as SeverityId;

/**
 * Severity of a case: the highest alert severity, raised to the floor of the
 * worst alert type, one step up for a tier-1 model and one down for tier 3,
 * capped at Low when every alert came from an allow-listed range.
 */
export function caseSeverityOf(input: CaseSeverityInput): CaseSeverity {
  const reasons: string[] = [`highest alert severity ${input.maxAlertSeverity}`];
  let severity: number = input.maxAlertSeverity;
  for (const type of input.alertTypes) {
    if (TYPE_FLOOR[type] > severity) {
      severity = TYPE_FLOOR[type];
      reasons.push(`raised to ${severity} for ${type}`);
    }
  }
  if (input.tier === 1 && severity < 5) {
    severity += 1;
    reasons.push('+1 for a tier-1 model');
  } else if (input.tier === 3 && severity > 1) {
    severity -= 1;
    reasons.push('-1 for a tier-3 model');
  }
  if (input.allAllowlisted && severity > 2) {
    severity = 2;
    reasons.push('capped at 2: all sources allow-listed');
  }
  return { severityId: clamp(severity, 1, 6), reason: reasons.join('; ') };
}
