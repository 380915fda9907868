/**
 * `npm run bench`: Warden's ingest throughput against a raw-SQLite baseline,
 * its read path on a large store, and each alert source format's normalisation
 * in-process. Prints the figures and a markdown block
 * for the README. Runs as `node --import tsx bench/run.ts` (not the tsx CLI,
 * whose signal relay would SIGKILL a busy fill before it can delete its store).
 *
 * Environment (all optional):
 *   BENCH_ALERTS=200000        alerts in the read-path store (default 1,000,000)
 *   BENCH_RUNS=3               runs per throughput measurement (median reported)
 *   BENCH_BATCH_ALERTS=100000  alerts per batched-ingest run
 *   BENCH_SINGLE_SECONDS=10    duration of each single-alert run
 *   BENCH_READ_REQUESTS=300    measured requests per read endpoint
 *   BENCH_PLAYBOOK_RUNS=4000   alerts (= playbook runs) per playbook throughput run (after 2,000 warm-up runs)
 *   BENCH_SOURCE_ALERTS=200000 max alerts per source-normalisation run (each also stops at 2 s)
 *   BENCH_ONLY=batch,single,read,playbooks,sources   run only these parts
 *   BENCH_CPU_PROF=1           write V8 CPU profiles of the Warden server to a temp dir
 *   BENCH_NODE_FLAGS='…'       the server's Node flags instead of those of `npm start` ('' for none)
 *   BENCH_GC=1                 run Warden with --trace-gc-nvp and print, per measured run, what each
 *                              thread allocated and its collections cost (steadier than throughput)
 *   BENCH_SERVER_LOG=FILE      append what the servers print to FILE (e.g. with BENCH_NODE_FLAGS='--trace-gc')
 *   BENCH_KEEP=1               keep the data directories (their paths are printed) to inspect the
 *                              stores afterwards, e.g. which table each page belongs to (dbstat)
 */
import autocannon, { type AutocannonResult } from 'autocannon';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadWardenConfig } from '../src/config/warden-config.js';
import { AlertGenerator } from './alert-generator.js';
import {
  FakeFirewall,
  measureLatency,
  measureThroughput,
  writeBenchConfig,
  type LatencyResult,
  type ThroughputResult,
} from './playbook-bench.js';
import { fillStore } from './fill-store.js';
import { describeGc, gcBetween, type IsolateGc } from './gc-trace.js';
import { postAll, timeGets, type HttpResponse } from './http-client.js';
import { int, markdownTable, median, ms, percentile, spread, table, verdict } from './report.js';
import {
  DEFAULT_SOURCE_BENCH,
  SOURCE_TARGET_PER_SECOND,
  benchSources,
  orphanSamples,
  type SourceResult,
} from './source-bench.js';
import {
  ROOT,
  serverNodeFlags,
  startBaseline,
  startWarden,
  type CpuSeconds,
  type ServerProcess,
} from './warden-process.js';

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

const DEMO_CONFIG_DIR = 'examples/demo';
const TOKEN = 'wdn_bench_admin_token_0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
/**
 * Campaigns (≈ cases) the ingest scenarios spread their alerts over: a busy
 * estate with many concurrent incidents, so a group commit touches many cases.
 */
const ACTIVE_CASES = 2000;
/** Each latency run: this long at the rate, after a warm-up this long at the same rate, not counted. */
const LATENCY_SECONDS = 5;
const LATENCY_WARMUP_SECONDS = 2;
/**
 * Runs a fresh server does before playbook throughput is measured, as the
 * latency and single-alert measurements warm up too: a fresh process's
 * first seconds compile the hot paths, on the same two cores.
 */
const PLAYBOOK_WARMUP_RUNS = 2000;
const settings = {
  runs: envInt('BENCH_RUNS', 3),
  batchAlerts: envInt('BENCH_BATCH_ALERTS', 100_000),
  batchSize: 500,
  batchConnections: 4,
  singleSeconds: envInt('BENCH_SINGLE_SECONDS', 10),
  singleConnections: 50,
  fillAlerts: envInt('BENCH_ALERTS', 1_000_000),
  readRequests: envInt('BENCH_READ_REQUESTS', 300),
  playbookRuns: envInt('BENCH_PLAYBOOK_RUNS', 4000),
  sourceAlerts: envInt('BENCH_SOURCE_ALERTS', DEFAULT_SOURCE_BENCH.maxIterations),
  only: new Set((process.env.BENCH_ONLY ?? 'batch,single,read,playbooks,sources').split(',')),
  cpuProfileDir: process.env.BENCH_CPU_PROF
    ? mkdtempSync(join(os.tmpdir(), 'warden-bench-profiles-'))
    : undefined,
};
const bodyLimit = loadWardenConfig(join(ROOT, DEMO_CONFIG_DIR)).server.bodyLimitBytes;

type Kind = 'warden' | 'baseline';

/** Data directories in use, deleted on Ctrl-C too (the read-path store is several GB). */
const liveDirs = new Set<string>();
const liveServers = new Set<number>();

function freshDir(name: string): string {
  const dir = mkdtempSync(join(os.tmpdir(), `warden-bench-${name}-`));
  liveDirs.add(dir);
  return dir;
}

/**
 * The ingest and read measurements use the demo estate without its
 * playbooks: they measure ingest; the playbook engine has its own part.
 */
let ingestConfigDir: string | undefined;
function ingestConfig(): string {
  if (ingestConfigDir) return ingestConfigDir;
  const dir = freshDir('config');
  for (const file of ['inventory.yaml', 'warden.yaml']) {
    copyFileSync(join(ROOT, DEMO_CONFIG_DIR, file), join(dir, file));
  }
  ingestConfigDir = dir;
  return dir;
}

const keepDirs = process.env.BENCH_KEEP === '1';

function removeDir(dir: string): void {
  liveDirs.delete(dir);
  if (keepDirs) console.log(`  kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

function tracked(server: ServerProcess): ServerProcess {
  liveServers.add(server.pid);
  return server;
}

async function stopServer(server: ServerProcess): Promise<void> {
  await server.stop();
  liveServers.delete(server.pid);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const pid of liveServers) process.kill(pid, 'SIGKILL');
    if (!keepDirs) for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
}

const log = (line: string): void => void process.stdout.write(`${line}\n`);

/** Start a server of `kind` on a fresh data directory, run `work`, stop it, delete the directory. */
async function withServer<T>(kind: Kind, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const dataDir = freshDir(kind);
  try {
    const server = tracked(
      kind === 'warden'
        ? await startWarden({
            dataDir,
            configDir: ingestConfig(),
            adminToken: TOKEN,
            ...(settings.cpuProfileDir ? { cpuProfileDir: settings.cpuProfileDir } : {}),
          })
        : await startBaseline({ dataDir, bodyLimit, token: TOKEN }),
    );
    try {
      return await work(server);
    } finally {
      await stopServer(server);
    }
  } finally {
    removeDir(dataDir);
  }
}

// ---------------------------------------------------------------- batched ingest

interface BatchedRun {
  alertsPerSecond: number;
  peakMB: number;
  /** Server CPU per alert, µs: all threads, and the main thread alone. */
  cpuPerAlert: { total: number; main: number };
  /** This process's CPU per alert, µs: the load generator's share of the machine. */
  loaderCpuPerAlert: number;
  /** With BENCH_GC=1: what the collector did per alert, one line per thread. */
  gc: string[];
}

function cpuPerAlert(
  before: CpuSeconds,
  after: CpuSeconds,
  alerts: number,
): BatchedRun['cpuPerAlert'] {
  return {
    total: ((after.total - before.total) / alerts) * 1e6,
    main: ((after.main - before.main) / alerts) * 1e6,
  };
}

/** CPU this process used since `before` (process.cpuUsage), µs per item. */
function loaderCpuPer(before: NodeJS.CpuUsage, items: number): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / items;
}

function ndjsonBodies(
  seed: number,
  alerts: number,
  perBody: number,
  campaigns = ACTIVE_CASES,
): Buffer[] {
  const generator = new AlertGenerator({ seed, expectedAlerts: alerts, campaigns });
  return Array.from({ length: Math.ceil(alerts / perBody) }, () =>
    Buffer.from(generator.ndjson(perBody)),
  );
}

async function batchedRun(kind: Kind, bodies: Buffer[], warmup: Buffer[]): Promise<BatchedRun> {
  return withServer(kind, async (server) => {
    const url = `${server.url}/api/v1/alerts`;
    const headers = { ...AUTH, 'content-type': 'application/x-ndjson' };
    let accepted = 0;
    const check = (response: HttpResponse): void => {
      if (response.status !== 202) {
        throw new Error(`${kind}: POST → ${response.status}: ${response.body.slice(0, 300)}`);
      }
      accepted += (JSON.parse(response.body) as { accepted: number }).accepted;
    };
    await postAll(url, warmup, settings.batchConnections, headers, check);
    accepted = 0;
    const cpuBefore = server.cpu();
    const loaderBefore = process.cpuUsage();
    const gcBefore = server.gc?.snapshot();
    const { seconds } = await postAll(url, bodies, settings.batchConnections, headers, check);
    const expected = bodies.length * settings.batchSize;
    if (accepted !== expected) throw new Error(`${kind}: accepted ${accepted} of ${expected}`);
    return {
      alertsPerSecond: accepted / seconds,
      peakMB: server.memory().peakMB,
      cpuPerAlert: cpuPerAlert(cpuBefore, server.cpu(), accepted),
      loaderCpuPerAlert: loaderCpuPer(loaderBefore, accepted),
      gc: gcLines(server, gcBefore, accepted, 'alert'),
    };
  });
}

// ---------------------------------------------------------------- single-alert requests

interface SingleRun {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failed: number;
  cpuPerAlert: BatchedRun['cpuPerAlert'];
  loaderCpuPerAlert: number;
  gc: string[];
}

function cannon(
  url: string,
  generator: AlertGenerator,
  seconds: number,
): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/api/v1/alerts`,
        connections: settings.singleConnections,
        duration: seconds,
        timeout: 30,
        headers: { ...AUTH, 'content-type': 'application/json' },
        requests: [
          {
            method: 'POST',
            // Every request a different alert (about 10% repeats of recent ones).
            setupRequest: (request) => ({ ...request, body: generator.nextJson() }),
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

async function singleRun(kind: Kind, seed: number): Promise<SingleRun> {
  return withServer(kind, async (server) => {
    const generator = new AlertGenerator({
      seed,
      expectedAlerts: settings.singleSeconds * 10_000,
      campaigns: ACTIVE_CASES,
    });
    await cannon(server.url, generator, 2);
    const cpuBefore = server.cpu();
    const loaderBefore = process.cpuUsage();
    const gcBefore = server.gc?.snapshot();
    const r = await cannon(server.url, generator, settings.singleSeconds);
    return {
      requestsPerSecond: r['2xx'] / r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      failed: r.non2xx + r.errors + r.timeouts,
      cpuPerAlert: cpuPerAlert(cpuBefore, server.cpu(), r['2xx']),
      loaderCpuPerAlert: loaderCpuPer(loaderBefore, r['2xx']),
      gc: gcLines(server, gcBefore, r['2xx'], 'request'),
    };
  });
}

/** BENCH_GC=1: the collector's work since `before`, per unit; nothing otherwise. */
function gcLines(
  server: ServerProcess,
  before: Map<string, IsolateGc> | undefined,
  units: number,
  unit: string,
): string[] {
  if (!server.gc || !before) return [];
  return describeGc(gcBetween(before, server.gc.snapshot()), units, unit);
}

// ---------------------------------------------------------------- read path

interface Endpoint {
  label: string;
  path: string;
  medianMs: number;
  p99Ms: number;
  bytes: number;
}

interface ReadPath {
  fill: Awaited<ReturnType<typeof fillStore>>;
  endpoints: Endpoint[];
  rssMB: number;
  peakMB: number;
}

function progress(label: string): (done: number, total: number) => void {
  let started: number | undefined;
  let lastShown = -1;
  return (done, total) => {
    started ??= performance.now();
    const pct = Math.floor((done / total) * 100);
    const tty = process.stderr.isTTY;
    if (!tty && pct < lastShown + 5 && done < total) return;
    lastShown = pct;
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? `, eta ${Math.ceil((total - done) / rate)} s` : '';
    const line = `  ${label}: ${int(done)} / ${int(total)} (${pct}%${rate > 0 ? `, ${int(rate)}/s` : ''}${eta})`;
    process.stderr.write(tty ? `\r${line}${done === total ? '\n' : ''}` : `${line}\n`);
  };
}

async function readPath(): Promise<ReadPath> {
  const dataDir = freshDir('read');
  try {
    const alertProgress = progress('filling store');
    const closeProgress = progress('closing cases');
    const fill = await fillStore({
      dataDir,
      configDir: ingestConfig(),
      alerts: settings.fillAlerts,
      onProgress: (phase, done, total) =>
        (phase === 'alerts' ? alertProgress : closeProgress)(done, total),
    });
    log(
      `  filled: ${int(fill.stored.alerts)} alerts (${int(fill.stored.events)} events), ` +
        `${int(fill.stored.cases)} cases (${int(fill.stored.openCases)} open), ` +
        `largest case ${int(fill.largestCase.alerts)} alerts; fill rate ${int(fill.alertsPerSecond)} alerts/s ` +
        `(in this process, synchronous=NORMAL, ${int(fill.seconds)} s)`,
    );
    const server = tracked(
      await startWarden({ dataDir, configDir: ingestConfig(), adminToken: TOKEN }),
    );
    try {
      const targets = [
        { label: 'GET /api/v1/cases?limit=50', path: '/api/v1/cases?limit=50' },
        {
          label: 'GET /api/v1/cases?status=open&business_unit=retail-banking',
          path: '/api/v1/cases?status=open&business_unit=retail-banking',
        },
        {
          label: `GET /api/v1/cases/:id (${int(fill.largestCase.alerts)} alerts)`,
          path: `/api/v1/cases/${fill.largestCase.id}`,
        },
      ];
      const endpoints: Endpoint[] = [];
      for (const t of targets) {
        const { latenciesMs, bytes } = await timeGets(
          `${server.url}${t.path}`,
          settings.readRequests,
          20,
          AUTH,
        );
        const e = {
          ...t,
          medianMs: median(latenciesMs),
          p99Ms: percentile(latenciesMs, 99),
          bytes,
        };
        log(
          `  ${e.label}: median ${ms(e.medianMs)} ms, p99 ${ms(e.p99Ms)} ms, ${int(bytes)} bytes`,
        );
        endpoints.push(e);
      }
      return { fill, endpoints, ...server.memory() };
    } finally {
      await stopServer(server);
    }
  } finally {
    removeDir(dataDir);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const machine = `${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  log(`Warden benchmark — ${machine}`);
  log(
    `Servers run in child processes (Warden: ${['node', ...serverNodeFlags(), 'dist/cli/main.js serve'].join(' ')}); the load generator ` +
      'runs in this process on the same machine.\n',
  );

  const batched: Record<Kind, BatchedRun[]> = { warden: [], baseline: [] };
  const single: Record<Kind, SingleRun[]> = { warden: [], baseline: [] };
  const kinds: Kind[] = ['warden', 'baseline'];

  if (settings.only.has('batch')) {
    const bodies = ndjsonBodies(2, settings.batchAlerts, settings.batchSize);
    const warmup = ndjsonBodies(3, 10 * settings.batchSize, settings.batchSize, 100);
    const bytes = bodies.reduce((sum, b) => sum + b.length, 0);
    log(
      `Batched ingest: ${int(bodies.length)} NDJSON bodies × ${settings.batchSize} alerts ` +
        `(${int(bytes / (bodies.length * settings.batchSize))} bytes/alert), ` +
        `${settings.batchConnections} connections, ~${int(ACTIVE_CASES)} active cases`,
    );
    for (let run = 1; run <= settings.runs; run += 1) {
      for (const kind of kinds) {
        const r = await batchedRun(kind, bodies, warmup);
        batched[kind].push(r);
        log(
          `  run ${run} ${kind.padEnd(8)} ${int(r.alertsPerSecond)} alerts/s; server CPU ` +
            `${int(r.cpuPerAlert.total)} µs/alert (main thread ${int(r.cpuPerAlert.main)}, ` +
            `other threads ${int(r.cpuPerAlert.total - r.cpuPerAlert.main)}); ` +
            `load generator ${int(r.loaderCpuPerAlert)} µs/alert`,
        );
        for (const line of r.gc) log(`      GC ${line}`);
      }
    }
  }

  if (settings.only.has('single')) {
    log(
      `Single-alert requests: application/json, ${settings.singleConnections} connections, ` +
        `${settings.singleSeconds} s (after 2 s warm-up), ~${int(ACTIVE_CASES)} active cases`,
    );
    for (let run = 1; run <= settings.runs; run += 1) {
      for (const kind of kinds) {
        const r = await singleRun(kind, 10 + run);
        single[kind].push(r);
        log(
          `  run ${run} ${kind.padEnd(8)} ${int(r.requestsPerSecond)} req/s, ` +
            `p50 ${r.p50} ms, p99 ${r.p99} ms${r.failed ? `, ${r.failed} FAILED` : ''}; server CPU ` +
            `${int(r.cpuPerAlert.total)} µs/request (main thread ${int(r.cpuPerAlert.main)}); ` +
            `load generator ${int(r.loaderCpuPerAlert)} µs/request`,
        );
        for (const line of r.gc) log(`      GC ${line}`);
      }
    }
  }

  let read: ReadPath | undefined;
  if (settings.only.has('read')) {
    log(
      `Read path: fill a store with ${int(settings.fillAlerts)} alerts through the pipeline ` +
        '(plus ~10% repeats that fold into them), then time the API',
    );
    read = await readPath();
  }

  let playbooks: PlaybookFigures | undefined;
  if (settings.only.has('playbooks')) {
    log(
      `Playbooks: a five-step playbook (inventory lookup, two CEL decisions, one HTTP action, ` +
        `one case update) for every new case, durable on the embedded store`,
    );
    playbooks = await playbookFigures();
  }

  let sources: SourceResult[] | undefined;
  if (settings.only.has('sources')) {
    sources = sourceFigures();
  }

  // ---- summary
  const rows: string[][] = [['scenario', 'metric', 'Warden', 'baseline', 'W/B', 'target']];
  const md: string[][] = [
    ['Scenario', 'Warden', 'Baseline (raw SQLite)', 'Warden/baseline', 'Target'],
  ];
  const of = <T>(runs: T[], pick: (r: T) => number): number[] => runs.map(pick);
  if (batched.warden.length > 0) {
    const w = of(batched.warden, (r) => r.alertsPerSecond);
    const b = of(batched.baseline, (r) => r.alertsPerSecond);
    const ratio = median(w) / median(b);
    const target = `≥ 10,000: ${verdict(median(w) >= 10_000)}; W/B ≥ 0.5: ${verdict(ratio >= 0.5)}`;
    rows.push([
      `batched NDJSON ${settings.batchSize}/req, ${settings.batchConnections} conns`,
      'alerts/s',
      spread(w),
      spread(b),
      ratio.toFixed(2),
      target,
    ]);
    rows.push([
      '',
      'peak RSS MB',
      spread(of(batched.warden, (r) => r.peakMB)),
      spread(of(batched.baseline, (r) => r.peakMB)),
      '',
      '',
    ]);
    md.push([
      `Batched ingest: NDJSON, ${settings.batchSize} alerts/request, ${settings.batchConnections} connections`,
      `${int(median(w))} alerts/s`,
      `${int(median(b))} alerts/s`,
      ratio.toFixed(2),
      '≥ 10,000 alerts/s',
    ]);
  }
  if (single.warden.length > 0) {
    const w = of(single.warden, (r) => r.requestsPerSecond);
    const b = of(single.baseline, (r) => r.requestsPerSecond);
    const ratio = median(w) / median(b);
    const wp99 = median(of(single.warden, (r) => r.p99));
    const failed = single.warden.reduce((sum, r) => sum + r.failed, 0);
    rows.push([
      `single alert/req, ${settings.singleConnections} conns, ${settings.singleSeconds} s`,
      'req/s',
      spread(w),
      spread(b),
      ratio.toFixed(2),
      `≥ 5,000: ${verdict(median(w) >= 5000)}; W/B ≥ 0.5: ${verdict(ratio >= 0.5)}`,
    ]);
    rows.push([
      '',
      'p50 ms',
      spread(
        of(single.warden, (r) => r.p50),
        String,
      ),
      spread(
        of(single.baseline, (r) => r.p50),
        String,
      ),
      '',
      '',
    ]);
    rows.push([
      '',
      'p99 ms',
      spread(
        of(single.warden, (r) => r.p99),
        String,
      ),
      spread(
        of(single.baseline, (r) => r.p99),
        String,
      ),
      '',
      `< 50: ${verdict(wp99 < 50)}${failed ? `; ${failed} requests FAILED` : ''}`,
    ]);
    md.push([
      `Single-alert requests: 1 alert/request, ${settings.singleConnections} connections`,
      `${int(median(w))} req/s, p50 ${median(of(single.warden, (r) => r.p50))} ms, p99 ${wp99} ms`,
      `${int(median(b))} req/s, p50 ${median(of(single.baseline, (r) => r.p50))} ms, p99 ${median(of(single.baseline, (r) => r.p99))} ms`,
      ratio.toFixed(2),
      '≥ 5,000 req/s, p99 < 50 ms',
    ]);
  }

  log('');
  if (rows.length > 1) {
    log(
      `Ingest throughput (median of ${settings.runs} runs, min–max in brackets; fresh store per run)`,
    );
    log(table(rows));
    log('');
  }

  const readRows: string[][] = [['request', 'median ms', 'p99 ms', 'bytes', 'target']];
  const readMd: string[][] = [['Read path', 'Median', 'p99', 'Target']];
  if (read) {
    for (const e of read.endpoints) {
      readRows.push([
        e.label,
        ms(e.medianMs),
        ms(e.p99Ms),
        int(e.bytes),
        `< 50 ms: ${verdict(e.p99Ms < 50)}`,
      ]);
      readMd.push([`\`${e.label}\``, `${ms(e.medianMs)} ms`, `${ms(e.p99Ms)} ms`, '< 50 ms']);
    }
    const f = read.fill;
    log(
      `Read path (${int(f.stored.alerts)} alerts, ${int(f.stored.cases)} cases of which ${int(f.stored.openCases)} open; ` +
        `${settings.readRequests} sequential requests each after 20 warm-up)`,
    );
    log(table(readRows));
    log(
      `Warden server memory (VmRSS of the serve process after the reads): ${int(read.rssMB)} MB, ` +
        `peak (VmHWM) ${int(read.peakMB)} MB; target < 500 MB: ${verdict(read.peakMB < 500)}`,
    );
    log('');
  }

  const sourceRows = sources ? sourceTables(sources) : undefined;
  if (sourceRows) {
    log(
      `Source normalisation (in this process, one thread; pre-parsed payloads; median of ${settings.runs} runs)`,
    );
    log(table(sourceRows.text));
    log('');
  }

  log('Markdown for the README:\n');
  log('```markdown');
  log('### Performance\n');
  log(
    `Measured with \`npm run bench\` on ${machine}. Warden runs as \`warden serve\` in its own ` +
      `process (\`${['node', ...serverNodeFlags()].join(' ')}\`, as \`npm start\` runs it) ` +
      'on the demo estate (its inventory; playbooks off, they are measured below) with the default durability (SQLite WAL; an alert is ' +
      'acknowledged only after its commit is on disk, made durable by an fdatasync of the WAL ' +
      'off the writer thread, as durable as `synchronous=FULL`); the load generator shares the machine. ' +
      `Throughput is the median of ${settings.runs} runs, each on a fresh store; ~2 KB alerts, ` +
      `about 10% of them repeats, spread over ~${int(ACTIVE_CASES)} concurrently active cases. ` +
      'The baseline is the same fastify server writing raw alert ' +
      'text to SQLite with the same group commit and durability, and no normalisation, ' +
      'enrichment, dedup or correlation.\n',
  );
  if (md.length > 1) log(`${markdownTable(md)}\n`);
  if (read) {
    log(
      `Read path on a store of ${int(read.fill.stored.alerts)} alerts in ${int(read.fill.stored.cases)} cases ` +
        `(${int(read.fill.stored.openCases)} open), ${settings.readRequests} sequential requests each:\n`,
    );
    log(markdownTable(readMd));
    log(
      `\nMemory of the \`warden serve\` process after the reads: ${int(read.rssMB)} MB resident, ` +
        `${int(read.peakMB)} MB at its peak (target < 500 MB).`,
    );
  }
  if (playbooks) {
    const t = median(playbooks.throughput.map((r) => r.runsPerSecond));
    log(
      `\nPlaybook engine (same machine; median of ${playbooks.throughput.length} runs of ` +
        `${int(playbooks.throughput[0]?.runs ?? 0)} alerts, each opening a case and so starting a run, ` +
        `after ${int(PLAYBOOK_WARMUP_RUNS)} such runs on the same server to warm it up):\n`,
    );
    log(
      markdownTable([
        ['Measurement', 'Warden', 'Target'],
        [
          'Five-step playbook runs, durable',
          `${int(t)} runs/s`,
          `≥ 2,000 runs/s: ${verdict(t >= 2000)}`,
        ],
        ...playbooks.latency.map((l) => [
          `Alert acknowledged → action request sent, at ${l.rate} alerts/s`,
          `median ${l.medianMs.toFixed(1)} ms, p99 ${l.p99Ms.toFixed(1)} ms (${int(l.alerts)} alerts after a ${LATENCY_WARMUP_SECONDS} s warm-up; median of ${settings.runs} runs)`,
          l.rate === 500 ? `median < 20 ms: ${verdict(l.medianMs < 20)}` : '(for scale)',
        ]),
      ]),
    );
  }
  if (sourceRows) {
    log(
      `\nSource normalisation (in one process on one thread, pre-parsed payloads; median of ` +
        `${settings.runs} runs of up to ${int(settings.sourceAlerts)} alerts or 2 s; ` +
        'detection tries the formats in registry order):\n',
    );
    log(markdownTable(sourceRows.md));
  }
  log('```');
  if (settings.cpuProfileDir) log(`\nCPU profiles of the Warden server: ${settings.cpuProfileDir}`);
}

// ---------------------------------------------------------------- source normalisation

function sourceFigures(): SourceResult[] {
  log(
    'Source normalisation: every registered format, format.normalize() alone and ' +
      'normalizePayload() (detection + normalisation), in this process on one thread',
  );
  for (const name of orphanSamples()) {
    log(`  bench/source-samples.ts has a sample for "${name}", which is not a registered format`);
  }
  return benchSources(
    { ...DEFAULT_SOURCE_BENCH, runs: settings.runs, maxIterations: settings.sourceAlerts },
    (r) => {
      if (r.status === 'no sample') {
        log(`  ${r.format}: no sample in bench/source-samples.ts, not measured`);
      } else if (r.status === 'bad sample') {
        log(`  ${r.format}: sample unusable, not measured: ${r.reason}`);
      } else {
        log(
          `  ${r.format}: normalise ${spread(r.normalize.runs)} alerts/s ` +
            `(${r.normalize.microsPerAlert.toFixed(2)} µs); detect+normalise ` +
            `${spread(r.detectNormalize.runs)} alerts/s (${r.detectNormalize.microsPerAlert.toFixed(2)} µs); ` +
            `${int(Math.min(...r.normalize.alertsPerRun))}+ alerts/run`,
        );
      }
    },
  );
}

function sourceTables(results: SourceResult[]): { text: string[][]; md: string[][] } {
  const target = `≥ ${int(SOURCE_TARGET_PER_SECOND)}`;
  const text: string[][] = [
    [
      'format',
      'normalise alerts/s',
      'µs/alert',
      'detect+normalise alerts/s',
      'µs/alert',
      `target ${target}`,
    ],
  ];
  const md: string[][] = [
    ['Format', 'Normalise', 'Detect + normalise', `Target ${target} alerts/s (normalise)`],
  ];
  for (const r of results) {
    if (r.status !== 'measured') {
      const why = r.status === 'no sample' ? 'no sample' : 'bad sample';
      text.push([r.format, why, '', why, '', 'not measured']);
      md.push([r.format, why, why, 'not measured']);
      continue;
    }
    const met = verdict(r.normalize.alertsPerSecond >= SOURCE_TARGET_PER_SECOND);
    text.push([
      r.format,
      spread(r.normalize.runs),
      r.normalize.microsPerAlert.toFixed(2),
      spread(r.detectNormalize.runs),
      r.detectNormalize.microsPerAlert.toFixed(2),
      met,
    ]);
    md.push([
      r.format,
      `${int(r.normalize.alertsPerSecond)} alerts/s (${r.normalize.microsPerAlert.toFixed(1)} µs)`,
      `${int(r.detectNormalize.alertsPerSecond)} alerts/s (${r.detectNormalize.microsPerAlert.toFixed(1)} µs)`,
      met,
    ]);
  }
  return { text, md };
}

interface PlaybookFigures {
  throughput: ThroughputResult[];
  /** At the target rate first. */
  latency: LatencyResult[];
}

async function playbookFigures(): Promise<PlaybookFigures> {
  const firewall = await FakeFirewall.start();
  const dir = freshDir('playbooks');
  try {
    const config = writeBenchConfig(dir, join(ROOT, DEMO_CONFIG_DIR), firewall.url);
    const throughput: ThroughputResult[] = [];
    for (let run = 1; run <= settings.runs; run += 1) {
      const dataDir = join(dir, `data-${run}`);
      // Every server has a fresh store, so the same addresses serve again.
      firewall.reset();
      const server = tracked(
        await startWarden({
          dataDir,
          configDir: config,
          adminToken: TOKEN,
          ...(settings.cpuProfileDir ? { cpuProfileDir: settings.cpuProfileDir } : {}),
        }),
      );
      try {
        const cold = await measureThroughput(server, firewall, TOKEN, PLAYBOOK_WARMUP_RUNS, 0);
        const r = await measureThroughput(
          server,
          firewall,
          TOKEN,
          settings.playbookRuns,
          PLAYBOOK_WARMUP_RUNS,
        );
        throughput.push(r);
        log(
          `  run ${run} ${int(r.runsPerSecond)} runs/s (${int(r.runs)} runs in ${r.seconds.toFixed(2)} s); ` +
            `server CPU ${int(r.cpuPerRun.total)} µs/run (main thread ${int(r.cpuPerRun.main)}); ` +
            `warm-up: ${int(cold.runsPerSecond)} runs/s, ${int(cold.cpuPerRun.total)} µs/run`,
        );
        for (const line of r.gc) log(`      GC ${line}`);
      } finally {
        await stopServer(server);
      }
    }
    const latency: LatencyResult[] = [];
    // At the target rate, and at a lighter one for scale.
    // At the target rate, and at a lighter one for scale; each run on a fresh server, the median run reported.
    for (const rate of [500, 200]) {
      const runs: LatencyResult[] = [];
      for (let run = 1; run <= settings.runs; run += 1) {
        firewall.reset();
        const server = tracked(
          await startWarden({
            dataDir: join(dir, `data-latency-${rate}-${run}`),
            configDir: config,
            adminToken: TOKEN,
          }),
        );
        try {
          const l = await measureLatency(
            server,
            firewall,
            TOKEN,
            rate,
            LATENCY_SECONDS,
            0,
            LATENCY_WARMUP_SECONDS,
          );
          runs.push(l);
          log(
            `  run ${run} latency at ${l.rate} alerts/s: median ${l.medianMs.toFixed(1)} ms, p99 ${l.p99Ms.toFixed(1)} ms`,
          );
        } finally {
          await stopServer(server);
        }
      }
      runs.sort((a, b) => a.medianMs - b.medianMs);
      latency.push(runs[Math.floor((runs.length - 1) / 2)] as LatencyResult);
    }
    return { throughput, latency };
  } finally {
    await firewall.close();
    removeDir(dir);
  }
}

try {
  await main();
} finally {
  if (ingestConfigDir) removeDir(ingestConfigDir);
}
