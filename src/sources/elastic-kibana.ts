import type { AlertDraft, AlertType, SeverityId } from '../core/alert.js';
import { emptyObservables } from '../core/alert.js';
import { atlasTechniquesFor } from '../core/atlas.js';
import { invalidField, missingField } from '../core/errors.js';
import { isIpAddress } from '../core/ip-range.js';
import { alertTypeFromAtlasTechniques, alertTypeFromKeywords } from './alert-type-inference.js';
import { isJsonObject } from './json-object.js';
import { withSourceContext } from './source-context.js';
import type { SourceContext, SourceFormat } from './source-format.js';
import { epochMsOf } from './time-field.js';
import { arrayAt, seenTimes, textAt } from './vendor-fields.js';

/**
 * Kibana alerting / Elastic Security rule actions (Webhook connector). The
 * body is whatever the action's template renders, so two shapes are read:
 * one alert document (its `kibana.alert.*` fields flattened as
 * `"kibana.alert.rule.name"` keys, nested as objects, or a mix), and a body
 * holding the action's `context.alerts` array, as `context.alerts` or as the
 * recommended template's top-level `alerts` beside a `rule` object. The
 * second expands into one alert per element.
 */

const WHERE = 'Kibana alert';
const RULE_NAME = 'kibana.alert.rule.name';

/** `kibana.alert.severity` → severity. */
const SEVERITY_BY_LABEL: Readonly<Record<string, SeverityId>> = {
  low: 2,
  medium: 3,
  high: 4,
  critical: 5,
};

/** `kibana.alert.risk_score` bands (Elastic's own severity defaults), highest first. */
const SEVERITY_BY_RISK: ReadonlyArray<readonly [number, SeverityId]> = [
  [74, 5],
  [48, 4],
  [22, 3],
  [0, 2],
];
const DEFAULT_SEVERITY: SeverityId = 3;

const ATLAS_ID = /^AML\.T\d{4}(?:\.\d{3})?$/;

/**
 * A field by its dotted ECS name, whether the document flattens it
 * (`"kibana.alert.uuid"`), nests it (`kibana: { alert: { uuid } }`) or mixes
 * the two (`kibana: { "alert.uuid": … }`).
 */
export function ecsField(doc: unknown, path: string): unknown {
  if (!isJsonObject(doc)) return undefined;
  if (Object.hasOwn(doc, path)) return doc[path];
  // Longest head first; runs for every payload format detection tries, so no split and join.
  for (let dot = path.lastIndexOf('.'); dot > 0; dot = path.lastIndexOf('.', dot - 1)) {
    const head = path.slice(0, dot);
    if (Object.hasOwn(doc, head)) {
      const found = ecsField(doc[head], path.slice(dot + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Text values of a field that may be one value or an array of them. */
function textsAt(doc: unknown, path: string): string[] {
  const value = ecsField(doc, path);
  const items: unknown[] = Array.isArray(value) ? value : [value];
  return items.filter((v): v is string => textAt(v) !== undefined).map((v) => v.trim());
}

function isKibanaAlert(value: unknown): boolean {
  return (
    typeof ecsField(value, RULE_NAME) === 'string' ||
    typeof ecsField(value, 'kibana.alert.uuid') === 'string'
  );
}

/** The action's `context.alerts`, or the template's `alerts` beside `rule`; undefined for one alert. */
function alertsOf(payload: unknown): unknown[] | undefined {
  if (!isJsonObject(payload) || isKibanaAlert(payload)) return undefined;
  if (isJsonObject(payload.context) && Array.isArray(payload.context.alerts)) {
    return payload.context.alerts as unknown[];
  }
  if (Array.isArray(payload.alerts) && isJsonObject(payload.rule)) {
    return payload.alerts as unknown[];
  }
  return undefined;
}

/** ATLAS ids among the rule's threat techniques and sub-techniques (ATT&CK ids are ignored). */
function atlasIdsOf(doc: unknown): string[] {
  const ids = arrayAt(ecsField(doc, 'kibana.alert.rule.threat'))
    .flatMap((threat) => arrayAt(ecsField(threat, 'technique')))
    .flatMap((technique) => [
      ecsField(technique, 'id'),
      ...arrayAt(ecsField(technique, 'subtechnique')).map((sub) => ecsField(sub, 'id')),
    ])
    .filter((id): id is string => typeof id === 'string' && ATLAS_ID.test(id.trim()))
    .map((id) => id.trim());
  return [...new Set(ids)];
}

function riskScoreOf(doc: unknown): number | undefined {
  const value = ecsField(doc, 'kibana.alert.risk_score');
  const score = typeof value === 'string' ? Number(value) : value;
  return typeof score === 'number' && Number.isFinite(score) && score >= 0 && score <= 100
    ? score
    : undefined;
}

function severityOf(doc: unknown, risk: number | undefined): SeverityId {
  const label = textAt(ecsField(doc, 'kibana.alert.severity'))?.trim().toLowerCase();
  const byLabel = label === undefined ? undefined : SEVERITY_BY_LABEL[label];
  if (byLabel !== undefined) return byLabel;
  if (risk !== undefined) return SEVERITY_BY_RISK.find(([floor]) => risk >= floor)?.[1] ?? 2;
  return DEFAULT_SEVERITY;
}

function instantOf(doc: unknown, paths: readonly string[]): number | undefined {
  return paths.map((p) => epochMsOf(ecsField(doc, p))).find((ms) => ms !== undefined);
}

export function normalizeKibanaAlert(payload: unknown, context?: SourceContext): AlertDraft {
  if (!isJsonObject(payload)) throw invalidField('(root)', 'must be a JSON object', WHERE);
  if (alertsOf(payload) !== undefined) {
    throw invalidField('context.alerts', 'holds several alerts: expand the payload first', WHERE);
  }
  const ruleNameValue = ecsField(payload, RULE_NAME);
  const ruleName = textAt(ruleNameValue)?.trim();
  if (ruleName === undefined) {
    if (ruleNameValue === undefined || ruleNameValue === null) throw missingField(RULE_NAME, WHERE);
    throw invalidField(RULE_NAME, 'must be a non-empty string', WHERE);
  }
  const atlasIds = atlasIdsOf(payload);
  const type: AlertType =
    alertTypeFromAtlasTechniques(atlasIds) ?? alertTypeFromKeywords([ruleName]) ?? 'other';
  const risk = riskScoreOf(payload);
  const uuid = textAt(ecsField(payload, 'kibana.alert.uuid'))?.trim();
  const hosts = [...new Set(textsAt(payload, 'host.name'))];

  const observables = emptyObservables();
  observables.ips = [...new Set(textsAt(payload, 'source.ip').filter(isIpAddress))];
  observables.users = [...new Set(textsAt(payload, 'user.name'))];

  const reason =
    textAt(ecsField(payload, 'kibana.alert.reason')) ??
    textAt(ecsField(payload, 'kibana.alert.rule.description'));
  const description = [
    reason,
    hosts.length > 0 && `Host: ${hosts.join(', ')}.`,
    risk !== undefined && `Risk score ${risk}.`,
  ]
    .filter(Boolean)
    .join(' ');

  return {
    source: {
      format: 'elastic',
      product: 'Kibana',
      vendor: 'Elastic',
      ...(uuid === undefined ? {} : { uid: uuid }),
    },
    type,
    title: ruleName,
    ...(description === '' ? {} : { description }),
    severityId: severityOf(payload, risk),
    // The source event's time to the last detection (else the alert document's own time).
    ...seenTimes(
      instantOf(payload, ['kibana.alert.original_time', 'kibana.alert.start']),
      instantOf(payload, ['kibana.alert.last_detected', '@timestamp']),
    ),
    count: 1,
    observables: withSourceContext(observables, context),
    atlasTechniques: atlasTechniquesFor(type, atlasIds),
    ...(uuid === undefined ? {} : { dedupKey: `elastic:${uuid}` }),
    raw: payload,
  };
}

export const elasticKibanaFormat: SourceFormat = {
  name: 'elastic',
  description:
    'Kibana / Elastic Security rule action webhook: one alert document (kibana.alert.*), or a body with context.alerts',
  detect: (payload) => {
    if (!isJsonObject(payload)) return false;
    if (isKibanaAlert(payload)) return true;
    const alerts = alertsOf(payload);
    return alerts !== undefined && alerts.length > 0 && alerts.every(isKibanaAlert);
  },
  normalize: normalizeKibanaAlert,
  expand: (payload) => alertsOf(payload) ?? [payload],
};
