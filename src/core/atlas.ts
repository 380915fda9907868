import type { AlertType } from './alert.js';

/**
 * The MITRE ATLAS techniques Warden maps alerts to (ATLAS data v5.6).
 * Names and tactics are Warden's own table of the public ids; the full data
 * set is not bundled.
 */
export interface AtlasTechnique {
  id: string;
  name: string;
  tactics: string[];
}

const TECHNIQUES: AtlasTechnique[] = [
  { id: 'AML.T0010', name: 'AI Supply Chain Compromise', tactics: ['Initial Access'] },
  { id: 'AML.T0010.002', name: 'AI Supply Chain Compromise: Data', tactics: ['Initial Access'] },
  { id: 'AML.T0010.003', name: 'AI Supply Chain Compromise: Model', tactics: ['Initial Access'] },
  { id: 'AML.T0012', name: 'Valid Accounts', tactics: ['Initial Access', 'Privilege Escalation'] },
  { id: 'AML.T0018', name: 'Manipulate AI Model', tactics: ['Persistence', 'AI Attack Staging'] },
  { id: 'AML.T0019', name: 'Publish Poisoned Datasets', tactics: ['Resource Development'] },
  {
    id: 'AML.T0020',
    name: 'Poison Training Data',
    tactics: ['Resource Development', 'Persistence'],
  },
  { id: 'AML.T0024', name: 'Exfiltration via AI Inference API', tactics: ['Exfiltration'] },
  { id: 'AML.T0024.002', name: 'Extract AI Model', tactics: ['Exfiltration'] },
  { id: 'AML.T0029', name: 'Denial of AI Service', tactics: ['Impact'] },
  { id: 'AML.T0031', name: 'Erode AI Model Integrity', tactics: ['Impact'] },
  { id: 'AML.T0034', name: 'Cost Harvesting', tactics: ['Impact'] },
  { id: 'AML.T0034.000', name: 'Cost Harvesting: Excessive Queries', tactics: ['Impact'] },
  { id: 'AML.T0040', name: 'AI Model Inference API Access', tactics: ['AI Model Access'] },
  { id: 'AML.T0048', name: 'External Harms', tactics: ['Impact'] },
  { id: 'AML.T0051', name: 'LLM Prompt Injection', tactics: ['Execution'] },
  { id: 'AML.T0051.000', name: 'LLM Prompt Injection: Direct', tactics: ['Execution'] },
  { id: 'AML.T0051.001', name: 'LLM Prompt Injection: Indirect', tactics: ['Execution'] },
  {
    id: 'AML.T0053',
    name: 'AI Agent Tool Invocation',
    tactics: ['Execution', 'Privilege Escalation'],
  },
  { id: 'AML.T0054', name: 'LLM Jailbreak', tactics: ['Privilege Escalation', 'Defense Evasion'] },
  { id: 'AML.T0055', name: 'Unsecured Credentials', tactics: ['Credential Access'] },
  { id: 'AML.T0056', name: 'Extract LLM System Prompt', tactics: ['Exfiltration'] },
  { id: 'AML.T0057', name: 'LLM Data Leakage', tactics: ['Exfiltration'] },
  { id: 'AML.T0059', name: 'Erode Dataset Integrity', tactics: ['Impact'] },
  { id: 'AML.T0070', name: 'RAG Poisoning', tactics: ['Persistence'] },
  { id: 'AML.T0086', name: 'Exfiltration via AI Agent Tool Invocation', tactics: ['Exfiltration'] },
];

const BY_ID = new Map(TECHNIQUES.map((t) => [t.id, t]));

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

export function atlasTechnique(id: string): AtlasTechnique | undefined {
  return BY_ID.get(id);
}

/** The source's own technique ids when it gave any, else the type's defaults. */
export function atlasTechniquesFor(type: AlertType, fromSource: readonly string[]): string[] {
  const valid = fromSource.filter(isAtlasTechniqueId);
  return valid.length > 0 ? [...new Set(valid)] : [...DEFAULT_TECHNIQUES[type]];
}
