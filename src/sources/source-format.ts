import type { AlertDraft } from '../core/alert.js';

/**
 * What the sender knows about an alert that the payload may not say: AI
 * detection layers (LLM Guard, Bedrock Guardrails, Prompt Shields, …) answer
 * with a bare verdict, and only the application that called them knows which
 * model, session and user it was guarding. Sent as `?model=`/`?session=`/
 * `?user=` (or `X-Warden-*` headers), or `warden ingest --model/--session/--user`.
 *
 * @example { model: 'support-bot', session: 's-9f8e', user: 'u-42' }
 */
export interface SourceContext {
  /** Model (or deployment) id the verdict is about. */
  model?: string;
  /** Conversation or session id. */
  session?: string;
  /** End user the prompt came from. */
  user?: string;
  /**
   * Business unit the alert belongs to: used when the inventory attributes
   * the alert to no model (a verdict about a model it does not know).
   */
  business_unit?: string;
}

/**
 * One alert format Warden can read. A format is one file in `src/sources/`
 * registered in `source-registry.ts`; nothing else changes to add one.
 */
export interface SourceFormat {
  /** Stable name, used in `?source=NAME` and stored on the alert. */
  readonly name: string;
  readonly description: string;
  /** Cheap structural check used for auto-detection; never throws. */
  detect(payload: unknown): boolean;
  /**
   * Map one payload to a draft alert. `context` fills what the payload lacks;
   * a field the payload has wins. Throws `WardenError` with code
   * `missing_field` / `invalid_field` naming the field when the payload is unusable.
   */
  normalize(payload: unknown, context?: SourceContext): AlertDraft;
  /**
   * The alerts inside one payload, for formats whose payloads may hold several
   * or none (a Kibana rule action's `context.alerts`, a garak report row that
   * records no finding). Each part is normalised on its own with `normalize`,
   * and is the alert's `raw`; a part that is the payload itself reads as a
   * one-alert payload. `[]` means the payload carries no finding: it is
   * answered as `ignored`, neither stored nor refused. Never throws: a payload
   * it cannot split is returned whole, for `normalize` to refuse by field.
   * Absent: every payload is one alert.
   */
  expand?(payload: unknown): unknown[];
}
