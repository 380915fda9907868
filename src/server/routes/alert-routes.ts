import type { FastifyInstance } from 'fastify';
import { inScope } from '../../core/access.js';
import { WardenError } from '../../core/errors.js';
import type { EncodedAlert } from '../../core/alert.js';
import type { AlertPreparer } from '../../pipeline/alert-preparer.js';
import type { IngestOutcome, IngestQueue } from '../../pipeline/ingest-queue.js';
import type { SourceContext } from '../../sources/source-format.js';
import { findSourceFormat, normalizePayload } from '../../sources/source-registry.js';
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
}

interface Rejection {
  index: number;
  status: 'rejected';
  error: { code: string; message: string; field?: string };
}

interface Submitted {
  outcomes: Promise<IngestOutcome[]>;
  /** Body index of each submitted alert, in submission order. */
  indexes: number[];
  rejected: Rejection[];
}

/**
 * Normalises, prepares and submits a body's alerts. Synchronous on purpose:
 * the parsed payloads and prepared alerts die when it returns, instead of
 * living (and being copied by the garbage collector) for as long as the
 * request waits for its commit.
 */
function submitBody(
  body: unknown,
  sourceName: string | undefined,
  context: SourceContext,
  deps: AlertRouteDeps,
): Submitted {
  // The content-type parsers hand JSON over parsed and NDJSON as text.
  const items: BodyItem[] = typeof body === 'string' ? itemsOfNdjson(body) : itemsOfJson(body);
  const prepared: EncodedAlert[] = [];
  const indexes: number[] = [];
  const rejected: Rejection[] = [];
  for (const item of items) {
    try {
      if (item.error) throw item.error;
      prepared.push(
        deps.preparer.prepare(normalizePayload(item.payload, sourceName, context), item.text),
      );
      indexes.push(item.index);
    } catch (error) {
      if (!(error instanceof WardenError)) throw error;
      if (items.length === 1) {
        // A lone payload is answered with its own problem, not a batch report.
        deps.metrics.alertsIngested.inc({ outcome: 'rejected' });
        throw error;
      }
      rejected.push({
        index: item.index,
        status: 'rejected',
        error: {
          code: error.code,
          message: `alert [${item.index}]: ${error.message}`,
          ...(error.field ? { field: error.field } : {}),
        },
      });
    }
  }
  if (rejected.length > 0)
    deps.metrics.alertsIngested.inc({ outcome: 'rejected' }, rejected.length);
  if (prepared.length === 0) {
    throw new WardenError('invalid_field', `all ${items.length} alerts were rejected`, {
      status: 422,
      details: { errors: rejected },
    });
  }
  return { outcomes: deps.ingest.submit(prepared), indexes, rejected };
}

export function alertRoutes(app: FastifyInstance, deps: AlertRouteDeps): void {
  app.post<{ Querystring: Record<string, unknown> & { source?: string } }>(
    '/api/v1/alerts',
    async (request, reply) => {
      principalWith(request, 'alerts:ingest');
      const sourceName = request.query.source;
      if (sourceName !== undefined) findSourceFormat(sourceName);
      // One context for the whole body: a batch comes from one sender's call.
      const context = sourceContextOfRequest(request.query, request.headers);

      const {
        outcomes: submitted,
        indexes,
        rejected,
      } = submitBody(request.body, sourceName, context, deps);
      const outcomes = await submitted;
      const results = [
        ...outcomes.map((o, i) => ({ index: indexes[i] as number, ...o })),
        ...rejected,
      ].sort((x, y) => x.index - y.index);
      return reply.code(202).send({
        accepted: outcomes.length,
        new: outcomes.filter((o) => o.status === 'new').length,
        duplicates: outcomes.filter((o) => o.status === 'duplicate').length,
        rejected: rejected.length,
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
