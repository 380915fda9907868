import type { AlertDraft, AlertType, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { alertTypeFromKeywords } from './alert-type-inference.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { sourceContextObservables } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { isoTime } from './time-field.js';
import { arrayAt, idAt, objectAt, textAt } from './vendor-fields.js';

/**
 * Lakera Guard v2 screening responses (`POST /v2/guard`): `flagged` (true
 * when any detector of the project's policy tripped), `breakdown[]` when the
 * request asked for it (`detector_type` such as `prompt_attack`,
 * `moderated_content/hate`, `pii/email`, `unknown_links`; `detected`;
 * `message_id`, `detector_id`, `policy_id`, `project_id`), `payload[]` when
 * asked for (the PII, profanity and regex matches: `start`, `end`, `text`,
 * `detector_type`, `labels`, `message_id`), and `metadata.request_uuid`.
 * The request (`messages`, `breakdown: true`, …) is not a verdict and is not
 * claimed. The response names no model, session or user, and no time: those
 * come from the sender context and the time of receipt.
 */

const WHERE = 'Lakera Guard response';
const FORMAT = 'lakera-guard';

/** What a detector that tripped means to Warden. */
export interface LakeraDetectorMapping {
  type: AlertType;
  /** ATLAS ids the detector implies; empty means "the alert type's defaults". */
  atlasTechniques: readonly string[];
  severityId: SeverityId;
}

/** When several detectors tripped, the alert takes the first of these types present. */
const TYPE_PRIORITY: readonly AlertType[] = [
  'prompt_injection',
  'data_exfiltration',
  'output_policy_violation',
];

/** A flagged verdict without a breakdown says nothing of which detector tripped: Medium. */
const FLAGGED_ONLY_SEVERITY: SeverityId = 3;

function isFamily(detectorType: string, ...families: string[]): boolean {
  return families.some(
    (family) => detectorType === family || detectorType.startsWith(`${family}/`),
  );
}

/**
 * Maps a detector type to an alert type and a severity. Lakera v2 gives no
 * score, so the severity is the detector's: a prompt attack High (like a
 * Prompt Shields attack), PII and moderated content Medium, an unknown link
 * Low; other (custom) detectors read by keyword in their type, else `other`,
 * at Medium.
 */
export function classifyLakeraDetector(detectorType: string): LakeraDetectorMapping {
  if (isFamily(detectorType, 'prompt_attack')) {
    return { type: 'prompt_injection', atlasTechniques: ['AML.T0051.000'], severityId: 4 };
  }
  if (isFamily(detectorType, 'pii')) {
    return { type: 'data_exfiltration', atlasTechniques: ['AML.T0057'], severityId: 3 };
  }
  if (isFamily(detectorType, 'moderated_content', 'content_moderation')) {
    return { type: 'output_policy_violation', atlasTechniques: [], severityId: 3 };
  }
  if (isFamily(detectorType, 'unknown_links')) {
    return { type: 'other', atlasTechniques: [], severityId: 2 };
  }
  return {
    type: alertTypeFromKeywords([detectorType]) ?? 'other',
    atlasTechniques: [],
    severityId: 3,
  };
}

interface Detection {
  detectorType: string;
  messageId: string | undefined;
}

function readFlagged(payload: JsonObject): boolean {
  const value = payload.flagged;
  if (value === undefined || value === null) throw missingField('flagged', WHERE);
  if (typeof value !== 'boolean') throw invalidField('flagged', 'must be true or false', WHERE);
  return value;
}

/** The breakdown entries that detected something; absent breakdown reads as none. */
function readBreakdown(payload: JsonObject): Detection[] {
  const value = payload.breakdown;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidField('breakdown', 'must be an array', WHERE);
  return value.flatMap((item, index): Detection[] => {
    const field = `breakdown[${index}]`;
    if (!isJsonObject(item)) throw invalidField(field, 'must be an object', WHERE);
    const detectorType = textAt(item.detector_type);
    if (detectorType === undefined) throw missingField(`${field}.detector_type`, WHERE);
    const detected = item.detected;
    if (detected === undefined || detected === null) {
      throw missingField(`${field}.detected`, WHERE);
    }
    if (typeof detected !== 'boolean') {
      throw invalidField(`${field}.detected`, 'must be true or false', WHERE);
    }
    return detected ? [{ detectorType, messageId: idAt(item.message_id) }] : [];
  });
}

/** The detector types of the payload's matches (their text stays in the raw payload). */
function payloadDetectorTypes(payload: JsonObject): string[] {
  return arrayAt(payload.payload).flatMap((match) => {
    const detectorType = textAt(objectAt(match).detector_type);
    return detectorType === undefined ? [] : [detectorType];
  });
}

function describeDetections(
  detections: readonly Detection[],
  matchTypes: readonly string[],
): string | undefined {
  const parts: string[] = [];
  if (detections.length > 0) {
    parts.push(
      `Detected: ${detections
        .map((d) =>
          d.messageId === undefined ? d.detectorType : `${d.detectorType} (message ${d.messageId})`,
        )
        .join(', ')}`,
    );
  }
  if (matchTypes.length > 0) {
    const noun = matchTypes.length === 1 ? 'match' : 'matches';
    parts.push(
      `${matchTypes.length} ${noun} in the payload: ${[...new Set(matchTypes)].join(', ')}`,
    );
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}

export function normalizeLakeraGuardResponse(
  payload: unknown,
  context?: SourceContext,
): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const flagged = readFlagged(payload);
  const detections = readBreakdown(payload);
  if (!flagged && detections.length === 0) {
    throw invalidField(
      'flagged',
      'is false and no detector in the breakdown detected anything: nothing to alert on',
      WHERE,
    );
  }
  const matchTypes = payloadDetectorTypes(payload);
  // Without a breakdown, the payload's matches still say which detectors tripped.
  const detectorTypes = [
    ...new Set(detections.length > 0 ? detections.map((d) => d.detectorType) : matchTypes),
  ];
  const mappings = detectorTypes.map(classifyLakeraDetector);
  const type =
    TYPE_PRIORITY.find((t) => mappings.some((m) => m.type === t)) ??
    mappings.find((m) => m.type !== 'other')?.type ??
    'other';
  const techniques = mappings.filter((m) => m.type === type).flatMap((m) => m.atlasTechniques);
  const severityId = mappings.reduce<SeverityId>(
    (max, m) => (m.severityId > max ? m.severityId : max),
    mappings.length > 0 ? 1 : FLAGGED_ONLY_SEVERITY,
  );
  const requestUuid = textAt(objectAt(payload.metadata).request_uuid);
  const now = isoTime(Date.now());

  const draft: AlertDraft = {
    source: { format: FORMAT, product: 'Lakera Guard', vendor: 'Lakera' },
    type,
    title:
      detectorTypes.length > 0
        ? `Lakera Guard ${flagged ? 'flagged' : 'detected'}: ${detectorTypes.join(', ')}`
        : 'Lakera Guard flagged the interaction',
    severityId,
    firstSeen: now,
    lastSeen: now,
    count: 1,
    observables: sourceContextObservables(context),
    atlasTechniques: atlasTechniquesFor(type, techniques),
    raw: payload,
  };
  const description = describeDetections(detections, matchTypes);
  if (description !== undefined) draft.description = description;
  // Lakera names each screening request: Warden keys on it rather than on content.
  if (requestUuid !== undefined) {
    draft.source.uid = requestUuid;
    draft.dedupKey = `${FORMAT}:${requestUuid}`;
  }
  return draft;
}

/**
 * A v2 screening response: `flagged` (boolean) with a `breakdown` array or a
 * `metadata.request_uuid`, and no `messages` (the request's field).
 */
function isLakeraGuardResponse(payload: JsonObject): boolean {
  return (
    typeof payload.flagged === 'boolean' &&
    !('messages' in payload) &&
    (Array.isArray(payload.breakdown) ||
      (isJsonObject(payload.metadata) && typeof payload.metadata.request_uuid === 'string'))
  );
}

export const lakeraGuardFormat: SourceFormat = {
  name: FORMAT,
  description: 'Lakera Guard v2 screening response (POST /v2/guard)',
  detect: (payload) => isJsonObject(payload) && isLakeraGuardResponse(payload),
  normalize: normalizeLakeraGuardResponse,
};
