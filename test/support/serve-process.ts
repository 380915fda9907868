import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The built CLI: tests that run `warden serve` as a real process need `npm run build` first. */
export const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
}

export interface ServeProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
}

/** Starts `warden serve` on a free port of 127.0.0.1; resolves once it listens. */
export async function serveProcess(options: {
  config: string;
  data: string;
  adminToken: string;
}): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', options.config, '--data', options.data].concat([
      '--port',
      '0',
      '--host',
      '127.0.0.1',
    ]),
    { env: { ...process.env, WARDEN_ADMIN_TOKEN: options.adminToken, WARDEN_LOG_LEVEL: 'warn' } },
  );
  let out = '';
  const url = await new Promise<string>((ready, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Warden (http:\/\/\S+)/.exec(out);
      if (match?.[1]) ready(match[1]);
    });
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => fail(new Error(`serve exited ${code}: ${out}`)));
  });
  return { child, url, port: Number(new URL(url).port) };
}

/** SIGKILL: the process gets no chance to clean up. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null) {
      done();
      return;
    }
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
}
