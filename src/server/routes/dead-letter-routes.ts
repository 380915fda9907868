import type { FastifyInstance } from 'fastify';
import { WardenError } from '../../core/errors.js';
import type { DeadLetterWorkflow } from '../../pipeline/dead-letter-workflow.js';
import { principalWith } from '../auth.js';
import { limitParam, queryError, type Fields } from '../request-fields.js';
import { sourceContextOfRequest } from '../source-context-params.js';

export interface DeadLetterRouteDeps {
  deadLetters: DeadLetterWorkflow;
}

function knownParams(query: Fields, allowed: readonly string[]): void {
  for (const key of Object.keys(query)) {
    if (!allowed.includes(key)) {
      throw queryError(key, `is not a known parameter (expected one of: ${allowed.join(', ')})`);
    }
  }
}

/** Refused alerts kept by `ingest.dead_letter`: admins inspect and replay them. */
export function deadLetterRoutes(app: FastifyInstance, deps: DeadLetterRouteDeps): void {
  app.get<{ Querystring: Fields }>('/api/v1/deadletters', async (request) => {
    principalWith(request, 'deadletters:manage');
    knownParams(request.query, ['limit', 'cursor']);
    const cursor = typeof request.query.cursor === 'string' ? request.query.cursor : undefined;
    return deps.deadLetters.list({
      limit: limitParam(request.query),
      ...(cursor ? { cursor } : {}),
    });
  });

  app.get<{ Params: { id: string } }>('/api/v1/deadletters/:id', async (request) => {
    principalWith(request, 'deadletters:manage');
    return deps.deadLetters.get(request.params.id);
  });

  app.post<{ Querystring: Fields }>('/api/v1/deadletters/replay', async (request) => {
    const principal = principalWith(request, 'deadletters:manage');
    knownParams(request.query, ['source', 'limit', 'model', 'session', 'user']);
    const { source } = request.query;
    if (source !== undefined && typeof source !== 'string') {
      throw queryError('source', 'must be given once');
    }
    return deps.deadLetters.replayPending({
      ...(source !== undefined ? { source } : {}),
      context: sourceContextOfRequest(request.query, request.headers),
      actor: principal.name,
      // How many one bulk replay takes.
      limit: limitParam(request.query, { fallback: 1_000, max: 10_000 }),
    });
  });

  app.post<{ Params: { id: string }; Querystring: Fields }>(
    '/api/v1/deadletters/:id/replay',
    async (request) => {
      const principal = principalWith(request, 'deadletters:manage');
      knownParams(request.query, ['source', 'model', 'session', 'user']);
      const { source } = request.query;
      if (source !== undefined && typeof source !== 'string') {
        throw queryError('source', 'must be given once');
      }
      const replay = await deps.deadLetters.replay(request.params.id, {
        ...(source !== undefined ? { source } : {}),
        context: sourceContextOfRequest(request.query, request.headers),
        actor: principal.name,
      });
      if ('error' in replay) {
        // Refused again: answered as POST /alerts answers a refused payload, naming the dead letter.
        const { error } = replay;
        // 422 even for a body that is not JSON: the request was fine, the stored payload is not.
        throw new WardenError(error.code, `replay refused: ${error.message}`, {
          status: 422,
          ...(error.field ? { field: error.field } : {}),
          details: { ...error.details, deadLetterId: replay.deadLetter.id },
        });
      }
      return { deadLetter: replay.deadLetter, result: replay.outcome };
    },
  );
}
