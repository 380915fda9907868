import type { AlertDraft, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor, isAtlasTechniqueId } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { alertTypeFromAtlasTechniques, alertTypeFromKeywords } from './alert-type-inference.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { sourceContextObservables } from './source-context.js';
import { epochMsOf } from './time-field.js';
import { arrayAt, objectAt, requiredIdAt, seenTimes, textAt } from './vendor-fields.js';

/**
 * A row of Microsoft Sentinel's SecurityIncident table (Logic App, Log
 * Analytics query API or export): an incident groups alerts, so it arrives
 * without their entities; the sender context supplies model, session and
 * user. `AdditionalData` and `Labels` are dynamic columns, read as JSON text
 * or already parsed.
 */

const WHERE = 'Sentinel SecurityIncident';

const SEVERITY_BY_LABEL: Readonly<Record<string, SeverityId>> = {
  informational: 1,
  low: 2,
  medium: 3,
  high: 4,
};

function readSeverity(value: unknown): SeverityId {
  if (value === undefined || value === null || value === '') throw missingField('Severity', WHERE);
  const id = typeof value === 'string' ? SEVERITY_BY_LABEL[value.trim().toLowerCase()] : undefined;
  if (id === undefined) {
    throw invalidField('Severity', 'must be High, Medium, Low or Informational', WHERE);
  }
  return id;
}

/** A dynamic column: parsed JSON text, or the value itself; text that is not JSON reads as absent. */
function dynamicColumn(payload: JsonObject, column: string): unknown {
  const value = payload[column];
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function texts(value: unknown): string[] {
  return arrayAt(value).filter((v): v is string => typeof v === 'string');
}

export function normalizeSentinelIncident(payload: unknown, context?: SourceContext): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const incidentName = requiredIdAt(payload.IncidentName, 'IncidentName', WHERE);
  const title = textAt(payload.Title);
  if (title === undefined) throw missingField('Title', WHERE);
  const severityId = readSeverity(payload.Severity);
  const additional = objectAt(dynamicColumn(payload, 'AdditionalData'));
  // The technique lists are MITRE ATT&CK; only ATLAS ids are kept.
  const atlasIds = [
    ...new Set(
      [...texts(additional.techniques), ...texts(additional.subTechniques)].filter(
        isAtlasTechniqueId,
      ),
    ),
  ];
  const labels = arrayAt(dynamicColumn(payload, 'Labels'))
    .map((label) => textAt(objectAt(label).labelName) ?? textAt(label))
    .filter((label): label is string => label !== undefined);
  const type =
    alertTypeFromAtlasTechniques(atlasIds) ??
    alertTypeFromKeywords([title, ...labels, textAt(payload.Description)]) ??
    'other';
  const alertsCount = additional.alertsCount;
  const number = payload.IncidentNumber;

  const draft: AlertDraft = {
    source: {
      format: 'sentinel-incident',
      product: textAt(payload.ProviderName) ?? 'Microsoft Sentinel',
      vendor: 'Microsoft',
      uid: incidentName,
    },
    type,
    title: typeof number === 'number' ? `${title} (incident ${number})` : title,
    severityId,
    ...seenTimes(
      epochMsOf(payload.FirstActivityTime),
      epochMsOf(payload.LastActivityTime),
      epochMsOf(payload.CreatedTime) ?? epochMsOf(payload.TimeGenerated),
    ),
    // An incident's alert count grows as Sentinel adds alerts and rewrites the row.
    count:
      typeof alertsCount === 'number' && Number.isSafeInteger(alertsCount) && alertsCount > 0
        ? alertsCount
        : 1,
    countIsTotal: true,
    observables: sourceContextObservables(context),
    atlasTechniques: atlasTechniquesFor(type, atlasIds),
    // Every update of an incident is a new row with the same IncidentName.
    dedupKey: `sentinel-incident:${incidentName}`,
    raw: payload,
  };
  const description = textAt(payload.Description);
  if (description !== undefined) draft.description = description;
  return draft;
}

export const sentinelIncidentFormat: SourceFormat = {
  name: 'sentinel-incident',
  description: 'Microsoft Sentinel SecurityIncident table row',
  detect: (payload) =>
    isJsonObject(payload) &&
    typeof payload.IncidentName === 'string' &&
    'IncidentNumber' in payload &&
    'Title' in payload &&
    'Severity' in payload,
  normalize: normalizeSentinelIncident,
};
