import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';
import type { WardenMetrics } from '../metrics.js';

export function healthRoutes(
  app: FastifyInstance,
  deps: { store: Store; metrics: WardenMetrics },
): void {
  app.get('/healthz', async () => {
    await deps.store.ping();
    return { status: 'ok', store: deps.store.backend };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
}
