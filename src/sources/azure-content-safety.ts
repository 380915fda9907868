import type { AlertDraft, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { sourceContextObservables } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { isoTime } from './time-field.js';
import { objectAt, textAt } from './vendor-fields.js';

/**
 * Azure AI Content Safety verdicts: the Prompt Shields response
 * (`text:shieldPrompt`: `userPromptAnalysis.attackDetected`,
 * `documentsAnalysis[].attackDetected`) and the `text:analyze` response
 * (`categoriesAnalysis[]` of `{category, severity}`, `blocklistsMatch[]`).
 * Neither names the model, session or user: those come from the sender context.
 */

const WHERE = 'Azure Content Safety response';
const FORMAT = 'azure-content-safety';
const SOURCE = { format: FORMAT, product: 'Azure AI Content Safety', vendor: 'Microsoft' };
/** Prompt Shields answers yes or no; an attack it is sure enough to report is High. */
const PROMPT_ATTACK_SEVERITY: SeverityId = 4;
/** A blocklist is the customer's own deny list: a match is at least Medium. */
const BLOCKLIST_SEVERITY: SeverityId = 3;

/**
 * A category's severity (0–7 with EightSeverityLevels, 0/2/4/6 by default)
 * in bands: 0 safe (no alert), 1–2 Low, 3–4 Medium, 5–7 High. No band is
 * Critical: it scores one text, not an incident.
 */
export function severityIdFromAzureSeverity(severity: number): SeverityId | undefined {
  if (severity >= 5) return 4;
  if (severity >= 3) return 3;
  if (severity >= 1) return 2;
  return undefined;
}

function requiredBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null) throw missingField(field, WHERE);
  if (typeof value !== 'boolean') throw invalidField(field, 'must be true or false', WHERE);
  return value;
}

function requiredArray(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) throw missingField(field, WHERE);
  if (!Array.isArray(value)) throw invalidField(field, 'must be an array', WHERE);
  return value;
}

function entryAt(value: unknown, field: string): JsonObject {
  if (!isJsonObject(value)) throw invalidField(field, 'must be an object', WHERE);
  return value;
}

function normalizePromptShields(payload: JsonObject, context?: SourceContext): AlertDraft {
  const hasUser = payload.userPromptAnalysis !== undefined && payload.userPromptAnalysis !== null;
  const userAttack = hasUser
    ? requiredBoolean(
        entryAt(payload.userPromptAnalysis, 'userPromptAnalysis').attackDetected,
        'userPromptAnalysis.attackDetected',
      )
    : false;
  const documents =
    payload.documentsAnalysis === undefined || payload.documentsAnalysis === null
      ? []
      : requiredArray(payload.documentsAnalysis, 'documentsAnalysis');
  const attackedDocuments = documents.flatMap((document, index) => {
    const field = `documentsAnalysis[${index}]`;
    return requiredBoolean(entryAt(document, field).attackDetected, `${field}.attackDetected`)
      ? [index]
      : [];
  });
  if (!userAttack && attackedDocuments.length === 0) {
    throw invalidField(
      hasUser ? 'userPromptAnalysis.attackDetected' : 'documentsAnalysis',
      'reports no attack: nothing to alert on',
      WHERE,
    );
  }
  const where = [
    ...(userAttack ? ['user prompt'] : []),
    ...(attackedDocuments.length > 0 ? ['documents'] : []),
  ];
  const now = isoTime(Date.now());
  const draft: AlertDraft = {
    source: SOURCE,
    type: 'prompt_injection',
    title: `Azure Prompt Shields: attack in ${where.join(' and ')}`,
    severityId: PROMPT_ATTACK_SEVERITY,
    firstSeen: now,
    lastSeen: now,
    count: 1,
    observables: sourceContextObservables(context),
    // A user prompt attack is direct injection; an attack in grounding documents is indirect.
    atlasTechniques: atlasTechniquesFor('prompt_injection', [
      ...(userAttack ? ['AML.T0051.000'] : []),
      ...(attackedDocuments.length > 0 ? ['AML.T0051.001'] : []),
    ]),
    raw: payload,
  };
  if (attackedDocuments.length > 0) {
    draft.description = `Attack detected in documents ${attackedDocuments
      .map((i) => `[${i}]`)
      .join(', ')} of ${documents.length}`;
  }
  return draft;
}

function normalizeTextAnalysis(payload: JsonObject, context?: SourceContext): AlertDraft {
  const categories = requiredArray(payload.categoriesAnalysis, 'categoriesAnalysis').map(
    (item, index) => {
      const field = `categoriesAnalysis[${index}]`;
      const entry = entryAt(item, field);
      const category = textAt(entry.category);
      if (category === undefined) throw missingField(`${field}.category`, WHERE);
      const severity = entry.severity;
      if (severity === undefined || severity === null) {
        throw missingField(`${field}.severity`, WHERE);
      }
      if (
        typeof severity !== 'number' ||
        !Number.isInteger(severity) ||
        severity < 0 ||
        severity > 7
      ) {
        throw invalidField(`${field}.severity`, 'must be an integer from 0 to 7', WHERE);
      }
      return { category, severity };
    },
  );
  const blocklists = Array.isArray(payload.blocklistsMatch)
    ? [
        ...new Set(
          payload.blocklistsMatch.map(
            (match) => textAt(objectAt(match).blocklistName) ?? 'blocklist',
          ),
        ),
      ]
    : [];
  const flagged = categories.filter((c) => c.severity > 0);
  if (flagged.length === 0 && blocklists.length === 0) {
    throw invalidField(
      'categoriesAnalysis',
      'scores every category 0 and matches no blocklist: nothing to alert on',
      WHERE,
    );
  }
  const severityId = Math.max(
    ...flagged.map((c) => severityIdFromAzureSeverity(c.severity) ?? 1),
    blocklists.length > 0 ? BLOCKLIST_SEVERITY : 1,
  ) as SeverityId;
  const labels = [
    ...flagged.map((c) => c.category),
    ...blocklists.map((name) => `blocklist ${name}`),
  ];
  const now = isoTime(Date.now());
  return {
    source: SOURCE,
    // Content Safety scores whatever text it is given; Warden reads it as a content-policy hit.
    type: 'output_policy_violation',
    // Severities stay out of the title so repeats of one verdict fold into one alert.
    title: `Azure Content Safety: ${labels.join(', ')}`,
    description: `Category severities (0-7): ${categories
      .map((c) => `${c.category} ${c.severity}`)
      .join(', ')}`,
    severityId,
    firstSeen: now,
    lastSeen: now,
    count: 1,
    observables: sourceContextObservables(context),
    atlasTechniques: atlasTechniquesFor('output_policy_violation', []),
    raw: payload,
  };
}

function isPromptShieldsResponse(payload: JsonObject): boolean {
  const user = payload.userPromptAnalysis;
  const documents = payload.documentsAnalysis;
  return (
    (isJsonObject(user) && typeof user.attackDetected === 'boolean') ||
    (Array.isArray(documents) &&
      documents.length > 0 &&
      documents.every((d) => isJsonObject(d) && typeof d.attackDetected === 'boolean'))
  );
}

function isTextAnalysisResponse(payload: JsonObject): boolean {
  const categories = payload.categoriesAnalysis;
  return (
    Array.isArray(categories) &&
    categories.every((c) => isJsonObject(c) && typeof c.category === 'string')
  );
}

export function normalizeAzureContentSafetyResponse(
  payload: unknown,
  context?: SourceContext,
): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  if ('userPromptAnalysis' in payload || 'documentsAnalysis' in payload) {
    return normalizePromptShields(payload, context);
  }
  return normalizeTextAnalysis(payload, context);
}

export const azureContentSafetyFormat: SourceFormat = {
  name: FORMAT,
  description: 'Azure AI Content Safety verdict (Prompt Shields, or text:analyze)',
  detect: (payload) =>
    isJsonObject(payload) && (isPromptShieldsResponse(payload) || isTextAnalysisResponse(payload)),
  normalize: normalizeAzureContentSafetyResponse,
};
