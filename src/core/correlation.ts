import type { AlertFacts } from './alert.js';
import { normalizeCidrText, sourceRangeOf } from './ip-range.js';

/**
 * The keys that make two alerts "related": same model and source range,
 * same user, session or API key, same dataset. An alert joins an open case
 * that shares any key within the correlation window. Alerts that carry no
 * such entity correlate on model and alert type, so that (say) repeated drift
 * alerts on one model become one case while two bursts from different ranges
 * stay two cases.
 */
export function correlationKeysOf(alert: AlertFacts): string[] {
  const o = alert.observables;
  const model = alert.enrichment.modelId ?? o.model?.id ?? '*';
  const keys = new Set<string>();
  for (const ip of o.ips) {
    const range = sourceRangeOf(ip);
    if (range) keys.add(`range:${model}:${range}`);
  }
  for (const cidr of o.cidrs) keys.add(`range:${model}:${normalizeCidrText(cidr)}`);
  for (const user of o.users) keys.add(`user:${user.toLowerCase()}`);
  for (const session of o.sessionIds) keys.add(`session:${session}`);
  for (const key of o.apiKeyIds) keys.add(`apikey:${key}`);
  if (o.dataset) {
    keys.add(`dataset:${o.dataset.id}`);
    if (o.dataset.hash) keys.add(`dataset-hash:${o.dataset.hash}`);
  }
  if (keys.size === 0) keys.add(`model:${model}:${alert.type}`);
  return [...keys];
}

/** Whether a case last seen at `caseLastSeen` may still absorb an alert first seen at `alertTime`. */
export function withinWindow(caseLastSeen: string, alertTime: string, windowMs: number): boolean {
  return Date.parse(alertTime) - Date.parse(caseLastSeen) <= windowMs;
}
