import { emptyObservables } from '../core/alert.js';
import type { AlertDraft, AlertObservables, ModelObservable, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isIpAddress } from '../core/ip-range.js';
import { classifyGuardDutyFindingType } from './aws-guardduty.js';
import type { GuardDutyTypeMapping } from './aws-guardduty.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import type { SourceFormat } from './source-format.js';
import { epochMsOf } from './time-field.js';
import { addTexts, arrayAt, objectAt, requiredIdAt, seenTimes, textAt } from './vendor-fields.js';

/**
 * AWS Security Hub findings in the AWS Security Finding Format (ASFF,
 * PascalCase): one finding on its own, or the EventBridge event
 * ("Security Hub Findings - Imported" or "- Custom Action") whose
 * `detail.findings` holds it.
 */

const WHERE = 'Security Hub finding';
const EVENT_SOURCE = 'aws.securityhub';
const EVENT_DETAIL_TYPES: readonly string[] = [
  'Security Hub Findings - Imported',
  'Security Hub Findings - Custom Action',
];
const WRAPPED_PREFIX = 'detail.findings[0].';

const SEVERITY_BY_LABEL: Readonly<Record<string, SeverityId>> = {
  INFORMATIONAL: 1,
  LOW: 2,
  MEDIUM: 3,
  HIGH: 4,
  CRITICAL: 5,
};

/** ASFF's own bands for `Severity.Normalized` (0–100) when no label is given. */
function severityIdFromNormalized(score: number): SeverityId {
  if (score >= 90) return 5;
  if (score >= 70) return 4;
  if (score >= 40) return 3;
  if (score >= 1) return 2;
  return 1;
}

function readSeverity(finding: JsonObject, at: (field: string) => string): SeverityId {
  const severity = objectAt(finding.Severity);
  const label = severity.Label ?? objectAt(objectAt(finding.FindingProviderFields).Severity).Label;
  if (label !== undefined && label !== null) {
    const id =
      typeof label === 'string' ? SEVERITY_BY_LABEL[label.trim().toUpperCase()] : undefined;
    if (id === undefined) {
      throw invalidField(
        at('Severity.Label'),
        `must be one of ${Object.keys(SEVERITY_BY_LABEL).join(', ')}`,
        WHERE,
      );
    }
    return id;
  }
  const normalized = severity.Normalized;
  if (normalized === undefined || normalized === null) {
    throw missingField(at('Severity.Label'), WHERE);
  }
  if (
    typeof normalized !== 'number' ||
    !Number.isFinite(normalized) ||
    normalized < 0 ||
    normalized > 100
  ) {
    throw invalidField(at('Severity.Normalized'), 'must be a number from 0 to 100', WHERE);
  }
  return severityIdFromNormalized(normalized);
}

/**
 * The GuardDuty finding type behind an ASFF type, or undefined. Security Hub
 * rewrites GuardDuty types irregularly: `TTPs/Command and Control/Backdoor:EC2-
 * C&CActivity.B` (the "/" became "-"), `TTPs/PenTest:IAMUser/KaliLinux` (kept),
 * and `TTPs/Credential Access/IAMUser-AnomalousBehavior` (the threat purpose
 * moved into the category).
 */
export function guardDutyTypeFromAsffType(asffType: string): string | undefined {
  const parts = asffType.split('/');
  const start = parts.findIndex((part) => part.includes(':'));
  if (start >= 0) {
    const rest = parts.slice(start).join('/');
    return rest.includes('/') ? rest : rest.replace(/^([^:]+:[^-]+)-/, '$1/');
  }
  const [namespace, category, classifier] = parts;
  if (namespace !== 'TTPs' || category === undefined || classifier === undefined) return undefined;
  if (parts.length !== 3 || !classifier.includes('-')) return undefined;
  return `${category.replace(/\s+/g, '')}:${classifier.replace('-', '/')}`;
}

function readTypeMapping(finding: JsonObject): GuardDutyTypeMapping {
  const types = arrayAt(finding.Types ?? objectAt(finding.FindingProviderFields).Types);
  for (const asffType of types) {
    if (typeof asffType !== 'string') continue;
    const findingType = guardDutyTypeFromAsffType(asffType);
    const mapping =
      findingType === undefined ? undefined : classifyGuardDutyFindingType(findingType);
    if (mapping && mapping.type !== 'other') return mapping;
  }
  return { type: 'other', atlasTechniques: [] };
}

function readTimes(
  finding: JsonObject,
  eventTime: unknown,
): { firstSeen: string; lastSeen: string } {
  return seenTimes(
    epochMsOf(finding.FirstObservedAt) ?? epochMsOf(finding.CreatedAt),
    epochMsOf(finding.LastObservedAt) ?? epochMsOf(finding.UpdatedAt),
    epochMsOf(eventTime),
  );
}

function remoteIps(finding: JsonObject): unknown[] {
  const action = objectAt(finding.Action);
  const details = [action.AwsApiCallAction, action.NetworkConnectionAction].map((a) =>
    objectAt(objectAt(a).RemoteIpDetails),
  );
  for (const probe of arrayAt(objectAt(action.PortProbeAction).PortProbeDetails)) {
    details.push(objectAt(objectAt(probe).RemoteIpDetails));
  }
  const network = objectAt(finding.Network);
  return [...details.map((d) => d.IpAddressV4), network.SourceIpV4, network.SourceIpV6];
}

const ACCESS_KEY_RESOURCE_ID = /^AWS::IAM::AccessKey:(.+)$/;
/** Bedrock and SageMaker model, endpoint and inference profile ARNs. */
const MODEL_ARN =
  /^arn:aws[a-z-]*:(?:bedrock|sagemaker):[^:]*:[^:]*:(?:[a-z-]*model|endpoint|[a-z-]*inference-profile)\//;

function readResources(finding: JsonObject, observables: AlertObservables): void {
  const users = new Set<string>();
  const apiKeyIds = new Set<string>();
  let model: ModelObservable | undefined;
  for (const item of arrayAt(finding.Resources)) {
    const resource = objectAt(item);
    const id = textAt(resource.Id);
    const details = objectAt(resource.Details);
    if (resource.Type === 'AwsIamAccessKey') {
      const key = objectAt(details.AwsIamAccessKey);
      addTexts(users, key.PrincipalName ?? key.UserName);
      // GuardDuty names the key only in the resource Id, `AWS::IAM::AccessKey:<key id>`.
      addTexts(apiKeyIds, key.AccessKeyId ?? ACCESS_KEY_RESOURCE_ID.exec(id ?? '')?.[1]);
    } else if (resource.Type === 'AwsIamUser') {
      addTexts(users, objectAt(details.AwsIamUser).UserName);
    } else if (id !== undefined && MODEL_ARN.test(id)) {
      model ??= { id };
    }
  }
  observables.users = [...users];
  observables.apiKeyIds = [...apiKeyIds];
  if (model) observables.model = model;
}

function readObservables(finding: JsonObject): AlertObservables {
  const ips = new Set<string>();
  for (const ip of remoteIps(finding)) {
    if (typeof ip === 'string' && isIpAddress(ip)) ips.add(ip);
  }
  const observables: AlertObservables = { ...emptyObservables(), ips: [...ips] };
  readResources(finding, observables);
  return observables;
}

function readConfidence(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100
    ? value
    : undefined;
}

function isEventEnvelope(payload: JsonObject): boolean {
  return (
    payload.source === EVENT_SOURCE &&
    typeof payload['detail-type'] === 'string' &&
    EVENT_DETAIL_TYPES.includes(payload['detail-type'])
  );
}

function isBareFinding(payload: JsonObject): boolean {
  return (
    typeof payload.SchemaVersion === 'string' &&
    typeof payload.ProductArn === 'string' &&
    typeof payload.Id === 'string'
  );
}

/**
 * The one finding of an EventBridge event. Security Hub sends a single
 * finding per event; a hand-built event holding several is refused rather
 * than cut to its first, so that no finding is dropped without a word.
 */
function unwrapFinding(payload: JsonObject): JsonObject {
  if (payload.detail === undefined || payload.detail === null) throw missingField('detail', WHERE);
  const findings = objectAt(payload.detail).findings;
  if (findings === undefined || findings === null) throw missingField('detail.findings', WHERE);
  if (!Array.isArray(findings)) throw invalidField('detail.findings', 'must be an array', WHERE);
  if (findings.length !== 1) {
    throw invalidField(
      'detail.findings',
      `must hold exactly one finding (it holds ${findings.length}); send each finding in its own request`,
      WHERE,
    );
  }
  const finding: unknown = findings[0];
  if (!isJsonObject(finding)) throw invalidField('detail.findings[0]', 'must be an object', WHERE);
  return finding;
}

function productNameOf(finding: JsonObject): string | undefined {
  const fields = objectAt(finding.ProductFields);
  const fromArn = textAt(finding.ProductArn)?.split('/').pop();
  return (
    textAt(finding.ProductName) ?? textAt(fields['aws/securityhub/ProductName']) ?? textAt(fromArn)
  );
}

export function normalizeSecurityHubFinding(payload: unknown): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const wrapped = 'detail' in payload || 'detail-type' in payload;
  const at = (field: string): string => (wrapped ? `${WRAPPED_PREFIX}${field}` : field);
  const finding = wrapped ? unwrapFinding(payload) : payload;

  const id = requiredIdAt(finding.Id, at('Id'), WHERE);
  const title = textAt(finding.Title);
  if (title === undefined) throw missingField(at('Title'), WHERE);
  const severityId = readSeverity(finding, at);
  const mapping = readTypeMapping(finding);
  const productArn = textAt(finding.ProductArn);

  const draft: AlertDraft = {
    source: {
      format: 'asff',
      product: productNameOf(finding) ?? 'unknown',
      vendor:
        textAt(finding.CompanyName) ??
        textAt(objectAt(finding.ProductFields)['aws/securityhub/CompanyName']) ??
        'unknown',
      uid: id,
    },
    type: mapping.type,
    title,
    severityId,
    ...readTimes(finding, wrapped ? payload.time : undefined),
    count: 1,
    observables: readObservables(finding),
    atlasTechniques: atlasTechniquesFor(mapping.type, mapping.atlasTechniques),
    // An ARN Id (every AWS service's, GuardDuty's being the finding ARN) is
    // unique on its own; other products' Ids are unique per product.
    dedupKey: id.startsWith('arn:') || productArn === undefined ? id : `${productArn}/${id}`,
    raw: payload,
  };
  const description = textAt(finding.Description);
  const confidence = readConfidence(finding.Confidence);
  if (description !== undefined) draft.description = description;
  if (confidence !== undefined) draft.confidence = confidence;
  return draft;
}

export const securityHubFindingFormat: SourceFormat = {
  name: 'asff',
  description:
    'AWS Security Hub finding in ASFF (one finding, or the EventBridge "Security Hub Findings" event)',
  detect: (payload) =>
    isJsonObject(payload) && (isEventEnvelope(payload) || isBareFinding(payload)),
  normalize: normalizeSecurityHubFinding,
};
