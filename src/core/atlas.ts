import type { AlertType } from './alert.js';

/**
 * How alerts get MITRE ATLAS technique ids. The names and tactics of the ids
 * are Warden's shipped table in `atlas-techniques.ts`.
 */

/** Techniques an alert type implies when the source names none. */
const DEFAULT_TECHNIQUES: Record<AlertType, string[]> = {
  prompt_injection: ['AML.T0051'],
  jailbreak: ['AML.T0054'],
  output_policy_violation: ['AML.T0048'],
  agent_tool_anomaly: ['AML.T0053'],
  model_drift: ['AML.T0031'],
  model_integrity: ['AML.T0018', 'AML.T0010.003'],
  training_pipeline_anomaly: ['AML.T0020'],
  inference_spike: ['AML.T0040', 'AML.T0029'],
  data_poisoning: ['AML.T0020', 'AML.T0059'],
  data_exfiltration: ['AML.T0024', 'AML.T0057'],
  cost_harvesting: ['AML.T0034'],
  credential_misuse: ['AML.T0012'],
  other: [],
};

const TECHNIQUE_ID = /^AML\.T\d{4}(\.\d{3})?$/;

export function isAtlasTechniqueId(id: string): boolean {
  return TECHNIQUE_ID.test(id);
}

/** The source's own technique ids when it gave any, else the type's defaults. */
export function atlasTechniquesFor(type: AlertType, fromSource: readonly string[]): string[] {
  const valid = fromSource.filter(isAtlasTechniqueId);
  return valid.length > 0 ? [...new Set(valid)] : [...DEFAULT_TECHNIQUES[type]];
}
