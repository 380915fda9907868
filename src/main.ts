import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import { serveHttpRelay } from './connectors/http/http-relay.js';
import { InventoryIndex } from './core/inventory.js';
import { loadWardenConfig, type WardenConfig } from './config/warden-config.js';
import { AccessTokens } from './pipeline/access-tokens.js';
import { ApprovalWorkflow } from './pipeline/approval-workflow.js';
import { CaseWorkflow } from './pipeline/case-workflow.js';
import { EvidenceWorkflow } from './pipeline/evidence-workflow.js';
import { DeadLetterWorkflow } from './pipeline/dead-letter-workflow.js';
import type { PlaybookExecutor } from './pipeline/playbook-executor.js';
import {
  loadPlaybookEngine,
  openPlaybookEngine,
  type PlaybookEngineConfig,
} from './playbook-engine.js';
import { AlertPreparer } from './pipeline/alert-preparer.js';
import type { IngestWorkerData } from './ingest-worker.js';
import { IngestPipeline } from './pipeline/ingest-pipeline.js';
import type { IngestQueue } from './pipeline/ingest-queue.js';
import { ClosedCaseRuns } from './pipeline/run-queue.js';
import { ThreadedIngest } from './pipeline/threaded-ingest.js';
import { buildServer } from './server/app.js';
import { WardenMetrics } from './server/metrics.js';
import { DataDirLock } from './store/sqlite/data-dir-lock.js';
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
  /**
   * Commit alerts on a writer thread while the main thread serves requests.
   * `false` commits on the calling thread (a one-shot CLI run needs no thread).
   * @default true
   */
  ingestThread?: boolean;
  /**
   * `run`: execute playbooks (the server). `queue`: only queue the runs new
   * cases start, for a server to execute (a one-shot CLI ingest).
   * @default 'run'
   */
  playbooks?: 'run' | 'queue';
}

export interface Warden {
  config: WardenConfig;
  store: Store;
  preparer: AlertPreparer;
  ingest: IngestQueue;
  cases: CaseWorkflow;
  approvals: ApprovalWorkflow;
  deadLetters: DeadLetterWorkflow;
  evidence: EvidenceWorkflow;
  tokens: AccessTokens;
  metrics: WardenMetrics;
  /** The executor, when it runs on this thread (`ingestThread: false`). */
  executor?: PlaybookExecutor;
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
  // Loaded here even when the writer thread runs playbooks, so a mistake stops start-up.
  const engine = loadPlaybookEngine({ config, dataDir: options.dataDir });
  const lock = DataDirLock.acquire(options.dataDir);
  try {
    return wireWarden(options, config, engine, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

function wireWarden(
  options: WardenOptions,
  config: WardenConfig,
  engine: PlaybookEngineConfig,
  lock: DataDirLock,
): Warden {
  const store = new SqliteStore({
    dataDir: options.dataDir,
    ...(options.synchronous ? { synchronous: options.synchronous } : {}),
    // Only the connection that ingests (this one, or the writer thread's).
    defersCaseWrites: options.ingestThread === false,
  });
  const metrics = new WardenMetrics(store);
  let executor: PlaybookExecutor | undefined;
  let ingest: IngestQueue;
  if (options.ingestThread === false) {
    const local = openPlaybookEngine(store, engine);
    executor = local;
    ingest = new IngestPipeline({
      store,
      settings: config.pipeline,
      observer: {
        batchCommitted: (info) => {
          metrics.batchCommitted(info);
          if (info.casesOpened > 0) local.wakeForNewRuns();
        },
      },
      caseOpened: (tx, c, alert, raw) => local.queueRunsForNewCase(tx, c, alert, raw),
    });
    if ((options.playbooks ?? 'run') === 'run') local.start();
  } else {
    ingest = ingestThread(options, config, metrics);
  }
  const preparer = new AlertPreparer(new InventoryIndex(config.inventory));
  return {
    config,
    store,
    preparer,
    ingest,
    cases: new CaseWorkflow(
      store,
      undefined,
      new ClosedCaseRuns(store, new Map(engine.playbooks.map((p) => [p.id, p]))),
    ),
    approvals: new ApprovalWorkflow(store),
    deadLetters: new DeadLetterWorkflow({ store, preparer, ingest }),
    evidence: new EvidenceWorkflow(store),
    tokens: new AccessTokens(store),
    metrics,
    ...(executor ? { executor } : {}),
    async close() {
      await executor?.stop();
      await ingest.close();
      await store.close();
      lock.release();
    },
  };
}

function ingestThread(
  options: WardenOptions,
  config: WardenConfig,
  metrics: WardenMetrics,
): ThreadedIngest {
  const settings = { ...config.pipeline };
  const extension = extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./ingest-worker${extension}`, import.meta.url);
  const spawn = (): Worker => {
    // The thread's connector HTTP is sent from here, where the CPU is idle.
    const relay = new MessageChannel();
    serveHttpRelay(relay.port1);
    const workerData: IngestWorkerData = {
      dataDir: options.dataDir,
      configDir: config.dir,
      playbooks: options.playbooks ?? 'run',
      settings,
      httpRelay: relay.port2,
      ...(options.synchronous ? { synchronous: options.synchronous } : {}),
    };
    const transferList = [relay.port2];
    const worker =
      extension === '.ts'
        ? // Run from source (tests, benchmarks): the thread registers the TypeScript loader first.
          new Worker(
            `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
              .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
            { eval: true, workerData, transferList },
          )
        : new Worker(entry, { workerData, transferList });
    worker.once('exit', () => relay.port1.close());
    return worker;
  };
  return new ThreadedIngest({
    spawn,
    observer: metrics,
  });
}

export function wardenServer(
  warden: Warden,
  logger: boolean | { level: string } = false,
): FastifyInstance {
  return buildServer({
    ...warden,
    bodyLimitBytes: warden.config.server.bodyLimitBytes,
    deadLetterRejected: warden.config.ingest.deadLetter,
    version: packageVersion(),
    logger,
  });
}
