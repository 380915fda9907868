import type { FastifyInstance } from 'fastify';
import { inScope, type Principal } from '../../core/access.js';
import { WardenError, type ErrorCode } from '../../core/errors.js';
import { textOnlyAlert, type EncodedAlert } from '../../core/alert.js';
import type { AlertPreparer } from '../../pipeline/alert-preparer.js';
import type { DeadLetterDraft, DeadLetterWorkflow } from '../../pipeline/dead-letter-workflow.js';
import type { IngestOutcome, IngestQueue } from '../../pipeline/ingest-queue.js';
import type { SourceContext, SourceFormat } from '../../sources/source-format.js';
import {
  findSourceFormat,
  normalizePart,
  payloadParts,
  sourceFormatFor,
} from '../../sources/source-registry.js';
import type { Store } from '../../store/store.js';
import { itemsOfJson, itemsOfNdjson, type BodyItem } from '../alert-body.js';
import { principalWith } from '../auth.js';
import { sourceContextOfRequest } from '../source-context-params.js';
import type { WardenMetrics } from '../metrics.js';

export interface AlertRouteDeps {
  store: Store;
  preparer: AlertPreparer;
  ingest: IngestQueue;
  metrics: WardenMetrics;
  deadLetters: DeadLetterWorkflow;
  /** Keep each refused alert as a dead letter. @default false */
  deadLetterRejected?: boolean;
}

/**
 * Refusals of one alert's payload, as opposed to refusals of the request
 * (auth, size, a body that is not JSON): only these become dead letters. An
 * NDJSON line that is not JSON is one: it is refused alone, the rest of the
 * body is stored, and the line is what an operator would want to see.
 */
const DEAD_LETTER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'undetected_source_format',
  'missing_field',
  'invalid_field',
  'malformed_json',
]);

interface Rejection {
  index: number;
  /** Which alert of a payload that holds several (see `SourceFormat.expand`). */
  part?: number;
  status: 'rejected';
  error: { code: string; message: string; field?: string };
  deadLetterId?: string;
}

/** A payload that carries no finding (a garak `init` row, …): neither stored nor refused. */
interface Ignored {
  index: number;
  status: 'ignored';
  reason: string;
}

/** Where a submitted alert came from in the body. */
interface Origin {
  index: number;
  part?: number;
}

interface Submitted {
  /** Undefined when no alert was submitted. */
  outcomes: Promise<IngestOutcome[]> | undefined;
  /** Body index (and part) of each submitted alert, in submission order. */
  origins: Origin[];
  rejected: Rejection[];
  ignored: Ignored[];
  /** The refusal of a body holding one payload, answered with its own problem. */
  lone: WardenError | undefined;
  /** Dead letters to keep, each with the rejection it belongs to. */
  deadLetters: { rejection: Rejection; draft: DeadLetterDraft }[];
}

/**
 * Normalises, prepares and submits a body's alerts: each item's parts (one,
 * several or none, by its format's `expand`) one by one, so a refused part
 * costs only itself. Synchronous on purpose: the parsed payloads and prepared
 * alerts die when it returns, instead of living (and being copied by the
 * garbage collector) for as long as the request waits for its commit.
 */
function submitBody(
  body: unknown,
  /** A JSON body's text as received. */
  jsonText: string | null,
  sourceName: string | undefined,
  context: SourceContext,
  deps: AlertRouteDeps,
  principal: Principal,
): Submitted {
  // The content-type parsers hand JSON over parsed and NDJSON as text.
  const items: BodyItem[] =
    typeof body === 'string' ? itemsOfNdjson(body) : itemsOfJson(body, jsonText ?? undefined);
  const prepared: EncodedAlert[] = [];
  const origins: Origin[] = [];
  const rejected: Rejection[] = [];
  const ignored: Ignored[] = [];
  const deadLetters: Submitted['deadLetters'] = [];
  let lone: WardenError | undefined;
  const reject = (error: unknown, origin: Origin, text: () => string): void => {
    if (!(error instanceof WardenError)) throw error;
    // A lone payload is answered with its own problem, not a batch report.
    if (items.length === 1 && origin.part === undefined) lone = error;
    const where = origin.part === undefined ? `${origin.index}` : `${origin.index}.${origin.part}`;
    const rejection: Rejection = {
      ...origin,
      status: 'rejected',
      error: {
        code: error.code,
        message: `alert [${where}]: ${error.message}`,
        ...(error.field ? { field: error.field } : {}),
      },
    };
    rejected.push(rejection);
    if (deps.deadLetterRejected && DEAD_LETTER_CODES.has(error.code)) {
      deadLetters.push({ rejection, draft: { source: sourceName, error, body: text() } });
    }
  };
  for (const item of items) {
    let payload: unknown;
    const itemText = (): string => item.text ?? JSON.stringify(payload);
    let format: SourceFormat;
    let parts: unknown[];
    try {
      payload = item.read();
      format = sourceFormatFor(payload, sourceName);
      parts = payloadParts(format, payload);
    } catch (error) {
      reject(error, { index: item.index }, itemText);
      continue;
    }
    if (parts.length === 0) {
      ignored.push({
        index: item.index,
        status: 'ignored',
        reason: `${format.name} payload carries no finding`,
      });
      continue;
    }
    parts.forEach((part, n) => {
      // A part that is the payload itself is a one-alert payload: no part number.
      const whole = part === payload;
      const origin: Origin = whole ? { index: item.index } : { index: item.index, part: n };
      const partText = (): string => (whole ? itemText() : JSON.stringify(part));
      try {
        const { alert, doc, raw } = deps.preparer.prepare(
          normalizePart(format, part, context),
          whole ? item.text : JSON.stringify(part),
        );
        checkIngestScope(principal, alert.enrichment.businessUnit);
        // The writer thread needs only the text; the parsed alert dies here.
        prepared.push(textOnlyAlert(doc, raw));
        origins.push(origin);
      } catch (error) {
        reject(error, origin, partText);
      }
    });
  }
  if (rejected.length > 0)
    deps.metrics.alertsIngested.inc({ outcome: 'rejected' }, rejected.length);
  if (ignored.length > 0) deps.metrics.alertsIngested.inc({ outcome: 'ignored' }, ignored.length);
  return {
    // One submission, so a body's alerts commit together unless they fill a commit up.
    outcomes: prepared.length > 0 ? deps.ingest.submit(prepared) : undefined,
    origins,
    rejected,
    ignored,
    lone,
    deadLetters,
  };
}

/**
 * A token scoped to business units ingests only alerts about their models:
 * an alert opens or joins a case, and may start a playbook that acts on the
 * model, in the unit the inventory gives it, which the token could not
 * otherwise touch. An alert no model of the inventory matches has no unit,
 * so it is for unscoped tokens too.
 */
function checkIngestScope(principal: Principal, unit: string | undefined): void {
  if (inScope(principal, unit)) return;
  const units = (principal.units ?? []).join(', ');
  throw new WardenError(
    'forbidden',
    unit === undefined
      ? `the alert names no model of the inventory, so it belongs to no business unit, and this token may ingest only alerts of its units (${units})`
      : `the alert is about a model of business unit "${unit}", and this token may ingest only alerts of its units (${units})`,
  );
}

export function alertRoutes(app: FastifyInstance, deps: AlertRouteDeps): void {
  app.post<{ Querystring: Record<string, unknown> & { source?: string } }>(
    '/api/v1/alerts',
    async (request, reply) => {
      const principal = principalWith(request, 'alerts:ingest');
      const sourceName = request.query.source;
      if (sourceName !== undefined) findSourceFormat(sourceName);
      // One context for the whole body: a batch comes from one sender's call.
      const context = sourceContextOfRequest(request.query, request.headers);

      const submitted = submitBody(
        request.body,
        request.jsonText,
        sourceName,
        context,
        deps,
        principal,
      );
      // The dead letters commit on this thread while the alerts commit on the writer's.
      const [outcomes, deadLetterIds] = await Promise.all([
        submitted.outcomes ?? Promise.resolve([]),
        deps.deadLetters.record(submitted.deadLetters.map((d) => d.draft)),
      ]);
      submitted.deadLetters.forEach(({ rejection }, i) => {
        rejection.deadLetterId = deadLetterIds[i];
      });
      const { origins, rejected, ignored, lone } = submitted;
      if (lone) {
        const deadLetterId = rejected[0]?.deadLetterId;
        throw deadLetterId === undefined
          ? lone
          : new WardenError(lone.code, lone.message, {
              status: lone.status,
              ...(lone.field ? { field: lone.field } : {}),
              details: { ...lone.details, deadLetterId },
            });
      }
      if (outcomes.length === 0 && ignored.length === 0) {
        throw new WardenError('invalid_field', `all ${rejected.length} alerts were rejected`, {
          status: 422,
          details: { errors: rejected },
        });
      }
      // Submitted alerts are in body order already; only refusals need merging in.
      const stored = outcomes.map((o, i) => resultOf(origins[i] as Origin, o));
      const results =
        rejected.length + ignored.length === 0
          ? stored
          : [...stored, ...rejected, ...ignored].sort(
              (x, y) => x.index - y.index || partOf(x) - partOf(y),
            );
      return reply.code(202).send({
        accepted: outcomes.length,
        new: outcomes.filter((o) => o.status === 'new').length,
        duplicates: outcomes.filter((o) => o.status === 'duplicate').length,
        rejected: rejected.length,
        ignored: ignored.length,
        results,
      });
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/alerts/:id', async (request) => {
    const principal = principalWith(request, 'alerts:read');
    const alert = await deps.store.getAlert(request.params.id);
    if (!alert || !inScope(principal, alert.enrichment.businessUnit)) {
      throw new WardenError('not_found', `alert ${request.params.id} not found`);
    }
    return alert;
  });
}

/**
 * One stored alert's entry in the answer, written out: spreading two objects
 * for each of a body's alerts, then sorting them, was 3% of the request thread.
 */
function resultOf(origin: Origin, outcome: IngestOutcome): Origin & IngestOutcome {
  const { id, status, caseId, caseNumber } = outcome;
  return origin.part === undefined
    ? { index: origin.index, id, status, caseId, caseNumber }
    : { index: origin.index, part: origin.part, id, status, caseId, caseNumber };
}

function partOf(result: Origin): number {
  return result.part ?? -1;
}
