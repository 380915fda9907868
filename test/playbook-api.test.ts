import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarden, type Warden } from '../src/main.js';
import {
  bearer,
  estateConfig,
  postAlertAndSettle,
  serveWithTokens,
  spikeAlert,
} from './support/warden-harness.js';

/** Approvals and runs over the HTTP API, with the executor on the request thread. */
const PLAYBOOK = `
id: ask-then-notify
version: 2
title: Ask, then tell the owner
owner: secops@bank.example
trigger: { types: [inference_spike] }
steps:
  - id: ask
    approval: { approvers: [responder, admin], message: 'Contain case #\${{ case.number }}?', timeout: 1h }
  - id: tell
    notify: { connector: log, to: '\${{ case.owner }}', message: 'approved by a responder' }
`;

let dir: string;
let warden: Warden;
let app: FastifyInstance;
const secrets: Record<string, string> = {};
let caseId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-playbook-api-'));
  const config = estateConfig(dir, { 'playbooks/ask.yaml': PLAYBOOK });
  warden = openWarden({ configDir: config, dataDir: join(dir, 'data'), ingestThread: false });
  const served = await serveWithTokens(warden, {
    responder: { role: 'responder' },
    analyst: { role: 'analyst' },
    otherUnit: { role: 'responder', units: ['customer-experience'] },
  });
  app = served.app;
  Object.assign(secrets, served.secrets);
  ({ caseId } = await postAlertAndSettle(
    app,
    warden,
    secrets.responder,
    spikeAlert('203.0.113.9'),
  ));
});

afterAll(async () => {
  await app.close();
  await warden.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, secret = secrets.responder) =>
  app.inject({ url, headers: bearer(secret) });
const answer = (id: string, payload: unknown, secret = secrets.responder) =>
  app.inject({
    method: 'POST',
    url: `/api/v1/approvals/${id}`,
    headers: bearer(secret),
    payload: payload as object,
  });

describe('approvals and runs over the API', () => {
  let approvalId: string;

  it('lists the pending approval to those who can see its case', async () => {
    const page = (await get('/api/v1/approvals')).json<{
      items: { id: string; message: string; approvers: string[] }[];
    }>();
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      message: 'Contain case #1?',
      approvers: ['responder', 'admin'],
    });
    approvalId = page.items[0]?.id ?? '';
    expect((await get('/api/v1/approvals', secrets.otherUnit)).json()).toEqual({
      items: [],
      nextCursor: null,
    });
    expect((await get(`/api/v1/approvals/${approvalId}`, secrets.otherUnit)).statusCode).toBe(404);
    const bad = await get('/api/v1/approvals?status=maybe');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'invalid_field', field: 'status' });
  });

  it('refuses a bad answer naming the field, and an answer from a role the approval does not name', async () => {
    const bad = await answer(approvalId, { decision: 'maybe' });
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(bad.json()).toMatchObject({ code: 'invalid_field', field: 'decision' });
    const forbidden = await answer(approvalId, { decision: 'approve' }, secrets.analyst);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json<{ detail: string }>().detail).toContain('needs one of: responder, admin');
    expect((await get(`/api/v1/approvals/${approvalId}`)).json()).toMatchObject({
      status: 'pending',
    });
  });

  it('approves once; the run carries on and its trace explains every step', async () => {
    const approved = await answer(approvalId, { decision: 'approve', comment: 'go ahead' });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({
      status: 'approved',
      answeredBy: 'responder',
      answeredRole: 'responder',
    });
    expect((await answer(approvalId, { decision: 'deny' })).statusCode).toBe(409);

    await warden.executor?.idle();
    const runs = (await get(`/api/v1/cases/${caseId}/runs`)).json<{
      items: { id: string; status: string }[];
    }>();
    expect(runs.items).toHaveLength(1);
    expect(runs.items[0]?.status).toBe('succeeded');
    const run = (await get(`/api/v1/runs/${runs.items[0]?.id ?? ''}`)).json<{
      playbookId: string;
      playbookVersion: number;
      trace: { kind: string; stepId: string | null }[];
    }>();
    expect(run).toMatchObject({ playbookId: 'ask-then-notify', playbookVersion: 2 });
    expect(run.trace.map((e) => [e.kind, e.stepId])).toEqual([
      ['run_queued', null],
      ['run_started', null],
      ['step_started', 'ask'],
      ['approval_answered', 'ask'],
      ['step_succeeded', 'ask'],
      ['step_started', 'tell'],
      ['step_succeeded', 'tell'],
      ['run_finished', null],
    ]);
    expect((await get('/api/v1/runs/nope')).statusCode).toBe(404);
    expect(
      (await get(`/api/v1/runs/${runs.items[0]?.id ?? ''}`, secrets.otherUnit)).statusCode,
    ).toBe(404);
  });
});
