import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { InventoryIndex } from './core/inventory.js';
import { loadWardenConfig, type WardenConfig } from './config/warden-config.js';
import { AccessTokens } from './pipeline/access-tokens.js';
import { CaseWorkflow } from './pipeline/case-workflow.js';
import { IngestPipeline } from './pipeline/ingest-pipeline.js';
import { buildServer } from './server/app.js';
import { WardenMetrics } from './server/metrics.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

/**
 * The one place that picks concrete parts (the SQLite store, the config
 * directory) and wires them together. Everything below receives its
 * dependencies; nothing else reads the environment.
 */
export interface WardenOptions {
  configDir: string;
  dataDir: string;
  /** Overrides the config's `server.port`. */
  port?: number;
  host?: string;
  /** `FULL` (default) survives power loss; `NORMAL` only process crashes. */
  synchronous?: 'FULL' | 'NORMAL';
}

export interface Warden {
  config: WardenConfig;
  store: Store;
  pipeline: IngestPipeline;
  cases: CaseWorkflow;
  tokens: AccessTokens;
  metrics: WardenMetrics;
  close(): Promise<void>;
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function openWarden(options: WardenOptions): Warden {
  const config = loadWardenConfig(options.configDir);
  const store = new SqliteStore({
    dataDir: options.dataDir,
    ...(options.synchronous ? { synchronous: options.synchronous } : {}),
  });
  const metrics = new WardenMetrics(store);
  const pipeline = new IngestPipeline({
    store,
    inventory: new InventoryIndex(config.inventory),
    settings: config.pipeline,
    observer: metrics,
  });
  return {
    config,
    store,
    pipeline,
    cases: new CaseWorkflow(store),
    tokens: new AccessTokens(store),
    metrics,
    async close() {
      await pipeline.drain();
      await store.close();
    },
  };
}

export function wardenServer(
  warden: Warden,
  logger: boolean | { level: string } = false,
): FastifyInstance {
  return buildServer({
    ...warden,
    bodyLimitBytes: warden.config.server.bodyLimitBytes,
    version: packageVersion(),
    logger,
  });
}
