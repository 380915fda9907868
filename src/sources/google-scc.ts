import type { AlertDraft, AlertType, ModelObservable, SeverityId } from '../core/alert.js';
import { emptyObservables } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isIpAddress } from '../core/ip-range.js';
import { alertTypeFromKeywords } from './alert-type-inference.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { withSourceContext } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { epochMsOf } from './time-field.js';
import { arrayAt, objectAt, seenTimes, textAt } from './vendor-fields.js';

/**
 * Google Security Command Center notifications, as a Pub/Sub push
 * subscription delivers them (`{ message: { data, messageId, publishTime,
 * attributes }, subscription }`, `data` the base64 of the JSON
 * NotificationMessage), or the decoded NotificationMessage itself
 * (`{ notificationConfigName, finding, resource }`).
 */

const WHERE = 'Security Command Center notification';

/** `finding.name`: organizations|folders|projects/ID/sources/ID[/locations/L]/findings/ID. */
const FINDING_NAME =
  /^(?:organizations|folders|projects)\/[^/]+\/sources\/[^/]+(?:\/locations\/[^/]+)?\/findings\/[^/]+$/;

/** Per character code: 1 base64 digit, 2 padding, 3 whitespace; 0 anything else. */
const BASE64_CLASS = (() => {
  const table = new Uint8Array(128);
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < digits.length; i += 1) table[digits.charCodeAt(i)] = 1;
  table[61] = 2; // =
  for (const c of [9, 10, 11, 12, 13, 32]) table[c] = 3;
  return table;
})();

/**
 * `data` without whitespace when it is base64 (digits, then at most two
 * `=`), else undefined. One pass over the characters: the regular
 * expressions it replaces were a quarter of an SCC alert's normalisation.
 */
function compactBase64(data: string): string | undefined {
  let padding = 0;
  let spaced = false;
  for (let i = 0; i < data.length; i += 1) {
    const code = data.charCodeAt(i);
    const kind = code < 128 ? (BASE64_CLASS[code] as number) : 0;
    if (kind === 1) {
      if (padding > 0) return undefined;
    } else if (kind === 2) {
      padding += 1;
      if (padding > 2) return undefined;
    } else if (kind === 3) {
      spaced = true;
    } else {
      return undefined;
    }
  }
  const compact = spaced ? data.replace(/\s+/g, '') : data;
  return compact === '' ? undefined : compact;
}

const SEVERITY_BY_LABEL: Readonly<Record<string, SeverityId>> = {
  CRITICAL: 5,
  HIGH: 4,
  MEDIUM: 3,
  LOW: 2,
};
const DEFAULT_SEVERITY: SeverityId = 3;

/** A Vertex AI model or endpoint in a full resource name. */
const VERTEX_RESOURCE =
  /^\/\/aiplatform\.googleapis\.com\/(projects\/[^/]+\/locations\/[^/]+\/(models|endpoints)\/([^/@]+)(?:@([^/]+))?)$/;

/** A category about an AI service (Event Threat Detection's Vertex AI detectors). */
const AI_SERVICE = /\bvertex ai\b|\bai (?:service|api|admin|platform)\b|\bmodels?\b/i;
const IDENTITY_MISUSE = /\bservice accounts?\b|\bimpersonat|\bdormant\b/i;
const ANOMALY = /\banomal|\bunusual\b|\bnew\b|\bgeograph/i;

interface TypeMapping {
  type: AlertType;
  atlasIds: string[];
}

/**
 * Category → alert type: keywords first (an "Exfiltration: …" or
 * "…Leaked Credentials" category names its type); then a category about an
 * AI service: by an identity (dormant or impersonated service account) is
 * credential misuse (ATLAS Valid Accounts), any other anomaly (a new API
 * method, a new geography) is anomalous use of the inference API (ATLAS AI
 * Model Inference API Access), as GuardDuty's AnomalousModelInvocation.
 */
export function classifySccCategory(category: string): TypeMapping {
  let mapping = classified.get(category);
  if (mapping === undefined) {
    mapping = classify(category);
    // A source has a few dozen categories: remember them, within reason.
    if (classified.size < CATEGORIES_KEPT) classified.set(category, mapping);
  }
  return { type: mapping.type, atlasIds: [...mapping.atlasIds] };
}

const classified = new Map<string, TypeMapping>();
const CATEGORIES_KEPT = 1024;

function classify(category: string): TypeMapping {
  const byKeyword = alertTypeFromKeywords([category]);
  if (byKeyword !== undefined) return { type: byKeyword, atlasIds: [] };
  if (AI_SERVICE.test(category)) {
    if (IDENTITY_MISUSE.test(category))
      return { type: 'credential_misuse', atlasIds: ['AML.T0012'] };
    if (ANOMALY.test(category)) return { type: 'inference_spike', atlasIds: ['AML.T0040'] };
  }
  return { type: 'other', atlasIds: [] };
}

function isNotification(value: unknown): value is JsonObject & { finding: JsonObject } {
  if (!isJsonObject(value) || !isJsonObject(value.finding)) return false;
  const name = value.finding.name;
  return (
    typeof name === 'string' &&
    FINDING_NAME.test(name) &&
    typeof value.finding.category === 'string'
  );
}

function isEnvelope(value: unknown): value is JsonObject & { message: JsonObject } {
  return isJsonObject(value) && isJsonObject(value.message) && 'data' in value.message;
}

/**
 * The envelope `detect` decoded last: auto-detection normalises the payload
 * it has just detected, which then decodes and parses `message.data` once.
 * Taken by the next `normalize`, whatever its payload.
 */
let lastDetected: { message: JsonObject; data: unknown; decoded: unknown } | undefined;

/** The NotificationMessage in `message.data`; undefined when it is not base64 of a JSON object. */
function decodeData(data: unknown): unknown {
  if (typeof data !== 'string') return undefined;
  const compact = compactBase64(data);
  if (compact === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(compact, 'base64').toString('utf8'));
    return isJsonObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function notificationOf(payload: unknown): JsonObject {
  const detected = lastDetected;
  lastDetected = undefined;
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  if (!isEnvelope(payload)) return payload;
  const message = payload.message;
  const decoded =
    detected !== undefined && detected.message === message && detected.data === message.data
      ? detected.decoded
      : decodeData(message.data);
  if (decoded === undefined) {
    throw invalidField('message.data', 'must be the base64 of a JSON NotificationMessage', WHERE);
  }
  return decoded as JsonObject;
}

function requiredText(finding: JsonObject, key: string): string {
  const value = finding[key];
  const text = textAt(value)?.trim();
  if (text !== undefined) return text;
  if (value === undefined || value === null) throw missingField(`finding.${key}`, WHERE);
  throw invalidField(`finding.${key}`, 'must be a non-empty string', WHERE);
}

function modelOf(resourceName: string | undefined): ModelObservable | undefined {
  const match = resourceName === undefined ? null : VERTEX_RESOURCE.exec(resourceName.trim());
  if (!match) return undefined;
  const [, path = '', kind, , version] = match;
  const id = version === undefined ? path : path.slice(0, path.length - version.length - 1);
  return {
    id,
    ...(version === undefined ? {} : { version }),
    ...(kind === 'endpoints' ? { endpoint: resourceName?.trim() ?? id } : {}),
  };
}

export function normalizeSccNotification(payload: unknown, context?: SourceContext): AlertDraft {
  const notification = notificationOf(payload);
  if (notification.finding === undefined || notification.finding === null) {
    throw missingField('finding', WHERE);
  }
  if (!isJsonObject(notification.finding))
    throw invalidField('finding', 'must be an object', WHERE);
  const finding = notification.finding;
  const name = requiredText(finding, 'name');
  const category = requiredText(finding, 'category');
  const { type, atlasIds } = classifySccCategory(category);

  const severityLabel = textAt(finding.severity)?.trim().toUpperCase();
  const severityId =
    (severityLabel === undefined ? undefined : SEVERITY_BY_LABEL[severityLabel]) ??
    DEFAULT_SEVERITY;

  const access = objectAt(finding.access);
  const callerIp = textAt(access.callerIp)?.trim();
  const principal = textAt(access.principalEmail)?.trim();
  const resourceName = textAt(finding.resourceName) ?? textAt(objectAt(notification.resource).name);

  const observables = emptyObservables();
  if (callerIp !== undefined && isIpAddress(callerIp)) observables.ips = [callerIp];
  if (principal !== undefined) observables.users = [principal];
  const model = modelOf(resourceName);
  if (model !== undefined) observables.model = model;

  const mitre = objectAt(finding.mitreAttack);
  const tactic = textAt(mitre.primaryTactic);
  const techniques = arrayAt(mitre.primaryTechniques).filter(
    (t): t is string => textAt(t) !== undefined,
  );
  const state = textAt(finding.state);
  const findingClass = textAt(finding.findingClass);
  const description = [
    textAt(finding.description),
    resourceName !== undefined && `Resource: ${resourceName}.`,
    findingClass !== undefined && `Class: ${findingClass}.`,
    state !== undefined && `State: ${state}.`,
    tactic !== undefined && `MITRE ATT&CK: ${[tactic, ...techniques].join(', ')}.`,
  ]
    .filter(Boolean)
    .join(' ');

  const publishTime = isEnvelope(payload) ? epochMsOf(payload.message.publishTime) : undefined;

  return {
    source: { format: 'gcp-scc', product: 'Security Command Center', vendor: 'Google', uid: name },
    type,
    title: category,
    ...(description === '' ? {} : { description }),
    severityId,
    ...seenTimes(epochMsOf(finding.createTime), epochMsOf(finding.eventTime), publishTime),
    count: 1,
    observables: withSourceContext(observables, context),
    atlasTechniques: atlasTechniquesFor(type, atlasIds),
    dedupKey: `gcp-scc:${name}`,
    raw: payload,
  };
}

export const googleSccFormat: SourceFormat = {
  name: 'gcp-scc',
  description:
    'Google Security Command Center notification: a Pub/Sub push envelope (base64 message.data) or the decoded NotificationMessage',
  detect: (payload) => {
    if (isNotification(payload)) return true;
    if (!isEnvelope(payload) || typeof payload.subscription !== 'string') return false;
    const decoded = decodeData(payload.message.data);
    lastDetected = { message: payload.message, data: payload.message.data, decoded };
    return isNotification(decoded);
  },
  normalize: normalizeSccNotification,
};
