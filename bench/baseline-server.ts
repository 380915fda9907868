/**
 * The baseline Warden is measured against: the same kind of HTTP server
 * (fastify, same body limit, same content types: JSON parsed, NDJSON split
 * into lines and each line parsed) that stores each alert's raw text in
 * SQLite with the durability of Warden's default (WAL, synchronous=FULL: on
 * disk before it is acknowledged; Warden syncs the WAL after COMMIT instead,
 * overlapped with the next transaction) and the same
 * group commit (queue, flush on setImmediate in one transaction of at most
 * 2,000 alerts, answer after COMMIT), but no normalisation, enrichment, dedup,
 * correlation, case/timeline/audit writes, and a constant-string token check
 * instead of a token lookup.
 *
 * Run as a process: `node --import tsx bench/baseline-server.ts --data DIR
 * --port 0 --body-limit BYTES`, with BENCH_TOKEN set; prints its URL.
 */
import Database from 'better-sqlite3';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
];
const MAX_BATCH = 2000;

interface Pending {
  body: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Group commit of raw alert texts into one table. */
class RawAlertLog {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, string]>;
  private queue: Pending[] = [];
  private flushing = false;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'baseline.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS raw_alerts (
      id INTEGER PRIMARY KEY, received_at TEXT NOT NULL, body TEXT NOT NULL)`);
    this.insert = this.db.prepare('INSERT INTO raw_alerts (received_at, body) VALUES (?, ?)');
  }

  submit(bodies: readonly string[]): Promise<void[]> {
    const done = bodies.map(
      (body) =>
        new Promise<void>((resolve, reject) => {
          this.queue.push({ body, resolve, reject });
        }),
    );
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flushLoop());
    }
    return Promise.all(done);
  }

  private flushLoop(): void {
    const batch = this.queue.splice(0, MAX_BATCH);
    try {
      const now = new Date().toISOString();
      this.db.exec('BEGIN IMMEDIATE');
      for (const p of batch) this.insert.run(now, p.body);
      this.db.exec('COMMIT');
      for (const p of batch) p.resolve();
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const p of batch) p.reject(error);
    }
    if (this.queue.length > 0) setImmediate(() => this.flushLoop());
    else this.flushing = false;
  }

  close(): void {
    this.db.close();
  }
}

export interface BaselineOptions {
  dataDir: string;
  bodyLimit: number;
  /** The bearer token every request must carry. */
  token: string;
}

export function buildBaselineServer(options: BaselineOptions): {
  app: FastifyInstance;
  log: RawAlertLog;
} {
  const log = new RawAlertLog(options.dataDir);
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    logger: false,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      JSON.parse(body as string);
      done(null, [body as string]);
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser(NDJSON_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    try {
      const lines = (body as string).split('\n').filter((line) => line.trim() !== '');
      for (const line of lines) JSON.parse(line);
      done(null, lines);
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  const expected = `Bearer ${options.token}`;
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.authorization !== expected) await reply.code(401).send();
  });
  app.post('/api/v1/alerts', async (request, reply) => {
    const alerts = request.body as string[];
    await log.submit(alerts);
    return reply.code(202).send({ accepted: alerts.length });
  });
  return { app, log };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      port: { type: 'string', default: '0' },
      'body-limit': { type: 'string', default: String(10 * 1024 * 1024) },
    },
  });
  if (!values.data) throw new Error('--data DIR is required');
  const { app, log } = buildBaselineServer({
    dataDir: values.data,
    bodyLimit: Number(values['body-limit']),
    token: process.env.BENCH_TOKEN ?? '',
  });
  const address = await app.listen({ host: '127.0.0.1', port: Number(values.port) });
  process.stdout.write(`baseline ${address}\n`);
  process.once('SIGTERM', () => {
    void app.close().then(() => {
      log.close();
      process.exit(0);
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
