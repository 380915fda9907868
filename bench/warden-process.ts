/**
 * Servers under test run in child processes, so the load generator (this
 * process) neither shares their event loop nor inflates their memory.
 *
 * Warden is the built CLI, exactly as deployed, with the Node flags of
 * `npm start`:
 *   node --max-semi-space-size=32 dist/cli/main.js serve --config examples/demo --data DIR --host 127.0.0.1 --port 0
 * (`serve` is `openWarden` + `wardenServer(...).listen`). The baseline is
 * bench/baseline-server.ts, run through tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GcTrace } from './gc-trace.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The Node flags `npm start` gives `warden serve` (package.json), so the
 * benchmark measures the server as the README runs it; `BENCH_NODE_FLAGS`
 * replaces them for an experiment.
 */
export function serverNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env.BENCH_NODE_FLAGS;
  if (override !== undefined) return override.split(' ').filter((flag) => flag !== '');
  const manifest = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as {
    scripts: Record<string, string>;
  };
  const start = /^node((?: --[\w-]+(?:=\S+)?)*) dist\/cli\/main\.js serve /.exec(
    manifest.scripts.start ?? '',
  );
  if (!start)
    throw new Error('package.json scripts.start must run node [FLAGS] dist/cli/main.js serve');
  return (start[1] ?? '').split(' ').filter((flag) => flag !== '');
}

export interface ServerProcess {
  name: string;
  /** e.g. http://127.0.0.1:43121 */
  url: string;
  pid: number;
  /** Resident set size now (VmRSS) and at its peak (VmHWM), from /proc/PID/status, in MB (10^6 bytes). */
  memory(): { rssMB: number; peakMB: number };
  /** CPU seconds the process has used so far: all threads, and its main (JavaScript) thread alone. */
  cpu(): CpuSeconds;
  /** With BENCH_GC=1: what V8's collector did (the server runs with `--trace-gc-nvp`). */
  gc?: GcTrace;
  stop(): Promise<void>;
}

export interface CpuSeconds {
  total: number;
  main: number;
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** utime + stime of one /proc stat line; the command name in parentheses may itself hold spaces. */
function statTicks(path: string): number {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0; // a thread that ended between listing and reading
  }
}

/**
 * CPU time is what a busy, shared 2-core machine cannot distort much, unlike
 * throughput: it says how many alerts per second the server could take on
 * the cores it would have to itself.
 */
function cpuSeconds(pid: number): CpuSeconds {
  const total = statTicks(`/proc/${pid}/stat`);
  const main = statTicks(`/proc/${pid}/task/${pid}/stat`);
  return { total: total / TICKS_PER_SECOND, main: main / TICKS_PER_SECOND };
}

function statusField(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match?.[1] ? (Number(match[1]) * 1024) / 1e6 : NaN;
}

function spawnServer(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  gc?: GcTrace,
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // BENCH_SERVER_LOG keeps everything the servers print, e.g. with BENCH_NODE_FLAGS='--trace-gc'.
  const log = process.env.BENCH_SERVER_LOG;
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
    if (log) appendFileSync(log, chunk);
  };
  child.stdout?.on('data', (chunk: Buffer) => gc?.feed(chunk.toString()));
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 60 s:\n${output}`));
    }, 60_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening:\n${output}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      const before = output;
      keep(chunk);
      const url = /(http:\/\/[\d.]+:\d+)/.exec(before + chunk.toString())?.[1];
      if (!url || child.pid === undefined) return;
      clearTimeout(timer);
      const pid = child.pid;
      resolve({
        name,
        url,
        pid,
        memory: () => ({ rssMB: statusField(pid, 'VmRSS'), peakMB: statusField(pid, 'VmHWM') }),
        cpu: () => cpuSeconds(pid),
        ...(gc ? { gc } : {}),
        async stop() {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

export interface WardenProcessOptions {
  dataDir: string;
  configDir: string;
  adminToken: string;
  /** Write a V8 CPU profile of the server into this directory when it stops. */
  cpuProfileDir?: string;
}

export function startWarden(options: WardenProcessOptions): Promise<ServerProcess> {
  const profile = options.cpuProfileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`]
    : [];
  const gc = process.env.BENCH_GC ? new GcTrace() : undefined;
  return spawnServer(
    'warden',
    [
      ...profile,
      ...(gc ? ['--trace-gc-nvp'] : []),
      ...serverNodeFlags(),
      'dist/cli/main.js',
      'serve',
      '--config',
      options.configDir,
      '--data',
      options.dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    ],
    { WARDEN_ADMIN_TOKEN: options.adminToken, WARDEN_LOG_LEVEL: 'warn' },
    gc,
  );
}

export interface BaselineProcessOptions {
  dataDir: string;
  bodyLimit: number;
  token: string;
}

export function startBaseline(options: BaselineProcessOptions): Promise<ServerProcess> {
  return spawnServer(
    'baseline',
    [
      '--import',
      'tsx',
      'bench/baseline-server.ts',
      '--data',
      options.dataDir,
      '--port',
      '0',
      '--body-limit',
      String(options.bodyLimit),
    ],
    { BENCH_TOKEN: options.token },
  );
}
