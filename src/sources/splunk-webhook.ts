import { emptyObservables, isAlertType, severityIdFromLabel } from '../core/alert.js';
import type { AlertDraft, AlertObservables, AlertType, SeverityId } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isIpAddress, parseCidr } from '../core/ip-range.js';
import {
  alertTypeFromAtlasTechniques,
  alertTypeFromKeywords,
  atlasTechniqueIdsIn,
} from './alert-type-inference.js';
import { isJsonObject } from './json-object.js';
import type { JsonObject } from './json-object.js';
import type { SourceFormat } from './source-format.js';
import { epochMsOf } from './time-field.js';
import { seenTimes, textAt } from './vendor-fields.js';

/**
 * The body of Splunk's webhook alert action: `sid`, `search_name`, `app`,
 * `owner`, `results_link` and `result`, the fields of the search's first
 * result row. The row's fields are whatever the search produced, so they are
 * read by common (CIM-style) names and ignored when unusable: a webhook is
 * not retried, and refusing it would lose the alert.
 */

const WHERE = 'Splunk webhook alert';
const DEFAULT_SEVERITY: SeverityId = 3;

/** Result fields read for each observable, in priority order. */
const FIELDS = {
  type: ['alert_type', 'type'],
  // Severity before urgency: Splunk ES urgency already folds in asset
  // priority, which Warden's own inventory tiering adds again.
  severity: ['severity', 'urgency'],
  atlas: ['atlas_techniques', 'atlas_technique', 'mitre_atlas'],
  ips: ['src_ip', 'src', 'clientip', 'client_ip', 'source_ip', 'ip'],
  users: ['user', 'src_user', 'username', 'user_name'],
  apiKeyIds: ['api_key_id', 'access_key_id'],
  sessionIds: ['session_id'],
  urls: ['url'],
  modelId: ['model', 'model_id', 'model_name'],
  modelVersion: ['model_version'],
  modelEndpoint: ['model_endpoint', 'endpoint'],
  datasetId: ['dataset', 'dataset_id'],
  toolNames: ['tool', 'tool_name'],
  description: ['description', 'message'],
  firstTime: ['firstTime', 'first_seen', '_time'],
  lastTime: ['lastTime', 'last_seen', '_time'],
} as const satisfies Record<string, readonly string[]>;

/** Labels Splunk searches commonly use beyond the OCSF ones. */
const SEVERITY_ALIASES: Readonly<Record<string, SeverityId>> = { info: 1, warning: 3 };

/** A result field's usable value (text, or a number as text), trimmed. */
function usable(item: unknown): string | undefined {
  if (typeof item === 'number') return Number.isFinite(item) ? String(item) : undefined;
  return textAt(item)?.trim();
}

/**
 * Visits the result fields' usable values in name order, until `visit`
 * returns true: Splunk sends a multivalue field as an array of strings.
 * Plain loops: this runs a dozen times per alert.
 */
function eachValue(
  result: JsonObject,
  names: readonly string[],
  visit: (text: string) => boolean | void,
): void {
  for (const name of names) {
    const value = result[name];
    const items: readonly unknown[] = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const text = usable(item);
      if (text !== undefined && visit(text) === true) return;
    }
  }
}

function valuesOf(result: JsonObject, names: readonly string[]): string[] {
  const values: string[] = [];
  eachValue(result, names, (text) => {
    values.push(text);
  });
  return values;
}

/** The first value `accept` takes, read in the order of `valuesOf`. */
function firstValue<T = string>(
  result: JsonObject,
  names: readonly string[],
  accept: (text: string) => T | undefined = (text) => text as T,
): T | undefined {
  let found: T | undefined;
  eachValue(result, names, (text) => (found = accept(text)) !== undefined);
  return found;
}

function readSeverity(result: JsonObject): SeverityId {
  return (
    firstValue(
      result,
      FIELDS.severity,
      (value) => severityIdFromLabel(value) ?? SEVERITY_ALIASES[value.toLowerCase()],
    ) ?? DEFAULT_SEVERITY
  );
}

function readType(result: JsonObject, searchName: string, atlasIds: readonly string[]): AlertType {
  const named = firstValue(result, FIELDS.type, (value) =>
    isAlertType(value) ? value : undefined,
  );
  return (
    named ??
    alertTypeFromAtlasTechniques(atlasIds) ??
    alertTypeFromKeywords([searchName]) ??
    'other'
  );
}

function readTimes(result: JsonObject): { firstSeen: string; lastSeen: string } {
  return seenTimes(
    firstValue(result, FIELDS.firstTime, epochMsOf),
    firstValue(result, FIELDS.lastTime, epochMsOf),
  );
}

function readObservables(result: JsonObject): AlertObservables {
  const observables = emptyObservables();
  const addresses = valuesOf(result, FIELDS.ips);
  observables.ips = [...new Set(addresses.filter(isIpAddress))];
  observables.cidrs = [...new Set(addresses.filter((a) => !isIpAddress(a) && parseCidr(a)))];
  observables.users = [...new Set(valuesOf(result, FIELDS.users))];
  observables.apiKeyIds = [...new Set(valuesOf(result, FIELDS.apiKeyIds))];
  observables.sessionIds = [...new Set(valuesOf(result, FIELDS.sessionIds))];
  observables.urls = [...new Set(valuesOf(result, FIELDS.urls).filter((u) => URL.canParse(u)))];
  observables.toolCalls = [...new Set(valuesOf(result, FIELDS.toolNames))].map((name) => ({
    name,
  }));

  const endpoint = firstValue(result, FIELDS.modelEndpoint);
  // A search that only knows the serving endpoint still names the model by it;
  // the inventory looks models up by id, registry name or endpoint alike.
  const modelId = firstValue(result, FIELDS.modelId) ?? endpoint;
  if (modelId !== undefined) {
    const version = firstValue(result, FIELDS.modelVersion);
    observables.model = {
      id: modelId,
      ...(version === undefined ? {} : { version }),
      ...(endpoint === undefined ? {} : { endpoint }),
    };
  }
  const datasetId = firstValue(result, FIELDS.datasetId);
  if (datasetId !== undefined) observables.dataset = { id: datasetId };
  return observables;
}

function describeSearch(payload: JsonObject, searchName: string): string {
  const app = textAt(payload.app);
  const owner = textAt(payload.owner);
  const link = textAt(payload.results_link);
  const origin = [app && `app ${app}`, owner && `owner ${owner}`].filter(Boolean).join(', ');
  return [
    `Splunk alert "${searchName}"${origin ? ` (${origin})` : ''}.`,
    link && `Results: ${link}`,
  ]
    .filter(Boolean)
    .join(' ');
}

export function normalizeSplunkWebhookAlert(payload: unknown): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  const searchName = textAt(payload.search_name);
  if (searchName === undefined) {
    if (payload.search_name === undefined || payload.search_name === null) {
      throw missingField('search_name', WHERE);
    }
    throw invalidField('search_name', 'must be a non-empty string', WHERE);
  }
  if (payload.result !== undefined && payload.result !== null && !isJsonObject(payload.result)) {
    throw invalidField('result', 'must be an object (the fields of the first result row)', WHERE);
  }
  const result = isJsonObject(payload.result) ? payload.result : {};
  const atlasIds = atlasTechniqueIdsIn(valuesOf(result, FIELDS.atlas));
  const type = readType(result, searchName, atlasIds);
  const sid = textAt(payload.sid);

  // No dedup key of our own: a sid is one run of the search, so keying on it
  // would keep every scheduled run apart. Warden's content key (search name,
  // type, model and observables) folds repeated runs about the same entities.
  return {
    source: {
      format: 'splunk',
      product: 'Splunk',
      vendor: 'Splunk',
      ...(sid === undefined ? {} : { uid: sid }),
    },
    type,
    title: searchName,
    description: firstValue(result, FIELDS.description) ?? describeSearch(payload, searchName),
    severityId: readSeverity(result),
    ...readTimes(result),
    // A result's `count` is the search's event tally, not repeats of this
    // alert; one webhook call is one alert.
    count: 1,
    observables: readObservables(result),
    atlasTechniques: atlasTechniquesFor(type, atlasIds),
    raw: payload,
  };
}

export const splunkWebhookFormat: SourceFormat = {
  name: 'splunk',
  description:
    "Splunk webhook alert action body (sid, search_name, result: the first result's fields)",
  detect: (payload) =>
    isJsonObject(payload) &&
    typeof payload.sid === 'string' &&
    typeof payload.search_name === 'string' &&
    (isJsonObject(payload.result) || typeof payload.results_link === 'string'),
  normalize: normalizeSplunkWebhookAlert,
};
