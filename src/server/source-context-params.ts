import { SOURCE_CONTEXT_FIELDS, sourceContextValue } from '../sources/source-context.js';
import type { SourceContext } from '../sources/source-format.js';

/** The header that carries each context field, for senders that cannot change the URL. */
export const SOURCE_CONTEXT_HEADERS = {
  model: 'x-warden-model',
  session: 'x-warden-session',
  user: 'x-warden-user',
  business_unit: 'x-warden-business-unit',
} as const;

/**
 * The sender context of an ingest request: `?model=`, `?session=`, `?user=`,
 * else the `X-Warden-Model`, `X-Warden-Session`, `X-Warden-User` headers (the
 * query wins when both are sent). An unusable value is a 400 naming the
 * parameter or header it came from.
 */
export function sourceContextOfRequest(
  query: Record<string, unknown>,
  headers: Record<string, unknown>,
): SourceContext {
  const context: SourceContext = {};
  for (const field of SOURCE_CONTEXT_FIELDS) {
    const header = SOURCE_CONTEXT_HEADERS[field];
    const value =
      query[field] !== undefined
        ? sourceContextValue(query[field], field)
        : sourceContextValue(headers[header], header);
    if (value !== undefined) context[field] = value;
  }
  return context;
}
