import {
  ALERT_TYPES,
  SEVERITY_LABELS,
  emptyObservables,
  isAlertType,
  isSeverityId,
  severityIdFromLabel,
} from '../core/alert.js';
import type {
  AlertDraft,
  AlertObservables,
  AlertSource,
  DatasetObservable,
  ModelObservable,
  SeverityId,
  ToolCallObservable,
} from '../core/alert.js';
import { atlasTechniquesFor, isAtlasTechniqueId } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isIpAddress, parseCidr } from '../core/ip-range.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import { withSourceContext } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { isoTime, optionalEpochMsField } from './time-field.js';

/**
 * Warden's own JSON alert format (snake_case), for tools that post to Warden
 * directly. Validated strictly: every error names the offending field by its
 * dotted path, e.g. `observables.ips[2]`.
 */

const WHERE = 'native alert';
const DEFAULT_SEVERITY: SeverityId = 3;

function isAbsent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

function invalid(field: string, problem: string): never {
  throw invalidField(field, problem, WHERE);
}

function optionalObject(value: unknown, field: string): JsonObject | undefined {
  if (isAbsent(value)) return undefined;
  return isJsonObject(value) ? value : invalid(field, 'must be an object');
}

function optionalText(value: unknown, field: string): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    return invalid(field, 'must be a non-empty string');
  }
  return value;
}

function requiredText(value: unknown, field: string): string {
  const text = optionalText(value, field);
  if (text === undefined) throw missingField(field, WHERE);
  return text;
}

/** Vendor ids and model versions are often numbers; they are kept as text. */
function optionalId(value: unknown, field: string): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return optionalText(value, field);
}

function readType(payload: JsonObject): AlertDraft['type'] {
  const type = payload.type;
  if (isAbsent(type)) throw missingField('type', WHERE);
  return isAlertType(type) ? type : invalid('type', `must be one of ${ALERT_TYPES.join(', ')}`);
}

function severityOf(value: unknown, field: string): SeverityId {
  if (isSeverityId(value)) return value;
  const fromLabel = typeof value === 'string' ? severityIdFromLabel(value.trim()) : undefined;
  if (fromLabel !== undefined) return fromLabel;
  return invalid(field, `must be one of ${SEVERITY_LABELS.join(', ')} or an integer 0-6`);
}

function readSeverity(payload: JsonObject): SeverityId {
  const { severity, severity_id: severityIdValue } = payload;
  const fromLabel = isAbsent(severity) ? undefined : severityOf(severity, 'severity');
  let fromId: SeverityId | undefined;
  if (!isAbsent(severityIdValue)) {
    fromId = isSeverityId(severityIdValue)
      ? severityIdValue
      : invalid('severity_id', 'must be an integer 0-6');
  }
  if (fromLabel !== undefined && fromId !== undefined && fromLabel !== fromId) {
    invalid('severity', `conflicts with severity_id ${fromId}`);
  }
  return fromId ?? fromLabel ?? DEFAULT_SEVERITY;
}

function readConfidence(value: unknown): number | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100) {
    return value;
  }
  return invalid('confidence', 'must be a number from 0 to 100');
}

function readCount(value: unknown): number {
  if (isAbsent(value)) return 1;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value;
  return invalid('count', 'must be a positive integer');
}

function readTimes(payload: JsonObject): { firstSeen: string; lastSeen: string } {
  const time = optionalEpochMsField(payload.time, 'time', WHERE);
  const first = optionalEpochMsField(payload.first_seen, 'first_seen', WHERE);
  const last = optionalEpochMsField(payload.last_seen, 'last_seen', WHERE);
  // With only one of first_seen/last_seen given, the alert is a single instant.
  const anchor = time ?? last ?? first ?? Date.now();
  const firstSeen = first ?? anchor;
  const lastSeen = last ?? anchor;
  if (firstSeen > lastSeen) invalid('first_seen', 'must not be later than last_seen (or time)');
  return { firstSeen: isoTime(firstSeen), lastSeen: isoTime(lastSeen) };
}

function readSource(value: unknown): AlertSource {
  const source = optionalObject(value, 'source') ?? {};
  const result: AlertSource = {
    format: 'native',
    product: optionalText(source.product, 'source.product') ?? 'unknown',
    vendor: optionalText(source.vendor, 'source.vendor') ?? 'unknown',
  };
  const uid = optionalId(source.uid, 'source.uid');
  if (uid !== undefined) result.uid = uid;
  return result;
}

function optionalArray(value: unknown, field: string): unknown[] {
  if (isAbsent(value)) return [];
  return Array.isArray(value) ? value : invalid(field, 'must be an array');
}

function readTextList(
  value: unknown,
  field: string,
  check?: { valid: (text: string) => boolean; problem: string },
): string[] {
  const texts = optionalArray(value, field).map((item, index) => {
    const itemField = `${field}[${index}]`;
    const text = requiredText(item, itemField);
    if (check && !check.valid(text)) invalid(itemField, check.problem);
    return text;
  });
  return [...new Set(texts)];
}

function readAtlasTechniques(value: unknown, type: AlertDraft['type']): string[] {
  const ids = readTextList(value, 'atlas_techniques', {
    valid: isAtlasTechniqueId,
    problem: 'must be a MITRE ATLAS technique id such as AML.T0051 or AML.T0051.001',
  });
  return atlasTechniquesFor(type, ids);
}

function readModel(value: unknown): ModelObservable | undefined {
  const model = optionalObject(value, 'observables.model');
  if (!model) return undefined;
  const result: ModelObservable = { id: requiredText(model.id, 'observables.model.id') };
  const version = optionalId(model.version, 'observables.model.version');
  const endpoint = optionalText(model.endpoint, 'observables.model.endpoint');
  const hash = optionalText(model.hash, 'observables.model.hash');
  if (version !== undefined) result.version = version;
  if (endpoint !== undefined) result.endpoint = endpoint;
  if (hash !== undefined) result.hash = hash;
  return result;
}

function readDataset(value: unknown): DatasetObservable | undefined {
  const dataset = optionalObject(value, 'observables.dataset');
  if (!dataset) return undefined;
  const result: DatasetObservable = { id: requiredText(dataset.id, 'observables.dataset.id') };
  const hash = optionalText(dataset.hash, 'observables.dataset.hash');
  const featureStore = optionalText(dataset.feature_store, 'observables.dataset.feature_store');
  if (hash !== undefined) result.hash = hash;
  if (featureStore !== undefined) result.featureStore = featureStore;
  return result;
}

function readToolCalls(value: unknown): ToolCallObservable[] {
  return optionalArray(value, 'observables.tool_calls').map((item, index) => {
    const field = `observables.tool_calls[${index}]`;
    if (!isJsonObject(item)) return invalid(field, 'must be an object');
    const call: ToolCallObservable = { name: requiredText(item.name, `${field}.name`) };
    if (item.arguments !== undefined) call.arguments = item.arguments;
    return call;
  });
}

function readObservables(value: unknown): AlertObservables {
  const input = optionalObject(value, 'observables');
  const observables = emptyObservables();
  if (!input) return observables;
  observables.ips = readTextList(input.ips, 'observables.ips', {
    valid: isIpAddress,
    problem: 'must be an IPv4 or IPv6 address',
  });
  observables.cidrs = readTextList(input.cidrs, 'observables.cidrs', {
    valid: (text) => parseCidr(text) !== undefined,
    problem: 'must be a CIDR range such as 203.0.113.0/24',
  });
  observables.users = readTextList(input.users, 'observables.users');
  observables.apiKeyIds = readTextList(input.api_key_ids, 'observables.api_key_ids');
  observables.sessionIds = readTextList(input.session_ids, 'observables.session_ids');
  observables.urls = readTextList(input.urls, 'observables.urls', {
    valid: (text) => URL.canParse(text),
    problem: 'must be an absolute URL',
  });
  observables.toolCalls = readToolCalls(input.tool_calls);
  const model = readModel(input.model);
  const dataset = readDataset(input.dataset);
  if (model) observables.model = model;
  if (dataset) observables.dataset = dataset;
  return observables;
}

function readDescription(value: unknown): string | undefined {
  if (isAbsent(value) || value === '') return undefined;
  return typeof value === 'string' ? value : invalid('description', 'must be a string');
}

export function normalizeNativeAlert(payload: unknown, context?: SourceContext): AlertDraft {
  if (!isJsonObject(payload)) return invalid('(root)', 'must be a JSON object');
  const type = readType(payload);
  const draft: AlertDraft = {
    source: readSource(payload.source),
    type,
    title: requiredText(payload.title, 'title'),
    severityId: readSeverity(payload),
    ...readTimes(payload),
    count: readCount(payload.count),
    observables: withSourceContext(readObservables(payload.observables), context),
    atlasTechniques: readAtlasTechniques(payload.atlas_techniques, type),
    raw: payload,
  };
  const description = readDescription(payload.description);
  const confidence = readConfidence(payload.confidence);
  const dedupKey = optionalText(payload.dedup_key, 'dedup_key');
  if (description !== undefined) draft.description = description;
  if (confidence !== undefined) draft.confidence = confidence;
  if (dedupKey !== undefined) draft.dedupKey = dedupKey;
  return draft;
}

export const nativeFormat: SourceFormat = {
  name: 'native',
  description: "Warden's own JSON alert format (snake_case)",
  // `class_uid` marks OCSF, whose payloads may also carry a `type` field.
  detect: (payload) =>
    isJsonObject(payload) && isAlertType(payload.type) && !('class_uid' in payload),
  normalize: normalizeNativeAlert,
};
