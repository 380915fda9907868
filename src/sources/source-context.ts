import type { AlertObservables } from '../core/alert.js';
import { emptyObservables } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import type { SourceContext } from './source-format.js';

/** Longest context value accepted: ids, not free text. */
export const SOURCE_CONTEXT_MAX_LENGTH = 200;

export const SOURCE_CONTEXT_FIELDS = ['model', 'session', 'user', 'business_unit'] as const;
export type SourceContextField = (typeof SOURCE_CONTEXT_FIELDS)[number];

/**
 * One context value as a sender gave it: undefined when absent, the text when
 * it is a non-blank string of at most 200 characters, else `invalid_field`
 * (HTTP 400: it is a request parameter, not part of the alert) naming `field`
 * as the sender wrote it (`model`, `x-warden-model`, `--model`).
 */
export function sourceContextValue(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  const invalid = (problem: string): WardenError =>
    new WardenError('invalid_field', `sender context: "${field}" ${problem}`, {
      field,
      status: 400,
    });
  // A repeated query parameter or header arrives as an array.
  if (typeof value !== 'string') throw invalid('must be given once, as a string');
  if (value.trim() === '') throw invalid('must be a non-empty string');
  if (value.length > SOURCE_CONTEXT_MAX_LENGTH) {
    throw invalid(`must be at most ${SOURCE_CONTEXT_MAX_LENGTH} characters`);
  }
  return value;
}

/**
 * The observables with the context filling what they lack: the model when
 * none is named, the session and user when the payload lists none. Returns a
 * new object; the payload's own values always win.
 */
export function withSourceContext(
  observables: AlertObservables,
  context: SourceContext | undefined,
): AlertObservables {
  if (context === undefined) return observables;
  const result: AlertObservables = { ...observables };
  if (result.model === undefined && context.model !== undefined) {
    result.model = { id: context.model };
  }
  if (result.sessionIds.length === 0 && context.session !== undefined) {
    result.sessionIds = [context.session];
  }
  if (result.users.length === 0 && context.user !== undefined) {
    result.users = [context.user];
  }
  return result;
}

/** Observables of a verdict that names none of its own: only the context's. */
export function sourceContextObservables(context: SourceContext | undefined): AlertObservables {
  return withSourceContext(emptyObservables(), context);
}
