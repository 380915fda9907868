import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { WardenError } from '../core/errors.js';
import type { AccessTokens } from '../pipeline/access-tokens.js';
import type { ApprovalWorkflow } from '../pipeline/approval-workflow.js';
import type { CaseWorkflow } from '../pipeline/case-workflow.js';
import type { EvidenceWorkflow } from '../pipeline/evidence-workflow.js';
import type { DeadLetterWorkflow } from '../pipeline/dead-letter-workflow.js';
import type { AlertPreparer } from '../pipeline/alert-preparer.js';
import type { IngestQueue } from '../pipeline/ingest-queue.js';
import type { Store } from '../store/store.js';
import { NDJSON_TYPES, parseJsonText } from './alert-body.js';
import { bearerAuth } from './auth.js';
import type { WardenMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { sendProblem } from './problem.js';
import { adminRoutes } from './routes/admin-routes.js';
import { alertRoutes } from './routes/alert-routes.js';
import { caseRoutes } from './routes/case-routes.js';
import { deadLetterRoutes } from './routes/dead-letter-routes.js';
import { evidenceRoutes } from './routes/evidence-routes.js';
import { playbookRoutes } from './routes/playbook-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { linkPageRoutes } from './routes/link-pages.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** A JSON body's text as received: the alert route keeps a lone payload's verbatim. */
    jsonText: string | null;
  }
}

export interface WardenServerDeps {
  store: Store;
  preparer: AlertPreparer;
  ingest: IngestQueue;
  cases: CaseWorkflow;
  approvals: ApprovalWorkflow;
  deadLetters: DeadLetterWorkflow;
  evidence: EvidenceWorkflow;
  tokens: AccessTokens;
  metrics: WardenMetrics;
  /**
   * Keep each alert the API refuses as a dead letter (`ingest.dead_letter`).
   * @default false
   */
  deadLetterRejected?: boolean;
  /** @default 10 MiB */
  bodyLimitBytes?: number;
  version?: string;
  logger?: FastifyServerOptions['logger'];
}

/** The HTTP API, built in-process: tests `inject` into it, `warden serve` listens on it. */
export function buildServer(deps: WardenServerDeps): FastifyInstance {
  const bodyLimit = deps.bodyLimitBytes ?? 10 * 1024 * 1024;
  const app = Fastify({
    bodyLimit,
    logger: deps.logger ?? false,
    // Per-request log lines would cost more than the request at ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('jsonText', null);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      const parsed = parseJsonText(body as string);
      request.jsonText = body as string;
      done(null, parsed);
    } catch (error) {
      done(error as WardenError, undefined);
    }
  });
  app.addContentTypeParser([...NDJSON_TYPES], { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });

  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error, bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new WardenError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
      bodyLimit,
    ),
  );

  healthRoutes(app, deps);
  void app.register((pages, _options, done) => {
    // Only the link pages take form posts; the API keeps answering 415 to them.
    pages.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, parsed) => {
        parsed(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
    linkPageRoutes(pages, deps);
    done();
  });
  const openapi = openApiDocument(deps.version ?? '0.0.0');
  void app.register((api, _options, done) => {
    api.addHook('onRequest', bearerAuth(deps.tokens));
    api.get('/api/v1/openapi.json', () => openapi);
    alertRoutes(api, deps);
    caseRoutes(api, deps);
    playbookRoutes(api, deps);
    adminRoutes(api, deps);
    deadLetterRoutes(api, deps);
    evidenceRoutes(api, deps);
    done();
  });
  return app;
}
