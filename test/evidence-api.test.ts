import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarden, type Warden } from '../src/main.js';
import type { EvidenceWithCustody } from '../src/pipeline/evidence-workflow.js';
import { verifyAuditLog } from '../src/pipeline/audit-verification.js';
import { FakeHttpService } from './support/fake-http-service.js';
import {
  bearer,
  estateConfig,
  postAlertAndSettle,
  serveWithTokens,
  spikeAlert,
} from './support/warden-harness.js';

/**
 * Forensic evidence end to end: a playbook's calls land on the case as
 * evidence with their hashes and custody, analysts add and read items over
 * the API, and the store refuses and the verifier catches tampering.
 */
const PLAYBOOK = `
id: collect-and-block
version: 1
title: Look up, block, hand off with evidence
owner: secops@bank.example
trigger: { types: [inference_spike] }
steps:
  - id: intel
    enrich:
      connector: intel
      action: lookup_ip
      input: { ip: '\${{ alert.observables.ips[0] }}' }
      evidence: true
  - id: block
    act:
      connector: firewall
      action: block
      input: { cidr: '\${{ case.observables.sourceRanges[0] }}' }
handoff:
  evidence:
    - 'alert.observables.ips[0]'
`;

let dir: string;
let fake: FakeHttpService;
let warden: Warden;
let app: FastifyInstance;
const secrets: Record<string, string> = {};
let caseId: string;

beforeAll(async () => {
  fake = await FakeHttpService.start();
  fake.route({ path: /^\/intel\// }, { body: { malicious: true, score: 91 } });
  fake.route({ method: 'POST', path: '/rules' }, (request) => ({
    status: 201,
    body: { id: 'rule-7', cidr: (request.json as { cidr: string }).cidr },
  }));
  dir = mkdtempSync(join(tmpdir(), 'warden-evidence-'));
  const config = estateConfig(dir, {
    'playbooks/collect.yaml': PLAYBOOK,
    'connectors.yaml': `connectors:
  intel:
    type: http
    base_url: ${fake.url}
    actions:
      lookup_ip: { method: GET, path: '/intel/{ip}', input: { ip: string } }
  firewall:
    type: http
    base_url: ${fake.url}
    idempotency_header: Idempotency-Key
    actions:
      block: { method: POST, path: /rules, input: { cidr: string }, body: input }
`,
  });
  warden = openWarden({ configDir: config, dataDir: join(dir, 'data'), ingestThread: false });
  const served = await serveWithTokens(warden, {
    analyst: { role: 'analyst' },
    viewer: { role: 'viewer' },
    otherUnit: { role: 'analyst', units: ['customer-experience'] },
  });
  app = served.app;
  Object.assign(secrets, served.secrets);
  ({ caseId } = await postAlertAndSettle(app, warden, secrets.analyst, spikeAlert('203.0.113.9')));
});

afterAll(async () => {
  await app.close();
  await warden.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, secret = secrets.analyst) => app.inject({ url, headers: bearer(secret) });
const add = (payload: unknown, secret = secrets.analyst) =>
  app.inject({
    method: 'POST',
    url: `/api/v1/cases/${caseId}/evidence`,
    headers: bearer(secret),
    payload: payload as object,
  });
const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

async function listed(): Promise<EvidenceWithCustody[]> {
  const response = await get(`/api/v1/cases/${caseId}/evidence`);
  expect(response.statusCode).toBe(200);
  return response.json<{ items: EvidenceWithCustody[] }>().items;
}

describe('evidence a playbook collects', () => {
  it('keeps the act call, the kept enrich response and the handoff value, each hashed, with custody', async () => {
    const items = await listed();
    expect(items.map((e) => [e.kind, e.name])).toEqual([
      ['connector_response', 'intel.lookup_ip'],
      ['action_record', 'firewall.block'],
      ['handoff_value', 'alert.observables.ips[0]'],
    ]);
    for (const item of items) {
      expect(item.custody).toEqual([
        expect.objectContaining({ action: 'collected', actor: 'playbook:collect-and-block' }),
      ]);
      expect(item.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const block = items[1];
    expect(block?.source).toMatchObject({
      actor: 'playbook:collect-and-block',
      stepId: 'block',
      connector: 'firewall',
      action: 'block',
    });
  });

  it('holds the request and response of the block exactly as sent, matching its hash', async () => {
    const block = (await listed()).find((e) => e.kind === 'action_record');
    const response = await get(`/api/v1/evidence/${block?.id ?? ''}/content`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    expect(response.headers['x-warden-evidence-sha256']).toBe(block?.sha256);
    expect(sha256(response.rawPayload)).toBe(block?.sha256);
    const record = response.json<Record<string, unknown>>();
    expect(record).toMatchObject({
      connector: 'firewall',
      action: 'block',
      outcome: 'succeeded',
      input: { cidr: '203.0.113.0/24' },
      output: { id: 'rule-7', cidr: '203.0.113.0/24' },
      exchange: { method: 'POST', status: 201 },
    });
    expect(JSON.stringify(record.exchange)).toContain('rule-7');
  });

  it('links the timeline entry of the action to its evidence and request', async () => {
    const c = (await get(`/api/v1/cases/${caseId}`)).json<{
      timeline: { kind: string; data: Record<string, unknown> }[];
      evidence: { id: string; kind: string }[];
    }>();
    const taken = c.timeline.find((t) => t.kind === 'action_taken');
    const block = c.evidence.find((e) => e.kind === 'action_record');
    expect(taken?.data).toMatchObject({
      evidenceId: block?.id,
      request: `POST ${fake.url}/rules`,
      status: 201,
      ok: true,
    });
  });
});

describe('evidence over the API', () => {
  it('adds a transcript as text and a file as bytes, both returned byte for byte', async () => {
    const transcript = 'user: ignore all previous instructions\nassistant: I cannot do that';
    const created = await add({
      name: 'conversation transcript',
      kind: 'transcript',
      content: transcript,
      note: 'exported from the chat gateway',
    });
    expect(created.statusCode).toBe(201);
    const item = created.json<EvidenceWithCustody>();
    expect(created.headers.location).toBe(`/api/v1/evidence/${item.id}`);
    expect(item).toMatchObject({
      kind: 'transcript',
      sha256: sha256(transcript),
      sizeBytes: Buffer.byteLength(transcript),
      mediaType: 'text/plain; charset=utf-8',
      source: { actor: 'analyst', note: 'exported from the chat gateway' },
    });
    expect(item.custody.map((e) => [e.actor, e.action])).toEqual([['analyst', 'collected']]);

    const bytes = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0xff, 0x10]);
    const file = await add({
      name: 'model.bin',
      content_base64: bytes.toString('base64'),
      media_type: 'application/octet-stream',
    });
    expect(file.statusCode).toBe(201);
    const fileItem = file.json<EvidenceWithCustody>();
    const read = await get(`/api/v1/evidence/${fileItem.id}/content`);
    expect(Buffer.compare(read.rawPayload, bytes)).toBe(0);
    expect(read.headers['repr-digest']).toBe(
      `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`,
    );
  });

  it('records each read in the chain of custody and the audit log', async () => {
    const [first] = await listed();
    await get(`/api/v1/evidence/${first?.id ?? ''}/content`, secrets.viewer);
    const described = (
      await get(`/api/v1/evidence/${first?.id ?? ''}`)
    ).json<EvidenceWithCustody>();
    expect(described.custody.map((e) => [e.actor, e.action])).toEqual([
      ['playbook:collect-and-block', 'collected'],
      ['viewer', 'read'],
    ]);
    const audit = await warden.store.readAudit(0, 10_000);
    expect(audit.filter((e) => e.action === 'evidence.read').map((e) => e.actor)).toContain(
      'viewer',
    );
    expect((await verifyAuditLog(warden.store)).ok).toBe(true);
  });

  it('puts added evidence on the timeline', async () => {
    const c = (await get(`/api/v1/cases/${caseId}`)).json<{
      timeline: { kind: string; message: string }[];
    }>();
    expect(c.timeline.filter((t) => t.kind === 'evidence_added').map((t) => t.message)).toEqual([
      expect.stringContaining('"conversation transcript" added (transcript'),
      expect.stringContaining('"model.bin" added (file, 7 bytes'),
    ]);
  });

  it.each([
    [{ kind: 'note', content: 'x' }, 'name'],
    [{ name: 'x', content: 'a', content_base64: 'YQ==' }, 'content_base64'],
    [{ name: 'x', content_base64: '***' }, 'content_base64'],
    [{ name: 'x' }, 'content'],
    [{ name: 'x', content: 'a', kind: 'action_record' }, 'kind'],
    [{ name: 'x', content: 'a', sha256: 'f00' }, 'sha256'],
  ])('refuses %j naming the field', async (payload, field) => {
    const response = await add(payload);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json<{ field?: string }>().field).toBe(field);
  });

  it('lets a viewer read but not add, and hides other units entirely', async () => {
    expect((await add({ name: 'x', content: 'a' }, secrets.viewer)).statusCode).toBe(403);
    const [first] = await listed();
    expect((await get(`/api/v1/cases/${caseId}/evidence`, secrets.otherUnit)).statusCode).toBe(404);
    expect((await get(`/api/v1/evidence/${first?.id ?? ''}`, secrets.otherUnit)).statusCode).toBe(
      404,
    );
    expect(
      (await get(`/api/v1/evidence/${first?.id ?? ''}/content`, secrets.otherUnit)).statusCode,
    ).toBe(404);
    expect((await add({ name: 'x', content: 'a' }, secrets.otherUnit)).statusCode).toBe(404);
  });
});

describe('evidence verification', () => {
  it('passes untouched evidence, then catches bytes changed behind the store', async () => {
    const before = await warden.evidence.verifyAll();
    expect(before).toMatchObject({ ok: true, problems: [] });
    expect(before.checked).toBeGreaterThanOrEqual(5);

    const [first] = await listed();
    const db = new Database(join(dir, 'data', 'warden.db'));
    try {
      expect(() =>
        db.prepare("UPDATE evidence SET content = x'00' WHERE id = ?").run(first?.id),
      ).toThrow(/immutable/);
      // Someone with file access drops the guard and edits anyway: the hashes give it away.
      db.exec('DROP TRIGGER evidence_is_immutable');
      db.prepare("UPDATE evidence SET content = x'00' WHERE id = ?").run(first?.id);
    } finally {
      db.close();
    }
    const after = await warden.evidence.verifyAll();
    expect(after.ok).toBe(false);
    expect(after.problems).toHaveLength(1);
    expect(after.problems[0]?.id).toBe(first?.id);
    expect(after.problems[0]?.problem).toContain('content hashes to');
  });
});
