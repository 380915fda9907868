import type { EncodedAlert } from '../core/alert.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { SourceContext } from '../sources/source-format.js';
import { findSourceFormat, normalizePayload } from '../sources/source-registry.js';
import type {
  DeadLetterRecord,
  DeadLetterReplayResult,
  Page,
  PageRequest,
  Store,
} from '../store/store.js';
import type { AlertPreparer } from './alert-preparer.js';
import type { IngestOutcome, IngestQueue } from './ingest-queue.js';

/** Why an alert was refused, and what arrived: the makings of a dead letter. */
export interface DeadLetterDraft {
  /** The `?source=` the sender named; undefined when the format was to be detected. */
  source: string | undefined;
  error: WardenError;
  /** The payload's JSON text as received. */
  body: string;
}

export interface DeadLetterReplayOptions {
  /** Format to read the body as; default: the one the sender named, else detected. */
  source?: string;
  /** Sender context for the replay (the original request's is not kept). */
  context?: SourceContext;
  /** Who asked, for the audit log. */
  actor: string;
}

export type DeadLetterReplay =
  | { deadLetter: DeadLetterRecord; outcome: IngestOutcome }
  | { deadLetter: DeadLetterRecord; error: WardenError };

/** What replaying every pending dead letter did (see `replayPending`). */
export interface PendingReplaySummary {
  /** Dead letters replayed: stored as alerts, or refused again. */
  replayed: number;
  /** Of those, stored as alerts (new or duplicate). */
  stored: number;
  /** Of those, refused again: each keeps its new reason. */
  refused: number;
  /** Pending dead letters left for a later call (beyond `limit`). */
  remaining: number;
  /** Per dead letter, oldest first. */
  results: { deadLetterId: string; result: DeadLetterReplayResult }[];
}

/** Dead letters replayed together: one ingest submission and one transaction per chunk. */
const REPLAY_CHUNK = 500;

/**
 * Alerts the ingest API refused, kept (when `ingest.dead_letter` is on) so an
 * operator can see what arrived and replay it once Warden, or the choice of
 * format, can read it. A replay goes through the ordinary ingest path; one
 * refused again stays a dead letter with the new reason.
 */
export class DeadLetterWorkflow {
  constructor(
    private readonly deps: { store: Store; preparer: AlertPreparer; ingest: IngestQueue },
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Stores the drafts in one transaction; their ids, in order. */
  async record(drafts: readonly DeadLetterDraft[]): Promise<string[]> {
    if (drafts.length === 0) return [];
    const now = this.clock();
    const records = drafts.map(({ source, error, body }): DeadLetterRecord => ({
      id: uuidv7(now.getTime()),
      receivedAt: now.toISOString(),
      source: source ?? null,
      reasonCode: error.code,
      reason: error.message,
      field: error.field ?? null,
      body,
      replayedAt: null,
      replayResult: null,
    }));
    await this.deps.store.transaction(async (tx) => {
      for (const record of records) await tx.insertDeadLetter(record);
    });
    return records.map((r) => r.id);
  }

  list(page: PageRequest): Promise<Page<DeadLetterRecord>> {
    return this.deps.store.listDeadLetters(page);
  }

  async get(id: string): Promise<DeadLetterRecord> {
    const deadLetter = await this.deps.store.getDeadLetter(id);
    if (!deadLetter) throw new WardenError('not_found', `dead letter ${id} not found`);
    return deadLetter;
  }

  /**
   * Replays every pending dead letter (never replayed, or refused again),
   * oldest first, at most `limit`: after a new format or a fixed
   * configuration, the backlog in one call. Dead letters go through ingest
   * in chunks, each chunk submitted at once and its results recorded in one
   * transaction, with an audit entry per dead letter as `replay` writes.
   */
  async replayPending(
    options: DeadLetterReplayOptions & {
      limit: number;
      /** Told after each chunk: how many of `total` are done. */
      progress?: (done: number, total: number) => void;
    },
  ): Promise<PendingReplaySummary> {
    if (options.source !== undefined) findSourceFormat(options.source);
    const pending: DeadLetterRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.listDeadLetters({
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      for (const d of page.items) if (isPending(d)) pending.push(d);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    pending.reverse(); // listed newest first
    const chosen = pending.slice(0, options.limit);
    const summary: PendingReplaySummary = {
      replayed: 0,
      stored: 0,
      refused: 0,
      remaining: pending.length - chosen.length,
      results: [],
    };
    for (let i = 0; i < chosen.length; i += REPLAY_CHUNK) {
      const chunk = chosen.slice(i, i + REPLAY_CHUNK);
      const replays = await this.replayChunk(chunk, options);
      for (const [index, replay] of replays.entries()) {
        const result = resultOf(replay);
        summary.results.push({ deadLetterId: chunk[index]?.id ?? '', result });
        summary.replayed += 1;
        if (result.status === 'rejected') summary.refused += 1;
        else summary.stored += 1;
      }
      options.progress?.(summary.replayed, chosen.length);
    }
    return summary;
  }

  /**
   * Replays dead letters together: the readable ones in one ingest
   * submission, every result recorded in one transaction with an audit entry
   * each. Per dead letter, in order: the alert it became, or why it was
   * refused again.
   */
  private async replayChunk(
    chunk: readonly DeadLetterRecord[],
    options: DeadLetterReplayOptions,
  ): Promise<Replayed[]> {
    const replays: (Replayed | undefined)[] = [];
    const prepared: EncodedAlert[] = [];
    const preparedAt: number[] = [];
    chunk.forEach((deadLetter, index) => {
      const source = options.source ?? deadLetter.source ?? undefined;
      try {
        prepared.push(
          this.deps.preparer.prepare(
            normalizePayload(parseBody(deadLetter.body), source, options.context),
            deadLetter.body,
          ),
        );
        preparedAt.push(index);
        replays.push(undefined);
      } catch (thrown) {
        replays.push({ error: refusal(thrown) });
      }
    });
    if (prepared.length > 0) {
      let outcomes: IngestOutcome[];
      try {
        outcomes = await this.deps.ingest.submit(prepared);
      } catch (thrown) {
        const error = refusal(thrown);
        outcomes = [];
        for (const index of preparedAt) replays[index] = { error };
      }
      outcomes.forEach((outcome, i) => {
        replays[preparedAt[i] ?? -1] = { outcome };
      });
    }
    const done = replays.map((replay, index) => {
      if (!replay) throw new Error(`no ingest outcome for dead letter ${chunk[index]?.id}`);
      return replay;
    });
    const at = this.clock().toISOString();
    await this.deps.store.transaction(async (tx) => {
      for (const [index, deadLetter] of chunk.entries()) {
        const result = resultOf(done[index] as Replayed);
        await tx.markDeadLetterReplayed(deadLetter.id, at, result);
        await tx.appendAudit({
          at,
          actor: options.actor,
          action: 'deadletter.replayed',
          subject: deadLetter.id,
          data: { source: options.source ?? deadLetter.source ?? null, result },
        });
      }
    });
    return done;
  }

  /**
   * Re-submits the stored body. A dead letter already replayed into an alert
   * is a `conflict`: a second replay would count the alert twice.
   */
  async replay(id: string, options: DeadLetterReplayOptions): Promise<DeadLetterReplay> {
    const deadLetter = await this.get(id);
    const done = deadLetter.replayResult;
    if (done && done.status !== 'rejected') {
      throw new WardenError(
        'conflict',
        `dead letter ${id} was replayed already, as alert ${done.alertId}`,
      );
    }
    // A format name the caller got wrong is their mistake, not the dead letter's.
    if (options.source !== undefined) findSourceFormat(options.source);
    const [replay] = await this.replayChunk([deadLetter], options);
    return { deadLetter: await this.get(id), ...(replay as Replayed) };
  }
}

/** What replaying one dead letter gave. */
type Replayed = { outcome: IngestOutcome } | { error: WardenError };

/** Only a refusal of the payload is a replay's result; a failing store is the caller's to retry. */
function refusal(thrown: unknown): WardenError {
  if (!(thrown instanceof WardenError) || thrown.status >= 500) throw thrown;
  return thrown;
}

function resultOf(replay: Replayed): DeadLetterReplayResult {
  return 'outcome' in replay
    ? { status: replay.outcome.status, alertId: replay.outcome.id, caseId: replay.outcome.caseId }
    : {
        status: 'rejected',
        code: replay.error.code,
        message: replay.error.message,
        field: replay.error.field ?? null,
      };
}

/** Not yet replayed into an alert: never replayed, or refused again. */
function isPending(deadLetter: DeadLetterRecord): boolean {
  return deadLetter.replayResult === null || deadLetter.replayResult.status === 'rejected';
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WardenError(
      'malformed_json',
      `dead letter body is not valid JSON: ${(error as Error).message}`,
    );
  }
}
