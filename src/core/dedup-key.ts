import type { AlertDraft } from './alert.js';
import { sha256Hex } from './sha256.js';

/**
 * The key under which repeats of one alert fold together: the source's own
 * key when it sent one, else a hash of what makes the alert the same alert
 * (format, type, model, title and the identifying observables), ignoring
 * times, counts and free text that change on every repeat.
 */
export function dedupKeyOf(draft: AlertDraft): string {
  if (draft.dedupKey) return draft.dedupKey;
  const o = draft.observables;
  const identity = [
    draft.source.format,
    draft.source.product,
    draft.type,
    draft.title,
    o.model?.id ?? '',
    o.model?.endpoint ?? '',
    o.dataset?.id ?? '',
    o.dataset?.hash ?? '',
    [...o.ips].sort().join(','),
    [...o.cidrs].sort().join(','),
    [...o.users].sort().join(','),
    [...o.apiKeyIds].sort().join(','),
    [...o.sessionIds].sort().join(','),
    o.toolCalls.map((t) => t.name).join(','),
  ].join('\u001f');
  return sha256Hex(identity).slice(0, 40);
}
