import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Copies the write-ahead log back into the database from a worker thread, on
 * its own connection, so that commits (and the acknowledgements waiting on
 * them) never pay for a checkpoint. SQLite lets a checkpoint run beside
 * readers and the writer; PASSIVE never blocks either.
 *
 * The connection runs at synchronous = NORMAL, set explicitly (never OFF):
 * a checkpoint then fsyncs the WAL before copying it into the database and
 * the database after, so the WAL is only reused once the database holds its
 * commits on disk. The writer commits at NORMAL and syncs the WAL itself
 * before acknowledging (see `wal-sync.ts`); together that is as durable as FULL.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');
const checkpoint = () => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    // Under steady commits a passive checkpoint never catches the end, so the
    // log never starts over: past the limit, wait for the writer once and restart it.
    if (result && result.log > workerData.restartFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch (error) { parentPort.postMessage(String(error)); }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') { clearInterval(timer); checkpoint(); db.close(); parentPort.postMessage('stopped'); }
});
`;

export class WalCheckpointer {
  private readonly worker: Worker;

  /**
   * `intervalMs`: a page changed by many commits in one interval (an index
   * page, a busy case) is copied once, so a longer interval copies less; at
   * 200 ms the checkpoints wrote 32 KB per ingested alert, at 1 s 25 KB.
   */
  constructor(
    path: string,
    intervalMs = 1000,
    /**
     * A log longer than this (frames; 64 MB of 4 KB pages) is restarted: the
     * checkpoint waits for the writer once, and the next commit writes from
     * the start of the file again. Without it the WAL only grows while
     * commits keep coming (1.7 GB over a 100,000-alert ingest; a few hundred
     * MB at most with it, at the same speed).
     */
    restartFrames = 16_384,
  ) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, driver, intervalMs, restartFrames },
    });
    // Must not keep the process alive, nor crash it: a failed checkpoint only lets the WAL grow.
    this.worker.unref();
    this.worker.on('error', () => undefined);
  }

  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('stop');
    await stopped;
    await this.worker.terminate();
  }
}
