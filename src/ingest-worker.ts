import { parentPort, workerData } from 'node:worker_threads';
import type { AlertFacts, EncodedAlert } from './core/alert.js';
import type { PipelineSettings } from './core/settings.js';
import { IngestPipeline } from './pipeline/ingest-pipeline.js';
import {
  serializeError,
  type FromIngestWorker,
  type ToIngestWorker,
} from './pipeline/threaded-ingest.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

/**
 * The ingest writer thread (see `ThreadedIngest`): a second wiring point
 * beside `main.ts`, because a thread can only be handed plain data.
 */
export interface IngestWorkerData {
  dataDir: string;
  synchronous?: 'FULL' | 'NORMAL';
  settings: PipelineSettings;
}

const port = parentPort;
if (!port) throw new Error('ingest-worker.ts runs as a worker thread');
const data = workerData as IngestWorkerData;

// The main thread's connection runs the checkpoints and the migrations.
const store = new SqliteStore({
  dataDir: data.dataDir,
  checkpoints: false,
  ...(data.synchronous ? { synchronous: data.synchronous } : {}),
});
const post = (message: FromIngestWorker): void => port.postMessage(message);
const pipeline = new IngestPipeline({
  store,
  settings: data.settings,
  observer: { batchCommitted: (info) => post({ kind: 'batch', info }) },
});

port.on('message', (message: ToIngestWorker) => {
  if (message.kind === 'close') {
    void pipeline
      .close()
      .then(() => store.close())
      .finally(() => post({ kind: 'closed' }));
    return;
  }
  const { id, docs, raws } = message;
  const alerts: EncodedAlert[] = docs.map((doc, i) => ({
    alert: JSON.parse(doc) as AlertFacts,
    doc,
    raw: raws[i] as string,
  }));
  pipeline.submit(alerts).then(
    (outcomes) => post({ kind: 'committed', id, outcomes }),
    (error: unknown) => post({ kind: 'failed', id, error: serializeError(error) }),
  );
});
