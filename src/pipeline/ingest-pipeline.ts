import { linkingFactsOf, type AlertFacts, type EncodedAlert } from '../core/alert.js';
import {
  caseHasCorrelationKey,
  linkAlertToCase,
  openCaseFor,
  recordRepeatOnCase,
  type Case,
} from '../core/case.js';
import { correlationKeysOf } from '../core/correlation.js';
import { isoTime } from '../core/iso-time.js';
import { uuidv7 } from '../core/ids.js';
import type { PipelineSettings } from '../core/settings.js';
import type { Store, StoreTransaction, WrittenCase } from '../store/store.js';
import { waitBriefly } from './group-committer.js';
import type { IngestObserver, IngestOutcome, IngestQueue } from './ingest-queue.js';

export type { IngestObserver, IngestOutcome } from './ingest-queue.js';

export interface IngestPipelineOptions {
  store: Store;
  settings: PipelineSettings;
  /** @default () => new Date() */
  clock?: () => Date;
  observer?: IngestObserver;
  /**
   * Most alerts committed in one transaction; more wait for the next one.
   * @default 2000
   */
  maxBatch?: number;
  /**
   * How long ingest must pause before every held-back case is written.
   * @default QUIET_CASE_WRITE_DELAY_MS
   */
  pauseMs?: number;
  /**
   * Called inside the transaction that opens a case, with the alert that
   * opened it: what it writes (the case's playbook runs) commits with the case.
   */
  caseOpened?: (
    tx: StoreTransaction,
    c: Case,
    alert: AlertFacts,
    /** The alert's payload as stored (JSON text). */
    raw: string,
  ) => Promise<unknown>;
}

interface Pending {
  encoded: EncodedAlert;
  resolve: (outcome: IngestOutcome) => void;
  reject: (error: unknown) => void;
}

interface TouchedCase {
  value: Case;
  isNew: boolean;
  /** The alert that opened a new case. */
  openedBy?: EncodedAlert;
  linkedAlertIds: string[];
  repeats: number;
  newKeys: Set<string>;
  severityBefore: number | null;
}

/** What alerts did to a case since its row was last written, for its timeline. */
interface UnwrittenSummary {
  /** A few of the linked alerts' ids. */
  alertIds: string[];
  linked: number;
  repeats: number;
  severityBefore: number;
  /** When the case was first held back (performance.now()). */
  since: number;
  /** The case's number: rounds write cases in this order, the order of their rows. */
  number: number;
}

function combine(earlier: UnwrittenSummary, later: UnwrittenSummary): UnwrittenSummary {
  return {
    alertIds: [...earlier.alertIds, ...later.alertIds].slice(0, 5),
    linked: earlier.linked + later.linked,
    repeats: earlier.repeats + later.repeats,
    severityBefore: earlier.severityBefore,
    since: earlier.since,
    number: earlier.number,
  };
}

/** Correlation keys remembered (see `keyHints`); past this the memory starts over. */
const MAX_KEY_HINTS = 200_000;

/** Cases held unwritten at once, at most: past it a round of writes starts, however young they are. */
const MAX_UNWRITTEN_CASES = 4096;

/**
 * Held-back cases one commit writes, at most: a round's cases are written
 * over several commits instead of stalling one.
 */
const MAX_CASES_WRITTEN_PER_COMMIT = 256;

/**
 * Held-back cases a commit of a few alerts writes along, at most: their
 * senders wait for that commit, so a round goes on in smaller steps there
 * (with 256, single-alert requests' p99 rose by about 5 ms, for no less
 * CPU). A commit of more alerts writes as many cases as it has alerts, up
 * to `MAX_CASES_WRITTEN_PER_COMMIT`, so that batched ingest, with fewer
 * and larger commits, still ends a round well within the interval.
 */
const CASES_WRITTEN_WITH_ALERTS = 64;

/**
 * Ingest has paused once no batch came for this long: the held-back cases
 * are then written, so that the case list and timelines catch up. Under
 * load the gaps between batches are shorter, and cases wait for their
 * interval instead. (At 10 ms, the request thread's own pauses over batched
 * HTTP ingest passed for ingest pausing, and every held-back case was
 * written again and again.)
 */
export const QUIET_CASE_WRITE_DELAY_MS = 100;

const ISO_ZERO = '1970-01-01T00:00:00.000Z';
const INGEST_ACTOR = 'system:ingest';

function isoBefore(epochMs: number, ms: number): string {
  const t = epochMs - ms;
  return t <= 0 ? ISO_ZERO : isoTime(t);
}

/**
 * Alerts in, cases out, with group commit: every prepared alert waiting when
 * the store is free goes into one transaction, and each caller's promise
 * resolves only after that transaction is durable. The next batch's
 * transaction starts as soon as the previous one has committed, while the
 * store makes it durable; callers still hear in commit order.
 */
export class IngestPipeline implements IngestQueue {
  private readonly store: Store;
  private readonly settings: PipelineSettings;
  private readonly clock: () => Date;
  private readonly observer: IngestObserver | undefined;
  private readonly maxBatch: number;
  private readonly pauseMs: number;
  private readonly caseOpened: IngestPipelineOptions['caseOpened'];
  private queue: Pending[] = [];
  private flushing = false;
  /** Settles once the callers of every batch taken so far have been told, in order. */
  private settled: Promise<void> = Promise.resolve();
  /** Cases alerts changed whose rows wait (see `PipelineSettings.caseWriteIntervalMs`), the longest held first. */
  private unwritten = new Map<string, UnwrittenSummary>();
  /** The current round's cases still to write (see `nextChunk`), the next last. */
  private round: string[] = [];
  /** A crash (or a failed write) may have left cases unwritten: the next commit or quiet moment writes them all. */
  private mayHaveUnwritten: boolean;
  private intervalTimer: NodeJS.Timeout | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  /** Batches taken so far. */
  private batchesTaken = 0;
  /** `batchesTaken` when ingest was last found paused: until the next batch, quiet moments write every held-back case. */
  private pausedAt = -1;
  /** A drain asked for every held-back case to be written. */
  private drainRequested = false;
  /**
   * The case each correlation key last led to. Most alerts join a case
   * found before, and checking that case (cached) costs less than the
   * store's key lookup. A hint only: the case must still be open and within
   * the window, or the store is asked.
   */
  private readonly keyHints = new Map<string, string>();

  constructor(options: IngestPipelineOptions) {
    this.store = options.store;
    this.settings = options.settings;
    this.clock = options.clock ?? (() => new Date());
    this.observer = options.observer;
    this.maxBatch = options.maxBatch ?? 2000;
    this.pauseMs = options.pauseMs ?? QUIET_CASE_WRITE_DELAY_MS;
    this.caseOpened = options.caseOpened;
    this.mayHaveUnwritten = this.defers();
    if (this.mayHaveUnwritten) this.scheduleFlush();
  }

  private defers(): boolean {
    return this.store.defersCaseWrites && this.settings.caseWriteIntervalMs > 0;
  }

  submit(alerts: readonly EncodedAlert[]): Promise<IngestOutcome[]> {
    const outcomes = alerts.map(
      (encoded) =>
        new Promise<IngestOutcome>((resolve, reject) => {
          this.queue.push({ encoded, resolve, reject });
        }),
    );
    this.scheduleFlush();
    return Promise.all(outcomes);
  }

  /** Resolves when everything queued so far is durably committed (or has failed). */
  async drain(): Promise<void> {
    if (this.unwritten.size > 0) {
      this.drainRequested = true;
      this.scheduleFlush();
    }
    while (this.queue.length > 0 || this.flushing) {
      await new Promise((r) => setImmediate(r));
    }
    this.drainRequested = false;
    await this.settled;
  }

  close(): Promise<void> {
    clearTimeout(this.intervalTimer);
    this.intervalTimer = undefined;
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    return this.drain();
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    // Let the current tick's requests join the batch before committing.
    setImmediate(() => void this.flushLoop());
  }

  private async flushLoop(): Promise<void> {
    for (;;) {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        this.batchesTaken += 1;
        const started = performance.now();
        const { committed, durable } = this.store.stagedTransaction((tx) =>
          this.commitBatch(tx, batch),
        );
        // Callers hear once the batch is durable, after those of earlier batches.
        const outcome = durable.then(
          (result) => () => {
            batch.forEach((p, i) => p.resolve(result.outcomes[i] as IngestOutcome));
            this.observer?.batchCommitted({
              alerts: batch.length,
              duplicates: result.duplicates,
              casesOpened: result.casesOpened,
              ms: performance.now() - started,
            });
          },
          (error: unknown) => () => {
            for (const p of batch) p.reject(error);
          },
        );
        this.settled = Promise.all([this.settled, outcome]).then(([, tell]) => {
          try {
            tell();
          } catch {
            // An observer's error: the callers have their outcomes already.
          }
        });
        // The next batch may start once this one has committed; a quick sync is waited for.
        const result = await committed.catch(() => undefined);
        if (result) {
          this.wrote(result.written);
          if (result.unwritten) this.heldBack(result.unwritten);
        }
        // Rolled back: hints may name cases that were never stored.
        else this.keyHints.clear();
        await waitBriefly(durable);
        // Let alerts sent meanwhile arrive before deciding ingest has gone quiet.
        await new Promise((r) => setImmediate(r));
      }
      // Quiet. Cases whose interval is up are written now; once ingest has
      // paused, every held-back case, a commit's worth at a time (a batch
      // arriving meanwhile goes first).
      const all = this.drainRequested || this.pausedAt === this.batchesTaken;
      // After a crash or a failed write: everything the store says lags, in one commit.
      const ids = this.mayHaveUnwritten ? undefined : this.nextChunk(all);
      let wroteSome = false;
      if (ids === undefined || ids.length > 0) {
        const { committed } = this.store.stagedTransaction((tx) => this.writeHeldBack(tx, ids));
        wroteSome = await committed.then(
          () => true,
          () => false,
        );
        if (wroteSome) this.wrote(ids ?? 'all');
        // Rolled back: the store rebuilds what it had; try them all next time.
        else this.mayHaveUnwritten = true;
      }
      if (this.queue.length === 0 && !(wroteSome && all && this.unwritten.size > 0)) break;
    }
    this.flushing = false;
    if (this.unwritten.size > 0) {
      this.armIntervalTimer();
      this.armPauseTimer();
    }
  }

  /** Writes every held-back case if no batch comes within `pauseMs`. */
  private armPauseTimer(): void {
    if (this.pauseTimer) return;
    const taken = this.batchesTaken;
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      if (this.unwritten.size === 0) return;
      if (this.batchesTaken !== taken) {
        // Batches came meanwhile; quiet again now, so look again (or the flush arms it when done).
        if (!this.flushing) this.armPauseTimer();
        return;
      }
      this.pausedAt = taken;
      this.scheduleFlush();
    }, this.pauseMs);
    this.pauseTimer.unref();
  }

  /**
   * The held-back cases to write now, at most a commit's worth. They are
   * written in rounds: once the longest held has waited the interval (or
   * too many wait), or when `everything` is asked for, every case then held
   * back is written, in case-number order, over the next commits. Rows of
   * cases opened together lie together, in the table and in the indexes
   * they share, so a commit that writes them in that order puts far fewer
   * pages in the log than one writing each case when its own interval is up.
   */
  private nextChunk(everything: boolean, most = MAX_CASES_WRITTEN_PER_COMMIT): string[] {
    const chunk: string[] = [];
    while (chunk.length < most) {
      if (this.round.length === 0) {
        if (chunk.length > 0 || this.unwritten.size === 0) break;
        if (!everything && !this.roundDue()) break;
        this.round = [...this.unwritten]
          .sort(([, a], [, b]) => b.number - a.number)
          .map(([id]) => id);
      }
      const id = this.round.pop() as string;
      // Written meanwhile (by a playbook's case step, or a drain) unless still held.
      if (this.unwritten.has(id)) chunk.push(id);
    }
    return chunk;
  }

  private roundDue(): boolean {
    if (this.unwritten.size > MAX_UNWRITTEN_CASES) return true;
    const longest = this.unwritten.values().next().value;
    return (
      longest !== undefined &&
      longest.since <= performance.now() - this.settings.caseWriteIntervalMs
    );
  }

  /** Ingest went quiet with cases still held back: write them when their interval is up (if it has not paused). */
  private armIntervalTimer(): void {
    if (this.intervalTimer) return;
    const oldest = this.unwritten.values().next().value?.since ?? performance.now();
    // A round under way goes on at once.
    const wait =
      this.round.length > 0 ? 0 : oldest + this.settings.caseWriteIntervalMs - performance.now();
    this.intervalTimer = setTimeout(
      () => {
        this.intervalTimer = undefined;
        if (this.unwritten.size > 0) this.scheduleFlush();
      },
      Math.max(0, wait),
    );
    // A held-back case never keeps the process alive: closing the pipeline writes it.
    this.intervalTimer.unref();
  }

  /** Forgets the held-back cases a commit wrote. */
  private wrote(written: readonly string[] | 'all'): void {
    if (written === 'all') {
      this.unwritten = new Map();
      this.mayHaveUnwritten = false;
    } else {
      for (const id of written) this.unwritten.delete(id);
    }
  }

  /** After a commit: what it held back joins what earlier ones did (their order, oldest first, kept). */
  private heldBack(unwritten: Map<string, UnwrittenSummary>): void {
    for (const [id, summary] of unwritten) {
      const earlier = this.unwritten.get(id);
      this.unwritten.set(id, earlier ? combine(earlier, summary) : summary);
    }
  }

  /**
   * Writes the cases held back, with their timeline entries: those named, or
   * every one (also those a crash left).
   */
  private async writeHeldBack(tx: StoreTransaction, ids?: readonly string[]): Promise<void> {
    const now = this.clock().toISOString();
    const written = await tx.writeUnwrittenCases(ids);
    const byId = new Map<string, WrittenCase>(written.map((w) => [w.case.id, w]));
    const summaries = ids
      ? ids.map((id) => [id, this.unwritten.get(id)] as const)
      : [...this.unwritten];
    for (const [id, summary] of summaries) {
      if (!summary) continue;
      // A playbook may have written the case meanwhile: its timeline still needs the entry.
      const c = byId.get(id)?.case ?? (await tx.getCase(id));
      byId.delete(id);
      if (c) await this.recordLinks(tx, c, now, summary);
    }
    // Left unwritten by a crash or a rolled-back commit: what the row said is all there is to compare.
    for (const { case: c, before } of byId.values()) {
      const linked = Math.max(0, c.alertCount - before.alertCount);
      await this.recordLinks(tx, c, now, {
        alertIds: [],
        linked,
        repeats: Math.max(0, c.eventCount - before.eventCount - linked),
        severityBefore: before.severityId,
        since: 0,
        number: c.number,
      });
    }
  }

  private async commitBatch(
    tx: StoreTransaction,
    batch: Pending[],
  ): Promise<{
    outcomes: IngestOutcome[];
    duplicates: number;
    casesOpened: number;
    /** What this commit held back; undefined when it holds nothing back. */
    unwritten: Map<string, UnwrittenSummary> | undefined;
    /** Cases held back earlier that this commit wrote. */
    written: string[] | 'all';
  }> {
    const now = this.clock().toISOString();
    const touched = new Map<string, TouchedCase>();
    const outcomes: IngestOutcome[] = [];
    let duplicates = 0;
    let written: string[] | 'all' = [];
    if (this.mayHaveUnwritten) {
      // First, once after a start (or a failed write): every case a crash left
      // unwritten, before this commit's alerts change any of them.
      await this.writeHeldBack(tx);
      written = 'all';
    }

    const touch = (c: Case, isNew: boolean): TouchedCase => {
      let t = touched.get(c.id);
      if (!t) {
        t = {
          value: c,
          isNew,
          linkedAlertIds: [],
          repeats: 0,
          newKeys: new Set(),
          severityBefore: isNew ? null : c.severityId,
        };
        touched.set(c.id, t);
      }
      return t;
    };

    for (const { encoded } of batch) {
      // Read once: a queued alert may hold only its text and parse it on each read.
      const alert = linkingFactsOf(encoded);
      const firstSeenMs = Date.parse(alert.firstSeen);
      const repeatOf = await tx.findDedupCandidate(
        alert.dedupKey,
        isoBefore(firstSeenMs, this.settings.dedupWindowMs),
      );
      const repeatCase = repeatOf?.caseId
        ? (touched.get(repeatOf.caseId)?.value ?? (await tx.getCase(repeatOf.caseId)))
        : undefined;
      // Activity after an analyst closed the case is news: it is stored anew and correlated.
      if (repeatOf && repeatCase?.status !== 'closed') {
        duplicates += 1;
        // A running total (a resent, updated finding) adds only what is new since the last one.
        const added = alert.countIsTotal ? Math.max(0, alert.count - repeatOf.count) : alert.count;
        await tx.foldRepeat(repeatOf.id, alert.lastSeen, added);
        let caseNumber: number | null = null;
        if (repeatCase) {
          const t = touch(repeatCase, false);
          recordRepeatOnCase(t.value, added, alert.lastSeen, now);
          t.repeats += added;
          caseNumber = t.value.number;
        }
        outcomes.push({
          id: repeatOf.id,
          status: 'duplicate',
          caseId: repeatOf.caseId,
          caseNumber,
        });
        continue;
      }

      // The parsed alert with its text, for the store (which reads its columns from the facts).
      const parsed: EncodedAlert = { alert, doc: encoded.doc, raw: encoded.raw };
      const keys = correlationKeysOf(alert);
      const notBefore = isoBefore(firstSeenMs, this.settings.correlationWindowMs);
      let target: TouchedCase | undefined;
      for (const key of keys) {
        const caseId = this.keyHints.get(key);
        if (caseId === undefined) continue;
        // Cases touched in this batch are open: closed ones never absorb alerts.
        const hinted = touched.get(caseId)?.value ?? (await tx.getCase(caseId));
        if (hinted && hinted.status !== 'closed' && hinted.lastSeen >= notBefore) {
          target = touch(hinted, false);
          break;
        }
      }
      if (!target) {
        const found = await tx.findOpenCaseByKeys(keys, notBefore);
        if (found) target = touch(touched.get(found.id)?.value ?? found, false);
      }
      let freshKeys: readonly string[] = keys;
      if (target) {
        // Keys the case already holds are already in the store's index.
        const value = target.value;
        freshKeys = keys.filter((key) => !caseHasCorrelationKey(value, key));
        linkAlertToCase(target.value, alert, keys, now);
      } else {
        const opened = openCaseFor(alert, keys, {
          id: uuidv7(),
          number: await tx.nextCaseNumber(),
          now,
        });
        target = touch(opened, true);
        target.openedBy = encoded;
      }
      target.linkedAlertIds.push(alert.id);
      if (this.keyHints.size > MAX_KEY_HINTS) this.keyHints.clear();
      for (const key of keys) this.keyHints.set(key, target.value.id);
      for (const key of freshKeys) target.newKeys.add(key);
      alert.caseId = target.value.id;
      await tx.insertAlert(parsed);
      outcomes.push({
        id: alert.id,
        status: 'new',
        caseId: target.value.id,
        caseNumber: target.value.number,
      });
    }

    let casesOpened = 0;
    const audited: Record<string, unknown>[] = [];
    const unwritten = this.defers() ? new Map<string, UnwrittenSummary>() : undefined;
    const since = performance.now();
    /** The held-back cases this commit writes (see `nextChunk`). */
    const most = Math.min(
      MAX_CASES_WRITTEN_PER_COMMIT,
      Math.max(CASES_WRITTEN_WITH_ALERTS, batch.length),
    );
    const chunk = new Set(unwritten && written !== 'all' ? this.nextChunk(false, most) : []);
    /** Held-back cases this commit touched again and writes. */
    const writtenTouched: string[] = [];
    for (const t of touched.values()) {
      const c = t.value;
      const heldBefore = this.unwritten.has(c.id);
      const hold = unwritten !== undefined && !chunk.has(c.id);
      if (t.isNew) {
        casesOpened += 1;
        await tx.insertCase(c);
        await this.record(tx, c, now, 'created', `case opened: ${c.title}`, {
          alertId: t.linkedAlertIds[0],
          severity: c.severity,
          tier: c.tier,
          businessUnit: c.businessUnit,
        });
        if (this.caseOpened && t.openedBy) {
          // The whole alert, description included, for the playbooks it may start.
          const opener = t.openedBy.alert;
          opener.caseId = c.id;
          await this.caseOpened(tx, c, opener, t.openedBy.raw);
        }
      } else if (hold) {
        await tx.deferCaseUpdate(c);
      } else {
        await tx.updateCase(c);
        if (heldBefore) writtenTouched.push(c.id);
      }
      if (t.newKeys.size > 0) await tx.addCorrelationKeys(c.id, [...t.newKeys]);
      const linked = t.isNew ? t.linkedAlertIds.slice(1) : t.linkedAlertIds;
      const links: UnwrittenSummary = {
        // A few ids to click through; the case lists all its alerts.
        alertIds: linked.slice(0, 5),
        linked: linked.length,
        repeats: t.repeats,
        severityBefore: t.severityBefore ?? c.severityId,
        since,
        number: c.number,
      };
      if (unwritten && hold && !t.isNew) {
        unwritten.set(c.id, links);
      } else {
        const earlier = this.unwritten.get(c.id);
        await this.recordLinks(tx, c, now, earlier ? combine(earlier, links) : links);
      }
      const counted = linked.length > 0 || t.repeats > 0;
      const moved = t.severityBefore !== null && t.severityBefore !== c.severityId;
      // Keys in sorted order, here and in the entry: the audit log then serialises it natively.
      audited.push({
        caseId: c.id,
        ...(counted ? { linked: linked.length } : {}),
        number: c.number,
        ...(t.isNew ? { opened: true } : {}),
        ...(counted ? { repeats: t.repeats } : {}),
        ...(moved ? { severity: { from: t.severityBefore, to: c.severityId } } : {}),
      });
    }
    if (written !== 'all') {
      const due = [...chunk].filter((id) => !touched.has(id));
      if (due.length > 0) await this.writeHeldBack(tx, due);
      written.push(...writtenTouched, ...due);
    }
    // One audit entry per commit names every case it changed and how: hashing
    // an entry per case would cost more than the rest of the commit.
    if (audited.length > 0) {
      await tx.appendAudit({
        at: now,
        actor: INGEST_ACTOR,
        action: 'ingest.committed',
        subject: 'cases',
        data: { alerts: outcomes.length - duplicates, cases: audited, repeats: duplicates },
      });
    }
    return { outcomes, duplicates, casesOpened, unwritten, written };
  }

  /** A case's timeline entries for alerts linked and repeats folded, and the severity they moved. */
  private async recordLinks(
    tx: StoreTransaction,
    c: Case,
    at: string,
    links: UnwrittenSummary,
  ): Promise<void> {
    if (links.linked > 0 || links.repeats > 0) {
      const parts = [
        links.linked > 0 ? `${links.linked} alert${links.linked === 1 ? '' : 's'} linked` : '',
        links.repeats > 0 ? `${links.repeats} repeat${links.repeats === 1 ? '' : 's'} folded` : '',
      ].filter(Boolean);
      await this.record(tx, c, at, 'alerts_linked', parts.join(', '), {
        alertIds: links.alertIds,
        linked: links.linked,
        repeats: links.repeats,
      });
    }
    if (links.severityBefore !== c.severityId) {
      await this.record(
        tx,
        c,
        at,
        'severity_changed',
        `severity ${links.severityBefore} → ${c.severityId}`,
        { from: links.severityBefore, to: c.severityId, reason: c.severityReason },
      );
    }
  }

  /** A case's timeline entry (the commit's audit entry covers it). */
  private async record(
    tx: StoreTransaction,
    c: Case,
    at: string,
    kind: 'created' | 'alerts_linked' | 'severity_changed',
    message: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await tx.appendTimeline({
      id: uuidv7(),
      caseId: c.id,
      at,
      actor: INGEST_ACTOR,
      kind,
      message,
      data,
    });
  }
}
