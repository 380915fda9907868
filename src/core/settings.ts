/** Tunables of the ingest pipeline. */
export interface PipelineSettings {
  /**
   * A repeat of an alert (same dedup key) within this window increments the
   * stored alert's count instead of storing a new alert.
   * @default 3_600_000 (one hour)
   */
  dedupWindowMs: number;
  /**
   * A related alert joins an open case whose last alert was seen within this window.
   * @default 86_400_000 (24 hours)
   */
  correlationWindowMs: number;
  /**
   * While alerts keep arriving, a case they join has its row (and timeline)
   * rewritten about this often, at most: once the case held back longest
   * has waited this long, every held-back case is written, in case-number
   * order, over the next commits. The alerts themselves are stored and
   * linked at once (reads bring the case up to them), and the case is
   * written once ingest pauses.
   * 0 writes every case with each commit.
   * @default 1000
   */
  caseWriteIntervalMs: number;
}

export const DEFAULT_PIPELINE_SETTINGS: Readonly<PipelineSettings> = Object.freeze({
  dedupWindowMs: 60 * 60 * 1000,
  correlationWindowMs: 24 * 60 * 60 * 1000,
  caseWriteIntervalMs: 1000,
});
