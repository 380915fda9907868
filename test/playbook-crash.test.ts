import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeHttpService } from './support/fake-http-service.js';
import { assertBuilt, killHard, serveProcess, type ServeProcess } from './support/serve-process.js';
import { DEMO_CONFIG, spikeAlert } from './support/warden-harness.js';

/**
 * Durable playbook execution, end to end: a real `warden serve` process is
 * killed (SIGKILL, no chance to clean up) in the middle of a run, started
 * again on the same data directory, and the run completes with its action
 * applied once. The firewall is a local fake that records every request.
 */
const TOKEN = 'wdn_test_admin_token_for_crash_tests_0123456789';

const PLAYBOOK = `
id: block-range
version: 1
title: Block a range in front of a model
owner: secops@bank.example
trigger: { types: [inference_spike] }
steps:
  - id: approve
    approval:
      approvers: [responder, admin]
      message: 'Block \${{ case.observables.sourceRanges[0] }}?'
      timeout: 1h
  - id: block
    act:
      connector: firewall
      action: deny
      intent: block_source
      input: { cidr: '\${{ case.observables.sourceRanges[0] }}' }
  - id: contain
    case: { phase: containment, note: 'Blocked \${{ steps.block.output.rule }}' }
`;

function connectors(url: string): string {
  return `
connectors:
  firewall:
    type: http
    base_url: ${url}
    idempotency_header: Idempotency-Key
    timeout: 60s
    actions:
      deny:
        method: POST
        path: /rules
        effect: write
        input: { cidr: string }
        body: input
        output: { rule: id }
`;
}

type Server = ServeProcess;

let dir: string;
let fake: FakeHttpService;
const servers: ChildProcess[] = [];

beforeAll(async () => {
  assertBuilt();
  fake = await FakeHttpService.start();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  for (const child of servers.splice(0)) child.kill('SIGKILL');
  fake.reset();
  rmSync(dir, { recursive: true, force: true });
});

function configDir(): string {
  dir = mkdtempSync(join(tmpdir(), 'warden-crash-'));
  const config = join(dir, 'config');
  mkdirSync(join(config, 'playbooks'), { recursive: true });
  copyFileSync(join(DEMO_CONFIG, 'inventory.yaml'), join(config, 'inventory.yaml'));
  // The demo policy without its Slack announcements: this estate has no Slack connector.
  writeFileSync(
    join(config, 'policy.yaml'),
    readFileSync(join(DEMO_CONFIG, 'policy.yaml'), 'utf8').replace(/^announce_approvals:.*$/m, ''),
  );
  writeFileSync(join(config, 'connectors.yaml'), connectors(fake.url));
  writeFileSync(join(config, 'playbooks', 'block-range.yaml'), PLAYBOOK);
  return config;
}

async function serve(config: string): Promise<Server> {
  const server = await serveProcess({ config, data: join(dir, 'data'), adminToken: TOKEN });
  servers.push(server.child);
  return server;
}

async function api<T>(server: Server, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path} → ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function kill(server: Server): Promise<void> {
  return killHard(server.child);
}

interface Run {
  id: string;
  status: string;
  trace: { kind: string; stepId: string | null }[];
}

async function startRun(server: Server): Promise<{ caseId: string; approvalId: string }> {
  const ingested = await api<{ results: { caseId: string }[] }>(
    server,
    '/api/v1/alerts',
    spikeAlert('203.0.113.7'),
  );
  const caseId = ingested.results[0]?.caseId ?? '';
  const approvals = await eventually(
    () => api<{ items: { id: string; caseId: string }[] }>(server, '/api/v1/approvals'),
    (page) => page.items.some((a) => a.caseId === caseId),
    'the approval',
  );
  return { caseId, approvalId: approvals.items[0]?.id ?? '' };
}

async function finishedRun(server: Server, caseId: string): Promise<Run> {
  const { items } = await api<{ items: { id: string }[] }>(server, `/api/v1/cases/${caseId}/runs`);
  return eventually(
    () => api<Run>(server, `/api/v1/runs/${items[0]?.id ?? ''}`),
    (run) => run.status === 'succeeded' || run.status === 'failed',
    'the run to finish',
  );
}

describe('a playbook run survives the server being killed', () => {
  it('killed while waiting for approval: the approval survives, and the action is sent once after it', async () => {
    const config = configDir();
    fake.route({ method: 'POST', path: '/rules' }, { status: 201, body: { id: 'rule-1' } });
    const first = await serve(config);
    const { caseId, approvalId } = await startRun(first);
    await kill(first);

    const second = await serve(config);
    const pending = await api<{ status: string }>(second, `/api/v1/approvals/${approvalId}`);
    expect(pending.status).toBe('pending');
    await api(second, `/api/v1/approvals/${approvalId}`, { decision: 'approve', comment: 'ok' });

    const run = await finishedRun(second, caseId);
    expect(run.status).toBe('succeeded');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.json).toEqual({ cidr: '203.0.113.0/24' });
    const c = await api<{ phase: string }>(second, `/api/v1/cases/${caseId}`);
    expect(c.phase).toBe('containment');
  });

  it('killed while the action is in flight: after restart the call is reconciled with the same idempotency key, and the run completes', async () => {
    const config = configDir();
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    // The first request hangs until the server is gone; later ones succeed.
    fake.enqueueFor({ method: 'POST', path: '/rules' }, () => {
      arrived();
      return { status: 201, body: { id: 'too-late' }, delayMs: 60_000 };
    });
    fake.route({ method: 'POST', path: '/rules' }, { status: 201, body: { id: 'rule-2' } });

    const first = await serve(config);
    const { caseId, approvalId } = await startRun(first);
    await api(first, `/api/v1/approvals/${approvalId}`, { decision: 'approve' });
    await inFlight;
    await kill(first);

    const second = await serve(config);
    const run = await finishedRun(second, caseId);
    expect(run.status).toBe('succeeded');
    const keys = fake.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(1);
    const c = await api<{ phase: string; timeline: { kind: string; message: string }[] }>(
      second,
      `/api/v1/cases/${caseId}`,
    );
    expect(c.phase).toBe('containment');
    expect(c.timeline.filter((t) => t.kind === 'action_taken')).toHaveLength(1);
    expect(c.timeline.find((t) => t.kind === 'comment')?.message).toBe('Blocked rule-2');
  });
});
