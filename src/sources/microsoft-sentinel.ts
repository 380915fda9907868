import { emptyObservables } from '../core/alert.js';
import type { AlertDraft, AlertObservables, ModelObservable, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor, isAtlasTechniqueId } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isIpAddress } from '../core/ip-range.js';
import { alertTypeFromAtlasTechniques, alertTypeFromKeywords } from './alert-type-inference.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import type { SourceFormat } from './source-format.js';
import { epochMsOf } from './time-field.js';
import { addTexts, arrayAt, objectAt, requiredIdAt, seenTimes, textAt } from './vendor-fields.js';

/**
 * A row of Microsoft Sentinel's SecurityAlert table, as a Logic App, the Log
 * Analytics query API or an export delivers it. Log Analytics stores the
 * dynamic columns `Entities`, `Techniques` and `SubTechniques` as JSON text;
 * they are read whether they arrive as text or already parsed.
 */

const WHERE = 'Sentinel SecurityAlert';

const SEVERITY_BY_LABEL: Readonly<Record<string, SeverityId>> = {
  informational: 1,
  low: 2,
  medium: 3,
  high: 4,
};

/** Azure OpenAI / AI Services and Azure ML resources: the deployment or endpoint is the model. */
const MODEL_RESOURCE =
  /\/providers\/Microsoft\.(?:CognitiveServices\/accounts|MachineLearningServices\/workspaces)\/([^/]+)(?:\/(?:deployments|onlineEndpoints|serverlessEndpoints)\/([^/]+))?/i;

function readSeverity(value: unknown): SeverityId {
  if (value === undefined || value === null || value === '') {
    throw missingField('AlertSeverity', WHERE);
  }
  const id = typeof value === 'string' ? SEVERITY_BY_LABEL[value.trim().toLowerCase()] : undefined;
  if (id === undefined) {
    throw invalidField('AlertSeverity', 'must be High, Medium, Low or Informational', WHERE);
  }
  return id;
}

/**
 * A dynamic column's value: parsed JSON text, or the value itself. Text that
 * is not JSON is refused for `Entities`, whose loss would hide every
 * observable, and read as absent elsewhere.
 */
function dynamicColumn(payload: JsonObject, column: string, strict: boolean): unknown {
  const value = payload[column];
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    if (strict) throw invalidField(column, 'must be a JSON array, or its JSON text', WHERE);
    return value;
  }
}

function readAtlasIds(payload: JsonObject): string[] {
  const ids = ['Techniques', 'SubTechniques'].flatMap((column) => {
    const value = dynamicColumn(payload, column, false);
    // Older rows hold a comma-separated list rather than a JSON array.
    return typeof value === 'string' ? value.split(/[,\s]+/) : arrayAt(value);
  });
  // Sentinel's technique columns are MITRE ATT&CK; only ATLAS ids are kept.
  return [
    ...new Set(ids.filter((id): id is string => typeof id === 'string' && isAtlasTechniqueId(id))),
  ];
}

function readTimes(payload: JsonObject): { firstSeen: string; lastSeen: string } {
  return seenTimes(
    epochMsOf(payload.StartTime),
    epochMsOf(payload.EndTime),
    epochMsOf(payload.TimeGenerated),
  );
}

function accountOf(entity: JsonObject): string | undefined {
  const name = textAt(entity.Name);
  const suffix = textAt(entity.UPNSuffix);
  // The UPN is how the same account is named in other alerts; a bare name is the fallback.
  if (name !== undefined && suffix !== undefined) return `${name}@${suffix}`;
  return name ?? textAt(entity.AadUserId);
}

function modelOf(entity: JsonObject): ModelObservable | undefined {
  const resourceId = textAt(entity.ResourceId);
  const match = resourceId === undefined ? null : MODEL_RESOURCE.exec(resourceId);
  const id = match?.[2] ?? match?.[1];
  return resourceId === undefined || id === undefined ? undefined : { id, endpoint: resourceId };
}

function readObservables(payload: JsonObject): AlertObservables {
  const entities = dynamicColumn(payload, 'Entities', true);
  if (entities !== undefined && entities !== null && !Array.isArray(entities)) {
    throw invalidField('Entities', 'must be a JSON array, or its JSON text', WHERE);
  }
  const ips = new Set<string>();
  const users = new Set<string>();
  const urls = new Set<string>();
  let model: ModelObservable | undefined;
  // Entities nested in others (a host's account) are referenced by `$ref`
  // and also listed at the top level, so the top level is enough.
  for (const item of arrayAt(entities)) {
    const entity = objectAt(item);
    const kind = typeof entity.Type === 'string' ? entity.Type.toLowerCase() : '';
    if (kind === 'ip') {
      const address = textAt(entity.Address);
      if (address !== undefined && isIpAddress(address)) ips.add(address);
    } else if (kind === 'account') {
      addTexts(users, accountOf(entity));
    } else if (kind === 'url') {
      const url = textAt(entity.Url);
      if (url !== undefined && URL.canParse(url)) urls.add(url);
    } else if (kind === 'azure-resource') {
      model ??= modelOf(entity);
    }
  }
  const observables: AlertObservables = {
    ...emptyObservables(),
    ips: [...ips],
    users: [...users],
    urls: [...urls],
  };
  if (model) observables.model = model;
  return observables;
}

export function normalizeSentinelSecurityAlert(payload: unknown): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const systemAlertId = requiredIdAt(payload.SystemAlertId, 'SystemAlertId', WHERE);
  const severityId = readSeverity(payload.AlertSeverity);
  const title = textAt(payload.AlertName) ?? textAt(payload.DisplayName);
  if (title === undefined) throw missingField('AlertName', WHERE);
  const atlasIds = readAtlasIds(payload);
  // AlertType names the detection for Defender alerts (for analytics rules it is an id, and harmless).
  const type =
    alertTypeFromAtlasTechniques(atlasIds) ??
    alertTypeFromKeywords([title, textAt(payload.DisplayName), textAt(payload.AlertType)]) ??
    'other';

  const draft: AlertDraft = {
    source: {
      format: 'sentinel',
      product: textAt(payload.ProductName) ?? 'Microsoft Sentinel',
      vendor: textAt(payload.VendorName) ?? 'Microsoft',
      uid: systemAlertId,
    },
    type,
    title,
    severityId,
    ...readTimes(payload),
    count: 1,
    observables: readObservables(payload),
    atlasTechniques: atlasTechniquesFor(type, atlasIds),
    // Sentinel writes a new row with the same SystemAlertId when an alert is
    // updated; those rows fold into one alert. The prefix keeps the id apart
    // from other formats' keys.
    dedupKey: `sentinel:${systemAlertId}`,
    raw: payload,
  };
  const description = textAt(payload.Description);
  if (description !== undefined) draft.description = description;
  return draft;
}

export const sentinelSecurityAlertFormat: SourceFormat = {
  name: 'sentinel',
  description: 'Microsoft Sentinel SecurityAlert table row',
  detect: (payload) =>
    isJsonObject(payload) &&
    typeof payload.SystemAlertId === 'string' &&
    'AlertSeverity' in payload &&
    ('AlertName' in payload || 'DisplayName' in payload),
  normalize: normalizeSentinelSecurityAlert,
};
