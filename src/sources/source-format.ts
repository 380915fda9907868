import type { AlertDraft } from '../core/alert.js';

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
   * Map one payload to a draft alert. Throws `WardenError` with code
   * `missing_field` / `invalid_field` naming the field when the payload is unusable.
   */
  normalize(payload: unknown): AlertDraft;
}
