import { emptyObservables, isAlertType, isSeverityId } from '../core/alert.js';
import type {
  AlertDraft,
  AlertObservables,
  AlertType,
  SeverityId,
  ToolCallObservable,
} from '../core/alert.js';
import { atlasTechniquesFor, isAtlasTechniqueId } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isIpAddress } from '../core/ip-range.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { alertTypeFromAtlasTechniques, alertTypeFromKeywords } from './alert-type-inference.js';
import type { SourceFormat } from './source-format.js';
import { arrayAt, idAt, objectAt, textAt } from './vendor-fields.js';
import { epochMsOf, isoTime } from './time-field.js';

/**
 * OCSF v1.x Detection Finding (class_uid 2004). Only the class, severity and a
 * title are required; any other field with an unexpected shape is ignored, as
 * OCSF producers vary widely in what they fill in.
 */

const WHERE = 'OCSF detection finding';
const DETECTION_FINDING_CLASS_UID = 2004;
/** OCSF severity_id 99 ("Other") has no place on Warden's 0-6 scale. */
const SEVERITY_OTHER = 99;

const WARDEN_TYPE_OVERRIDE = 'warden.alert_type';

function readSeverity(value: unknown): SeverityId {
  if (value === undefined || value === null) throw missingField('severity_id', WHERE);
  if (value === SEVERITY_OTHER) return 0;
  if (isSeverityId(value)) return value;
  throw invalidField('severity_id', 'must be an integer 0-6 or 99 (Other)', WHERE);
}

function readTitle(payload: JsonObject, findingInfo: JsonObject): string {
  const title = textAt(findingInfo.title) ?? textAt(payload.message);
  if (title === undefined) throw missingField('finding_info.title', WHERE);
  return title;
}

function readTimes(
  payload: JsonObject,
  findingInfo: JsonObject,
): { firstSeen: string; lastSeen: string } {
  const time = epochMsOf(payload.time);
  const first = epochMsOf(findingInfo.first_seen_time) ?? epochMsOf(payload.start_time);
  const last = epochMsOf(findingInfo.last_seen_time) ?? epochMsOf(payload.end_time);
  const anchor = time ?? last ?? first ?? Date.now();
  const a = first ?? anchor;
  const b = last ?? anchor;
  // Producers occasionally swap or skew these; order them rather than reject.
  return { firstSeen: isoTime(Math.min(a, b)), lastSeen: isoTime(Math.max(a, b)) };
}

function readCount(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : 1;
}

function readConfidence(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100
    ? value
    : undefined;
}

function readAtlasIds(findingInfo: JsonObject): string[] {
  const ids: string[] = [];
  for (const attack of arrayAt(findingInfo.attacks)) {
    const { technique, sub_technique: subTechnique } = objectAt(attack);
    for (const uid of [objectAt(technique).uid, objectAt(subTechnique).uid]) {
      // OCSF attacks also carry MITRE ATT&CK ids (T1059); only ATLAS ids are kept.
      if (typeof uid === 'string' && isAtlasTechniqueId(uid)) ids.push(uid);
    }
  }
  return [...new Set(ids)];
}

function inferType(
  payload: JsonObject,
  findingInfo: JsonObject,
  title: string,
  atlasIds: readonly string[],
): AlertType {
  const override = objectAt(payload.unmapped)[WARDEN_TYPE_OVERRIDE];
  if (isAlertType(override)) return override;
  const keywordSources = [
    ...arrayAt(findingInfo.types).filter((t): t is string => typeof t === 'string'),
    textAt(objectAt(findingInfo.analytic).name),
    title,
  ].filter((t): t is string => t !== undefined);
  return alertTypeFromAtlasTechniques(atlasIds) ?? alertTypeFromKeywords(keywordSources) ?? 'other';
}

/** OCSF observable type_id → the observable list it feeds. */
const OBSERVABLE_TYPE_IDS: Readonly<Record<number, 'ips' | 'users' | 'urls'>> = {
  2: 'ips',
  4: 'users',
  6: 'urls',
};

function toolCallOf(value: unknown): ToolCallObservable | undefined {
  const name = textAt(value);
  if (name !== undefined) return { name };
  if (!isJsonObject(value)) return undefined;
  const objectName = textAt(value.name);
  if (objectName === undefined) return undefined;
  return value.arguments === undefined
    ? { name: objectName }
    : { name: objectName, arguments: value.arguments };
}

function readResources(payload: JsonObject, observables: AlertObservables): void {
  for (const item of arrayAt(payload.resources)) {
    const resource = objectAt(item);
    const kind = (textAt(resource.type) ?? '').toLowerCase();
    const id = idAt(resource.uid) ?? idAt(resource.name);
    if (id === undefined) continue;
    // Checked first: "dataset" must not be read as a model's "data endpoint".
    if (/data ?set/.test(kind)) {
      observables.dataset ??= { id };
    } else if (/model|agent|endpoint/.test(kind) && !observables.model) {
      const version = idAt(resource.version);
      observables.model = version === undefined ? { id } : { id, version };
    }
  }
}

function readObservables(payload: JsonObject): AlertObservables {
  const ips = new Set<string>();
  const users = new Set<string>();
  const urls = new Set<string>();
  const sessionIds = new Set<string>();
  const toolCalls: ToolCallObservable[] = [];
  const addIp = (value: unknown): void => {
    if (typeof value === 'string' && isIpAddress(value)) ips.add(value);
  };
  const addText = (set: Set<string>, value: unknown): void => {
    const text = textAt(value);
    if (text !== undefined) set.add(text);
  };

  addIp(objectAt(payload.src_endpoint).ip);
  for (const item of arrayAt(payload.observables)) {
    const { type_id: typeId, value } = objectAt(item);
    const target = typeof typeId === 'number' ? OBSERVABLE_TYPE_IDS[typeId] : undefined;
    if (target === 'ips') addIp(value);
    else if (target === 'users') addText(users, value);
    else if (target === 'urls') addText(urls, value);
  }
  const actor = objectAt(payload.actor);
  const user = objectAt(actor.user);
  // One person, one entry: the name correlates with other formats, the uid is a fallback.
  addText(users, textAt(user.name) ?? idAt(user.uid));
  addText(sessionIds, idAt(objectAt(actor.session).uid));
  for (const item of arrayAt(payload.evidences)) {
    const evidence = objectAt(item);
    addText(urls, objectAt(evidence.url).url_string);
    const toolCall = toolCallOf(objectAt(evidence.data).tool);
    if (toolCall) toolCalls.push(toolCall);
  }

  const observables: AlertObservables = {
    ...emptyObservables(),
    ips: [...ips],
    users: [...users],
    urls: [...urls],
    sessionIds: [...sessionIds],
    toolCalls,
  };
  readResources(payload, observables);
  return observables;
}

export function normalizeOcsfDetectionFinding(payload: unknown): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  if (payload.class_uid === undefined) throw missingField('class_uid', WHERE);
  if (payload.class_uid !== DETECTION_FINDING_CLASS_UID) {
    throw invalidField('class_uid', 'must be 2004 (Detection Finding)', WHERE);
  }
  const severityId = readSeverity(payload.severity_id);
  const findingInfo = objectAt(payload.finding_info);
  const title = readTitle(payload, findingInfo);
  const atlasIds = readAtlasIds(findingInfo);
  const type = inferType(payload, findingInfo, title, atlasIds);
  const product = objectAt(objectAt(payload.metadata).product);
  const uid = idAt(findingInfo.uid) ?? idAt(objectAt(payload.metadata).uid);

  const draft: AlertDraft = {
    source: {
      format: 'ocsf',
      product: textAt(product.name) ?? 'unknown',
      vendor: textAt(product.vendor_name) ?? 'unknown',
      ...(uid === undefined ? {} : { uid }),
    },
    type,
    title,
    severityId,
    ...readTimes(payload, findingInfo),
    count: readCount(payload.count),
    observables: readObservables(payload),
    atlasTechniques: atlasTechniquesFor(type, atlasIds),
    raw: payload,
  };
  const description = textAt(findingInfo.desc) ?? textAt(payload.message);
  const confidence = readConfidence(payload.confidence_score);
  if (description !== undefined) draft.description = description;
  if (confidence !== undefined) draft.confidence = confidence;
  return draft;
}

export const ocsfDetectionFindingFormat: SourceFormat = {
  name: 'ocsf',
  description: 'OCSF v1.x Detection Finding (class_uid 2004)',
  detect: (payload) => isJsonObject(payload) && payload.class_uid === DETECTION_FINDING_CLASS_UID,
  normalize: normalizeOcsfDetectionFinding,
};
