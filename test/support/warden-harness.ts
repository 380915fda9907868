import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Role } from '../../src/core/access.js';
import { openWarden, wardenServer, type Warden } from '../../src/main.js';

export const DEMO_CONFIG = resolve(import.meta.dirname, '../../examples/demo');
export const ADMIN_SECRET = 'test-admin-secret';

export interface Harness {
  warden: Warden;
  app: FastifyInstance;
  dataDir: string;
  /** Bearer secrets by name. */
  tokens: Record<string, string>;
  close(): Promise<void>;
}

/**
 * A copy of the demo config directory with `warden.yaml` replaced by `wardenYaml`;
 * the caller removes it.
 */
export function demoConfigWith(wardenYaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-config-'));
  cpSync(DEMO_CONFIG, dir, { recursive: true });
  writeFileSync(join(dir, 'warden.yaml'), wardenYaml);
  return dir;
}

/**
 * A Warden on the demo estate (or `configDir`) and a fresh data directory, with one token per
 * role. The demo playbooks are queued but not run (so tests of the case API
 * see only their own changes) unless `playbooks` is `run`.
 */
export async function startHarness(
  extraTokens: Record<string, { role: Role; units: string[] | null }> = {},
  playbooks: 'run' | 'queue' = 'queue',
  configDir: string = DEMO_CONFIG,
): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-test-'));
  const warden = openWarden({ configDir, dataDir, playbooks });
  await warden.tokens.ensureAdmin(ADMIN_SECRET);
  const tokens: Record<string, string> = { admin: ADMIN_SECRET };
  const wanted: Record<string, { role: Role; units: string[] | null }> = {
    viewer: { role: 'viewer', units: null },
    analyst: { role: 'analyst', units: null },
    responder: { role: 'responder', units: null },
    ...extraTokens,
  };
  for (const [name, spec] of Object.entries(wanted)) {
    const { secret } = await warden.tokens.create({ ...spec, name, createdBy: 'test' });
    tokens[name] = secret;
  }
  const app = wardenServer(warden);
  await app.ready();
  return {
    warden,
    app,
    dataDir,
    tokens,
    async close() {
      await app.close();
      await warden.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function bearer(secret: string | undefined): { authorization: string } {
  return { authorization: `Bearer ${secret ?? ''}` };
}

/** A native-format alert about the churn model's inference API. */
export function spikeAlert(
  ip: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'inference_spike',
    title: 'Inference request volume 6x baseline',
    severity: 'high',
    time: '2026-11-26T10:00:00Z',
    source: { product: 'Model Monitor', vendor: 'Acme' },
    observables: {
      ips: [ip],
      model: { id: 'customer-churn', endpoint: '/v1/models/customer-churn:predict' },
    },
    ...overrides,
  };
}

/**
 * Serves `warden` in-process with the admin token `admin-secret` and one
 * token per entry (by name: its role and, optionally, its units). Returns
 * the started app and each token's secret by name.
 */
export async function serveWithTokens(
  warden: Warden,
  tokens: Record<string, { role: Role; units?: string[] }>,
): Promise<{ app: FastifyInstance; secrets: Record<string, string> }> {
  await warden.tokens.ensureAdmin('admin-secret');
  const secrets: Record<string, string> = {};
  for (const [name, { role, units }] of Object.entries(tokens)) {
    secrets[name] = (
      await warden.tokens.create({ name, role, units: units ?? null, createdBy: 'test' })
    ).secret;
  }
  const app = wardenServer(warden);
  await app.ready();
  return { app, secrets };
}

/**
 * A config directory under `parent` holding the demo inventory and `files`
 * (path relative to the directory → text, e.g. `playbooks/ask.yaml`).
 */
export function estateConfig(parent: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(parent, 'config-'));
  cpSync(join(DEMO_CONFIG, 'inventory.yaml'), join(dir, 'inventory.yaml'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/**
 * Posts one alert as `secret`'s holder and waits until the playbooks it
 * started have gone as far as they can; the case it landed in.
 */
export async function postAlertAndSettle(
  app: FastifyInstance,
  warden: Warden,
  secret: string | undefined,
  payload: Record<string, unknown>,
): Promise<{ caseId: string; caseNumber: number }> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/alerts',
    headers: bearer(secret),
    payload,
  });
  const [result] = response.json<{ results: { caseId: string; caseNumber: number }[] }>().results;
  await warden.executor?.idle();
  return { caseId: result?.caseId ?? '', caseNumber: result?.caseNumber ?? 0 };
}
