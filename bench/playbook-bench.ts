/**
 * The playbook engine under load, as deployed: a `warden serve` process whose
 * playbook (five steps: an inventory lookup, two CEL decisions, one action on
 * a local HTTP endpoint, one case update) runs for every new case, with its
 * state durable in the embedded store. The "firewall" is an HTTP server in
 * this process that records when each action request arrives.
 *
 * - Throughput: N alerts, each opening its own case (so N runs), posted in
 *   NDJSON batches; runs/s = N / time from the first acknowledgement to the
 *   last action request (ingest and the runs share the writer thread). The
 *   caller measures a warm-up first, on the same server, at other addresses.
 * - Latency: single alerts paced at a fixed rate; for each, the time from the
 *   ingest acknowledgement to its action request reaching the firewall.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describeGc, gcBetween } from './gc-trace.js';
import { send } from './http-client.js';
import type { ServerProcess } from './warden-process.js';

export const BENCH_PLAYBOOK = `
id: bench-five-steps
version: 1
title: Five steps per new case
owner: bench@example.com
trigger: { types: [inference_spike] }
steps:
  - id: owner
    enrich: { connector: inventory, action: model, input: { key: '\${{ alert.observables.model.id }}' } }
  - id: external
    decide:
      - when: 'size(alert.enrichment.allowlisted) > 0'
        goto: end
      - default: severe
  - id: severe
    decide:
      - when: 'alert.severityId >= 3.0 && has(steps.owner.output.tier)'
        goto: block
      - default: end
  - id: block
    act: { connector: firewall, action: deny, input: { ip: '\${{ alert.observables.ips[0] }}' } }
  - id: note
    case: { phase: containment, note: 'blocked \${{ alert.observables.ips[0] }}' }
`;

/** A firewall that answers at once and remembers when each address's request arrived. */
export class FakeFirewall {
  readonly arrivals = new Map<string, number>();
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeFirewall> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const firewall = new FakeFirewall(
      server,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    );
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const at = performance.now();
        const { ip } = JSON.parse(Buffer.concat(chunks).toString()) as { ip: string };
        if (!firewall.arrivals.has(ip)) firewall.arrivals.set(ip, at);
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ id: `rule-${firewall.arrivals.size}` }));
        firewall.waiters = firewall.waiters.filter((w) => {
          if (firewall.arrivals.size < w.count) return true;
          w.resolve();
          return false;
        });
      });
    });
    return firewall;
  }

  /** Resolves once `count` distinct addresses were blocked, or rejects after `timeoutMs`. */
  received(count: number, timeoutMs: number): Promise<void> {
    if (this.arrivals.size >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${this.arrivals.size} of ${count} actions arrived`)),
        timeoutMs,
      );
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  reset(): void {
    this.arrivals.clear();
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A config directory: the demo inventory, the firewall connector and the bench playbook. */
export function writeBenchConfig(dir: string, demoConfig: string, firewallUrl: string): string {
  const config = join(dir, 'config');
  mkdirSync(join(config, 'playbooks'), { recursive: true });
  copyFileSync(join(demoConfig, 'inventory.yaml'), join(config, 'inventory.yaml'));
  writeFileSync(join(config, 'playbooks', 'bench.yaml'), BENCH_PLAYBOOK);
  writeFileSync(
    join(config, 'connectors.yaml'),
    `connectors:
  firewall:
    type: http
    base_url: ${firewallUrl}
    concurrency: 64
    actions:
      deny:
        method: POST
        path: /rules
        effect: write
        input: { ip: string }
        body: input
`,
  );
  return config;
}

/** The n-th address, each in its own /24 (so each alert opens its own case), none allow-listed. */
function ipOf(n: number): string {
  if (n >= 64 * 256) throw new Error('the playbook bench has 16,384 distinct ranges');
  return `100.${64 + (n >> 8)}.${n & 255}.1`;
}

function alertFrom(ip: string): string {
  return JSON.stringify({
    type: 'inference_spike',
    title: 'Request volume above baseline',
    severity: 'high',
    source: { product: 'Gateway Monitor', vendor: 'Bench' },
    observables: { ips: [ip], model: { id: 'fraud-detection' } },
  });
}

export interface ThroughputResult {
  runs: number;
  seconds: number;
  runsPerSecond: number;
  /** Server CPU per run (ingest of its alert included), µs: all threads, and the main thread. */
  cpuPerRun: { total: number; main: number };
  /** With BENCH_GC=1: what the collector did per run, one line per thread. */
  gc: string[];
}

export async function measureThroughput(
  server: ServerProcess,
  firewall: FakeFirewall,
  token: string,
  runs: number,
  offset: number,
): Promise<ThroughputResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' };
  const bodies: Buffer[] = [];
  for (let i = 0; i < runs; i += 500) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(runs, i + 500); j += 1) lines.push(alertFrom(ipOf(j + offset)));
    bodies.push(Buffer.from(lines.join('\n')));
  }
  const before = firewall.arrivals.size;
  const cpuBefore = server.cpu();
  const gcBefore = server.gc?.snapshot();
  let firstAck: number | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++] as Buffer;
      const response = await send(agent, `${server.url}/api/v1/alerts`, 'POST', headers, body);
      if (response.status !== 202) throw new Error(`ingest → ${response.status}: ${response.body}`);
      firstAck ??= performance.now();
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  await firewall.received(before + runs, 300_000);
  const last = Math.max(...[...firewall.arrivals.values()]);
  agent.destroy();
  const seconds = (last - (firstAck ?? last)) / 1000;
  const cpu = server.cpu();
  return {
    runs,
    seconds,
    runsPerSecond: runs / seconds,
    cpuPerRun: {
      total: ((cpu.total - cpuBefore.total) / runs) * 1e6,
      main: ((cpu.main - cpuBefore.main) / runs) * 1e6,
    },
    gc:
      server.gc && gcBefore
        ? describeGc(gcBetween(gcBefore, server.gc.snapshot()), runs, 'run')
        : [],
  };
}

export interface LatencyResult {
  rate: number;
  alerts: number;
  medianMs: number;
  p99Ms: number;
}

/**
 * Alerts paced at `rate` for `seconds`, after `warmupSeconds` at the same
 * rate whose latencies are not counted: a fresh server's first second runs
 * cold code (the JIT has not compiled the hot paths yet), and the backlog it
 * leaves would otherwise be measured as if it were the steady state.
 */
export async function measureLatency(
  server: ServerProcess,
  firewall: FakeFirewall,
  token: string,
  rate: number,
  seconds: number,
  offset: number,
  warmupSeconds = 2,
): Promise<LatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const warmup = rate * warmupSeconds;
    await pace(agent, server, firewall, token, rate, warmup, offset);
    const acked = await pace(agent, server, firewall, token, rate, rate * seconds, offset + warmup);
    const latencies: number[] = [];
    for (const [ip, ack] of acked) {
      const arrived = firewall.arrivals.get(ip);
      // An action can reach the firewall before the acknowledgement reaches us: count that as 0.
      if (arrived !== undefined) latencies.push(Math.max(0, arrived - ack));
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number): number =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    return { rate, alerts: latencies.length, medianMs: at(0.5), p99Ms: at(0.99) };
  } finally {
    agent.destroy();
  }
}

/** Posts `total` single alerts at `rate` per second; the acknowledgement time of each, by its address. */
async function pace(
  agent: Agent,
  server: ServerProcess,
  firewall: FakeFirewall,
  token: string,
  rate: number,
  total: number,
  offset: number,
): Promise<Map<string, number>> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const before = firewall.arrivals.size;
  const acked = new Map<string, number>();
  const started = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const ip = ipOf(i + offset);
    sends.push(
      send(agent, `${server.url}/api/v1/alerts`, 'POST', headers, Buffer.from(alertFrom(ip))).then(
        (response) => {
          if (response.status !== 202)
            throw new Error(`ingest → ${response.status}: ${response.body}`);
          acked.set(ip, performance.now());
        },
      ),
    );
  }
  await Promise.all(sends);
  await firewall.received(before + total, 120_000).catch(() => undefined);
  return acked;
}
