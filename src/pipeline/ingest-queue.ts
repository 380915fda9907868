import type { EncodedAlert } from '../core/alert.js';

export interface IngestOutcome {
  id: string;
  status: 'new' | 'duplicate';
  caseId: string | null;
  caseNumber: number | null;
}

export interface BatchCommitInfo {
  alerts: number;
  duplicates: number;
  casesOpened: number;
  ms: number;
}

export interface IngestObserver {
  batchCommitted(info: BatchCommitInfo): void;
}

/**
 * Where prepared alerts go to be stored, deduplicated and correlated. Each
 * promise resolves only after the alerts are durably committed, so a caller
 * may acknowledge them. Implemented in-process (`IngestPipeline`) and on a
 * writer thread (`ThreadedIngest`).
 */
export interface IngestQueue {
  submit(alerts: readonly EncodedAlert[]): Promise<IngestOutcome[]>;
  /** Resolves when everything submitted so far is committed. */
  drain(): Promise<void>;
  /** Drains, then releases what the queue holds (a thread, a connection). */
  close(): Promise<void>;
}
