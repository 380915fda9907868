import { emptyObservables } from '../core/alert.js';
import type {
  AlertDraft,
  AlertObservables,
  AlertType,
  ModelObservable,
  SeverityId,
} from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isIpAddress } from '../core/ip-range.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import type { SourceFormat } from './source-format.js';
import { epochMsOf } from './time-field.js';
import {
  addTexts,
  arrayAt,
  idAt,
  objectAt,
  requiredIdAt,
  seenTimes,
  textAt,
} from './vendor-fields.js';

/**
 * Amazon GuardDuty findings: the EventBridge event (`"detail-type": "GuardDuty
 * Finding"`, `detail` = the GetFindings `Finding`, camelCase), or that
 * `Finding` on its own as GetFindings and the S3 export write it.
 */

const WHERE = 'GuardDuty finding';
const EVENT_DETAIL_TYPE = 'GuardDuty Finding';
const EVENT_SOURCE = 'aws.guardduty';
const GUARDDUTY_ARN = /^arn:aws[a-z-]*:guardduty:/;

/** What a GuardDuty finding type means to Warden. */
export interface GuardDutyTypeMapping {
  type: AlertType;
  /** ATLAS ids the finding type implies; empty means "the alert type's defaults". */
  atlasTechniques: readonly string[];
}

/** `ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact` */
const FINDING_TYPE = /^([A-Za-z]+):([A-Za-z0-9]+)\/([^.!]+)(?:\.([^!]+))?(?:!(.+))?$/;

const PROMPT_INJECTION_TECHNIQUES: Readonly<Record<string, readonly string[]>> = {
  Direct: ['AML.T0051.000'],
  Indirect: ['AML.T0051.001'],
};

/**
 * Maps a GuardDuty finding type (e.g. `Impact:IAMUser/CostHarvesting`) to an
 * alert type. The Security Hub (ASFF) format reuses it for GuardDuty findings.
 *
 * AI Protection types are matched on the threat family alone, so that the
 * same family on another resource type maps the same way. Any finding about
 * an IAM principal, or with the CredentialAccess purpose, is credential
 * misuse: GuardDuty raises it because a principal's credentials were used in
 * a way it does not expect.
 */
export function classifyGuardDutyFindingType(findingType: string): GuardDutyTypeMapping {
  const match = FINDING_TYPE.exec(findingType.trim());
  if (!match) return { type: 'other', atlasTechniques: [] };
  const [, purpose = '', resource = '', family = '', mechanism = ''] = match;
  // An identity invoking models unusually is anomalous use of the inference
  // API (ATLAS AI Model Inference API Access), not an agent's tool call; the
  // inference_spike default Denial of AI Service is not claimed by GuardDuty.
  if (family === 'AnomalousModelInvocation') {
    return { type: 'inference_spike', atlasTechniques: ['AML.T0040'] };
  }
  if (family === 'CostHarvesting') {
    return { type: 'cost_harvesting', atlasTechniques: ['AML.T0034'] };
  }
  if (family === 'PromptInjection') {
    return {
      type: 'prompt_injection',
      atlasTechniques: PROMPT_INJECTION_TECHNIQUES[mechanism] ?? ['AML.T0051'],
    };
  }
  if (
    purpose === 'CredentialAccess' ||
    resource === 'IAMUser' ||
    resource === 'IAM' ||
    family === 'InstanceCredentialExfiltration'
  ) {
    return { type: 'credential_misuse', atlasTechniques: [] };
  }
  return { type: 'other', atlasTechniques: [] };
}

/**
 * GuardDuty's 0–10 score in its published bands: 1.0–3.9 Low, 4.0–6.9 Medium,
 * 7.0–8.9 High, 9.0–10.0 Critical. GuardDuty sends nothing below 1.0; such a
 * score reads as Informational.
 */
export function severityIdFromGuardDutyScore(score: number): SeverityId {
  if (score >= 9) return 5;
  if (score >= 7) return 4;
  if (score >= 4) return 3;
  if (score >= 1) return 2;
  return 1;
}

function readSeverity(value: unknown, field: string): SeverityId {
  if (value === undefined || value === null) throw missingField(field, WHERE);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 10) {
    throw invalidField(field, 'must be a number from 0 to 10', WHERE);
  }
  return severityIdFromGuardDutyScore(value);
}

function readTimes(
  finding: JsonObject,
  service: JsonObject,
  eventTime: unknown,
): { firstSeen: string; lastSeen: string } {
  return seenTimes(
    epochMsOf(service.eventFirstSeen) ?? epochMsOf(finding.createdAt),
    epochMsOf(service.eventLastSeen) ?? epochMsOf(finding.updatedAt),
    epochMsOf(eventTime),
  );
}

function readCount(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : 1;
}

/** The remote address of every action kind GuardDuty reports one for. */
function remoteIps(action: JsonObject): unknown[] {
  const details = [
    action.awsApiCallAction,
    action.networkConnectionAction,
    action.kubernetesApiCallAction,
    action.rdsLoginAttemptAction,
  ].map((a) => objectAt(objectAt(a).remoteIpDetails));
  for (const probe of arrayAt(objectAt(action.portProbeAction).portProbeDetails)) {
    details.push(objectAt(objectAt(probe).remoteIpDetails));
  }
  return details.flatMap((d) => [d.ipAddressV4, d.ipAddressV6]);
}

/**
 * The invoked model (`modelDetails`, on AnomalousModelInvocation and
 * CostHarvesting); failing that, the Bedrock guardrail that intervened
 * (`bedrockGuardrailDetails`, on PromptInjection.Direct, which names no
 * model), as the guardrail is what identifies the protected deployment.
 */
function readModel(resource: JsonObject): ModelObservable | undefined {
  for (const detail of arrayAt(resource.modelDetails)) {
    const id = textAt(objectAt(detail).modelId);
    if (id !== undefined) return { id };
  }
  const guardrail = objectAt(resource.bedrockGuardrailDetails);
  const listed = objectAt(arrayAt(guardrail.guardrails)[0]);
  const id = textAt(listed.arn) ?? textAt(guardrail.guardrailArn);
  if (id === undefined) return undefined;
  const version = idAt(listed.version) ?? idAt(guardrail.guardrailVersion);
  return version === undefined ? { id } : { id, version };
}

function readObservables(finding: JsonObject, service: JsonObject): AlertObservables {
  const resource = objectAt(finding.resource);
  const accessKey = objectAt(resource.accessKeyDetails);
  const ips = new Set<string>();
  for (const ip of remoteIps(objectAt(service.action))) {
    if (typeof ip === 'string' && isIpAddress(ip)) ips.add(ip);
  }
  const users = new Set<string>();
  const apiKeyIds = new Set<string>();
  addTexts(users, accessKey.userName);
  addTexts(apiKeyIds, accessKey.accessKeyId);
  const observables: AlertObservables = {
    ...emptyObservables(),
    ips: [...ips],
    users: [...users],
    apiKeyIds: [...apiKeyIds],
  };
  const model = readModel(resource);
  if (model) observables.model = model;
  return observables;
}

function isEventEnvelope(payload: JsonObject): boolean {
  return payload['detail-type'] === EVENT_DETAIL_TYPE && payload.source === EVENT_SOURCE;
}

function isBareFinding(payload: JsonObject): boolean {
  return (
    typeof payload.arn === 'string' &&
    GUARDDUTY_ARN.test(payload.arn) &&
    typeof payload.type === 'string' &&
    !('detail-type' in payload)
  );
}

export function normalizeGuardDutyFinding(payload: unknown): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  // Field paths name the event's `detail.` prefix when the finding came wrapped.
  const wrapped = 'detail' in payload || 'detail-type' in payload;
  const at = (field: string): string => (wrapped ? `detail.${field}` : field);
  let finding: JsonObject = payload;
  if (wrapped) {
    if (payload.detail === undefined || payload.detail === null)
      throw missingField('detail', WHERE);
    if (!isJsonObject(payload.detail)) throw invalidField('detail', 'must be an object', WHERE);
    finding = payload.detail;
  }

  const id = requiredIdAt(finding.id, at('id'), WHERE);
  const findingType = textAt(finding.type);
  if (findingType === undefined) throw missingField(at('type'), WHERE);
  const severityId = readSeverity(finding.severity, at('severity'));
  const service = objectAt(finding.service);
  const mapping = classifyGuardDutyFindingType(findingType);
  const arn = textAt(finding.arn);

  const draft: AlertDraft = {
    // Product and vendor as Security Hub names them, so one finding reads alike in both formats.
    source: { format: 'guardduty', product: 'GuardDuty', vendor: 'Amazon', uid: id },
    type: mapping.type,
    title: textAt(finding.title) ?? findingType,
    severityId,
    ...readTimes(finding, service, wrapped ? payload.time : undefined),
    count: readCount(service.count),
    // GuardDuty resends an updated finding with its total occurrence count.
    countIsTotal: true,
    observables: readObservables(finding, service),
    atlasTechniques: atlasTechniquesFor(mapping.type, mapping.atlasTechniques),
    // The finding ARN is also the finding's Id in Security Hub, so the same
    // finding delivered by both routes folds into one alert.
    dedupKey: arn ?? `guardduty:${id}`,
    raw: payload,
  };
  const description = textAt(finding.description);
  if (description !== undefined) draft.description = description;
  return draft;
}

export const guardDutyFindingFormat: SourceFormat = {
  name: 'guardduty',
  description:
    'Amazon GuardDuty finding (EventBridge "GuardDuty Finding" event, or the bare finding)',
  detect: (payload) =>
    isJsonObject(payload) && (isEventEnvelope(payload) || isBareFinding(payload)),
  normalize: normalizeGuardDutyFinding,
};
