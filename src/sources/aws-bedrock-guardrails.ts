import type { AlertDraft, AlertType, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { sourceContextObservables } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { isoTime } from './time-field.js';
import { arrayAt, objectAt, textAt } from './vendor-fields.js';

/**
 * Amazon Bedrock Guardrails verdicts: the `ApplyGuardrail` response (`action`
 * GUARDRAIL_INTERVENED or NONE, `actionReason`, `outputs`, `assessments[]`,
 * `usage`), and a `Converse` response with the guardrail trace enabled
 * (`stopReason`, `trace.guardrail.inputAssessment` keyed by guardrail id,
 * `trace.guardrail.outputAssessments` keyed by guardrail id to a list). Both
 * carry the same `GuardrailAssessment` objects. Neither names the model,
 * session or user: those come from the sender context.
 */

const WHERE = 'Bedrock guardrail response';
const FORMAT = 'bedrock-guardrails';
const ACTIONS = ['GUARDRAIL_INTERVENED', 'NONE'] as const;

/** One policy hit in an assessment. */
export interface GuardrailFinding {
  /** Short, stable label for the title: `content PROMPT_ATTACK`, `PII EMAIL`. */
  label: string;
  type: AlertType;
  atlasTechniques: readonly string[];
  severityId: SeverityId;
}

/** Content filter confidence → severity; a filter without one reads as Medium. */
const SEVERITY_BY_CONFIDENCE: Readonly<Record<string, SeverityId>> = {
  HIGH: 4,
  MEDIUM: 3,
  LOW: 2,
  NONE: 1,
};

/** When several policies fired, the alert takes the first of these types present. */
const TYPE_PRIORITY: readonly AlertType[] = [
  'prompt_injection',
  'data_exfiltration',
  'output_policy_violation',
];

const DATA_LEAK = { type: 'data_exfiltration', atlasTechniques: ['AML.T0057'] } as const;
const POLICY = { type: 'output_policy_violation', atlasTechniques: [] } as const;

/**
 * A policy entry counts when `detected` is true, or, in responses from before
 * Bedrock added `detected`, when its `action` is anything but NONE. With the
 * guardrail in detect mode an entry has `detected: true` and action NONE.
 */
function fired(entry: JsonObject): boolean {
  if (typeof entry.detected === 'boolean') return entry.detected;
  const action = textAt(entry.action);
  return action !== undefined && action !== 'NONE';
}

function firedEntries(list: unknown): JsonObject[] {
  return arrayAt(list).filter(isJsonObject).filter(fired);
}

function contentFinding(filter: JsonObject): GuardrailFinding {
  const type = textAt(filter.type) ?? 'UNKNOWN';
  const severityId = SEVERITY_BY_CONFIDENCE[textAt(filter.confidence) ?? ''] ?? 3;
  // The prompt-attack filter screens user input: jailbreaks, injected instructions, prompt leaks.
  const mapping =
    type === 'PROMPT_ATTACK'
      ? { type: 'prompt_injection' as const, atlasTechniques: ['AML.T0051.000'] }
      : POLICY;
  return { label: `content ${type}`, ...mapping, severityId };
}

/** Every policy hit in one `GuardrailAssessment`, in the order Bedrock lists the policies. */
export function guardrailFindings(assessment: unknown): GuardrailFinding[] {
  const a = objectAt(assessment);
  const topics = objectAt(a.topicPolicy);
  const content = objectAt(a.contentPolicy);
  const words = objectAt(a.wordPolicy);
  const sensitive = objectAt(a.sensitiveInformationPolicy);
  const grounding = objectAt(a.contextualGroundingPolicy);
  return [
    ...firedEntries(topics.topics).map((t): GuardrailFinding => ({
      label: `topic ${textAt(t.name) ?? 'denied'}`,
      ...POLICY,
      severityId: 3,
    })),
    ...firedEntries(content.filters).map(contentFinding),
    // The matched words and PII values themselves stay out of the title.
    ...firedEntries(words.customWords).map((): GuardrailFinding => ({
      label: 'custom word',
      ...POLICY,
      severityId: 2,
    })),
    ...firedEntries(words.managedWordLists).map((w): GuardrailFinding => ({
      label: `word list ${textAt(w.type) ?? 'managed'}`,
      ...POLICY,
      severityId: 2,
    })),
    ...firedEntries(sensitive.piiEntities).map((p): GuardrailFinding => ({
      label: `PII ${textAt(p.type) ?? 'entity'}`,
      ...DATA_LEAK,
      severityId: 3,
    })),
    ...firedEntries(sensitive.regexes).map((r): GuardrailFinding => ({
      label: `regex ${textAt(r.name) ?? 'match'}`,
      ...DATA_LEAK,
      severityId: 3,
    })),
    ...firedEntries(grounding.filters).map((g): GuardrailFinding => ({
      label: `grounding ${textAt(g.type) ?? 'check'}`,
      ...POLICY,
      severityId: 2,
    })),
  ];
}

interface Verdict {
  intervened: boolean;
  /** The field that says whether the guardrail intervened, for errors. */
  field: string;
  assessments: unknown[];
  reason: string | undefined;
}

function applyGuardrailVerdict(payload: JsonObject): Verdict {
  const action = payload.action;
  if (action === undefined || action === null) throw missingField('action', WHERE);
  if (!ACTIONS.includes(action as (typeof ACTIONS)[number])) {
    throw invalidField('action', `must be one of ${ACTIONS.join(', ')}`, WHERE);
  }
  const assessments = payload.assessments;
  if (assessments === undefined || assessments === null) {
    throw missingField('assessments', WHERE);
  }
  if (!Array.isArray(assessments)) throw invalidField('assessments', 'must be an array', WHERE);
  return {
    intervened: action === 'GUARDRAIL_INTERVENED',
    field: 'action',
    assessments,
    reason: textAt(payload.actionReason),
  };
}

function converseVerdict(payload: JsonObject, trace: JsonObject): Verdict {
  const guardrail = trace.guardrail;
  if (!isJsonObject(guardrail)) throw invalidField('trace.guardrail', 'must be an object', WHERE);
  const input = Object.values(objectAt(guardrail.inputAssessment));
  const output = Object.values(objectAt(guardrail.outputAssessments)).flatMap(arrayAt);
  return {
    intervened: payload.stopReason === 'guardrail_intervened',
    field: 'stopReason',
    assessments: [...input, ...output],
    reason: textAt(guardrail.actionReason),
  };
}

function isApplyGuardrailResponse(payload: JsonObject): boolean {
  return (
    typeof payload.action === 'string' &&
    (ACTIONS as readonly string[]).includes(payload.action) &&
    Array.isArray(payload.assessments)
  );
}

function isConverseGuardrailTrace(payload: JsonObject): boolean {
  return isJsonObject(payload.trace) && isJsonObject(payload.trace.guardrail);
}

export function normalizeBedrockGuardrailResponse(
  payload: unknown,
  context?: SourceContext,
): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const verdict = isJsonObject(payload.trace)
    ? converseVerdict(payload, payload.trace)
    : applyGuardrailVerdict(payload);
  const findings = verdict.assessments.flatMap(guardrailFindings);
  if (!verdict.intervened && findings.length === 0) {
    throw invalidField(
      verdict.field,
      'says the guardrail did not intervene and no policy detected anything: nothing to alert on',
      WHERE,
    );
  }
  const type = TYPE_PRIORITY.find((t) => findings.some((f) => f.type === t)) ?? 'other';
  const techniques = findings.filter((f) => f.type === type).flatMap((f) => f.atlasTechniques);
  // An intervention whose assessments name no policy Warden reads (e.g. automated reasoning) is Medium.
  const severityId = findings.reduce<SeverityId>(
    (max, f) => (f.severityId > max ? f.severityId : max),
    findings.length > 0 ? 1 : 3,
  );
  const labels = [...new Set(findings.map((f) => f.label))];
  const verb = verdict.intervened ? 'intervened' : 'detected';
  const now = isoTime(Date.now());

  const draft: AlertDraft = {
    source: { format: FORMAT, product: 'Bedrock Guardrails', vendor: 'Amazon' },
    type,
    title:
      labels.length > 0
        ? `Bedrock guardrail ${verb}: ${labels.join(', ')}`
        : `Bedrock guardrail ${verb}`,
    severityId,
    firstSeen: now,
    lastSeen: now,
    count: 1,
    observables: sourceContextObservables(context),
    atlasTechniques: atlasTechniquesFor(type, techniques),
    raw: payload,
  };
  if (verdict.reason !== undefined) draft.description = verdict.reason;
  return draft;
}

export const bedrockGuardrailsFormat: SourceFormat = {
  name: FORMAT,
  description:
    'Amazon Bedrock Guardrails verdict (ApplyGuardrail response, or a Converse response with trace.guardrail)',
  detect: (payload) =>
    isJsonObject(payload) &&
    (isApplyGuardrailResponse(payload) || isConverseGuardrailTrace(payload)),
  normalize: normalizeBedrockGuardrailResponse,
};
