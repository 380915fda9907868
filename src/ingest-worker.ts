import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { useHttpTransport } from './connectors/http/http-exchange.js';
import { relayedHttpTransport } from './connectors/http/http-relay.js';
import type { PipelineSettings } from './core/settings.js';
import { loadWardenConfig } from './config/warden-config.js';
import { IngestPipeline } from './pipeline/ingest-pipeline.js';
import { loadPlaybookEngine, openPlaybookEngine } from './playbook-engine.js';
import {
  serializeError,
  type FromIngestWorker,
  type PartResult,
  type ToIngestWorker,
  unpackAlertTexts,
} from './pipeline/threaded-ingest.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

/**
 * The ingest writer thread (see `ThreadedIngest`): a second wiring point
 * beside `main.ts`, because a thread can only be handed plain data.
 */
export interface IngestWorkerData {
  dataDir: string;
  configDir: string;
  synchronous?: 'FULL' | 'NORMAL';
  settings: PipelineSettings;
  /** Queue the playbooks a new case starts; `run` also executes them on this thread. */
  playbooks: 'run' | 'queue';
  /** Where this thread's connectors send HTTP (`serveHttpRelay` on the main thread). */
  httpRelay?: MessagePort;
}

const port = parentPort;
if (!port) throw new Error('ingest-worker.ts runs as a worker thread');
const data = workerData as IngestWorkerData;
if (data.httpRelay) useHttpTransport(relayedHttpTransport(data.httpRelay));

// The main thread's connection runs the checkpoints and the migrations.
const store = new SqliteStore({
  dataDir: data.dataDir,
  checkpoints: false,
  defersCaseWrites: true,
  ...(data.synchronous ? { synchronous: data.synchronous } : {}),
});
const post = (message: FromIngestWorker): void => port.postMessage(message);
// The main thread has loaded (and checked) the same configuration before starting this thread.
const executor = openPlaybookEngine(
  store,
  loadPlaybookEngine({ config: loadWardenConfig(data.configDir), dataDir: data.dataDir }),
);
const pipeline = new IngestPipeline({
  store,
  settings: data.settings,
  observer: {
    batchCommitted: (info) => {
      post({ kind: 'batch', info });
      if (info.casesOpened > 0) executor.wakeForNewRuns();
    },
  },
  caseOpened: (tx, c, alert, raw) => executor.queueRunsForNewCase(tx, c, alert, raw),
});
if (data.playbooks === 'run') executor.start();

port.on('message', (message: ToIngestWorker) => {
  if (message.kind === 'close') {
    void executor
      .stop()
      .then(() => pipeline.close())
      .then(() => store.close())
      .finally(() => post({ kind: 'closed' }));
    return;
  }
  const alerts = unpackAlertTexts(message);
  let at = 0;
  // Each submission succeeds or fails on its own; the answer goes back in one message.
  const results = message.parts.map((count) =>
    pipeline.submit(alerts.slice(at, (at += count))).then(
      (outcomes): PartResult => ({ outcomes }),
      (error: unknown): PartResult => ({ error: serializeError(error) }),
    ),
  );
  void Promise.all(results).then((settled) =>
    post({ kind: 'settled', id: message.id, results: settled }),
  );
});
