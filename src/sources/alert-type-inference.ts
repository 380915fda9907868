import type { AlertType } from '../core/alert.js';

/**
 * Infers an alert type for formats that carry none of Warden's own: from
 * MITRE ATLAS technique ids first, then from keywords in the alert's names.
 * Every format that infers types uses these tables, so one detection reads as
 * the same type whichever format delivers it.
 */

/** ATLAS technique id prefixes → alert type, most specific first. */
const TYPE_BY_TECHNIQUE: ReadonlyArray<readonly [AlertType, readonly string[]]> = [
  ['prompt_injection', ['AML.T0051']],
  ['jailbreak', ['AML.T0054']],
  ['data_poisoning', ['AML.T0020', 'AML.T0019', 'AML.T0059', 'AML.T0070', 'AML.T0010.002']],
  ['model_integrity', ['AML.T0018', 'AML.T0010.003', 'AML.T0076']],
  ['data_exfiltration', ['AML.T0024', 'AML.T0057', 'AML.T0056', 'AML.T0086']],
  ['cost_harvesting', ['AML.T0034']],
  ['inference_spike', ['AML.T0029', 'AML.T0040']],
  ['agent_tool_anomaly', ['AML.T0053', 'AML.T0080', 'AML.T0110']],
  ['model_drift', ['AML.T0031']],
  ['credential_misuse', ['AML.T0012', 'AML.T0055', 'AML.T0083']],
];

/**
 * Keywords matched at word starts in text split on case and punctuation
 * ("PromptInjection" reads "prompt injection"), most specific first.
 */
const TYPE_BY_KEYWORD: ReadonlyArray<readonly [AlertType, RegExp]> = [
  ['prompt_injection', /\bprompt inject/],
  ['jailbreak', /\bjailbr(?:eak|oken)/],
  ['data_poisoning', /\bpoison/],
  ['model_integrity', /\bintegrity\b|\b(?:hash|checksum|signature) mismatch|\btamper/],
  ['data_exfiltration', /\bexfiltrat|\bdata leak|\bmodel (?:extraction|theft)/],
  ['cost_harvesting', /\bcosts?\b|\bdenial of wallet/],
  ['credential_misuse', /\bcredentials?\b|\bapi keys?\b/],
  ['agent_tool_anomaly', /\btools?\b/],
  ['model_drift', /\bdrift/],
  ['inference_spike', /\bspikes?\b|\brates?\b|\bvolume\b|\bflood/],
  ['training_pipeline_anomaly', /\btraining (?:pipeline|job|run)/],
  ['output_policy_violation', /\bpolic(?:y|ies)\b|\btoxic|\bharmful|\bcontent safety/],
];

const ATLAS_ID_IN_TEXT = /\bAML\.T\d{4}(?:\.\d{3})?\b/g;

function matchesTechnique(id: string, prefix: string): boolean {
  return id === prefix || id.startsWith(`${prefix}.`);
}

export function alertTypeFromAtlasTechniques(ids: readonly string[]): AlertType | undefined {
  return TYPE_BY_TECHNIQUE.find(([, prefixes]) =>
    ids.some((id) => prefixes.some((prefix) => matchesTechnique(id, prefix))),
  )?.[0];
}

function keywordText(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ');
}

/** The type named by keywords in the first text that has any, texts in priority order. */
export function alertTypeFromKeywords(
  texts: readonly (string | undefined)[],
): AlertType | undefined {
  for (const text of texts) {
    if (text === undefined) continue;
    const words = keywordText(text);
    const match = TYPE_BY_KEYWORD.find(([, pattern]) => pattern.test(words));
    if (match) return match[0];
  }
  return undefined;
}

/** Every ATLAS technique id written anywhere in the texts, in order, once each. */
export function atlasTechniqueIdsIn(texts: readonly string[]): string[] {
  return [...new Set(texts.flatMap((text) => text.match(ATLAS_ID_IN_TEXT) ?? []))];
}
