import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarden, type Warden } from '../src/main.js';
import { FakeHttpService } from './support/fake-http-service.js';
import {
  bearer,
  estateConfig,
  postAlertAndSettle,
  serveWithTokens,
  spikeAlert,
} from './support/warden-harness.js';

/**
 * Human approval end to end from outside Warden: a request is announced in
 * Slack (Block Kit with Approve / Deny buttons) and through a plain notify
 * connector, and the button's link opens a Warden page that takes the answer.
 */
const PLAYBOOK = `
id: ask-first
version: 1
title: Ask, then tell the owner
owner: secops@bank.example
trigger: { types: [inference_spike] }
steps:
  - id: ask
    approval: { approvers: [responder], message: 'Block the range of case #\${{ case.number }}?', timeout: 1h }
  - id: done
    case: { note: 'approved' }
`;

let dir: string;
let fake: FakeHttpService;
let warden: Warden;
let app: FastifyInstance;
const secrets: Record<string, string> = {};
let approvalId: string;
let caseNumber: number;

function config(announce: string): string {
  return estateConfig(dir, {
    'playbooks/ask.yaml': PLAYBOOK,
    'policy.yaml': `announce_approvals: ${announce}\n`,
    'secrets.yaml': `secrets:\n  HOOK: '${fake.url}/services/T1/B1/hooktoken'\n`,
    'connectors.yaml': `connectors:
  secops_slack:
    type: slack
    webhook_url: '\${secret:HOOK}'
    warden_url: https://warden.bank.example
  oncall:
    type: http
    base_url: ${fake.url}
    actions:
      notify:
        method: POST
        path: /page
        input: { message: string, to: { type: string, optional: true } }
        body: input
`,
  });
}

beforeAll(async () => {
  fake = await FakeHttpService.start();
  fake.route(
    { method: 'POST', path: /^\/services\// },
    { body: 'ok', headers: { 'content-type': 'text/plain' } },
  );
  fake.route({ method: 'POST', path: '/page' }, { status: 202, body: { status: 'queued' } });
  dir = mkdtempSync(join(tmpdir(), 'warden-announce-'));
  warden = openWarden({
    configDir: config('[secops_slack, oncall]'),
    dataDir: join(dir, 'data'),
    ingestThread: false,
  });
  const served = await serveWithTokens(warden, {
    responder: { role: 'responder' },
    viewer: { role: 'viewer' },
    elsewhere: { role: 'responder', units: ['customer-experience'] },
  });
  app = served.app;
  Object.assign(secrets, served.secrets);
  ({ caseNumber } = await postAlertAndSettle(
    app,
    warden,
    secrets.responder,
    spikeAlert('203.0.113.9'),
  ));
  const pending = await app.inject({
    url: '/api/v1/approvals',
    headers: bearer(secrets.responder),
  });
  approvalId = pending.json<{ items: { id: string }[] }>().items[0]?.id ?? '';
});

afterAll(async () => {
  await app.close();
  await warden.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

const form = (url: string, fields: Record<string, string>) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });

describe('announcing an approval request', () => {
  it('posts the case to Slack with Approve and Deny buttons that open Warden', () => {
    const slack = fake.requests.find((r) => r.path.startsWith('/services/'));
    expect(slack?.method).toBe('POST');
    const message = JSON.stringify(slack?.json);
    expect(message).toContain(
      `https://warden.bank.example/approvals/${approvalId}?decision=approve`,
    );
    expect(message).toContain(`https://warden.bank.example/approvals/${approvalId}?decision=deny`);
    expect(message).toContain(`Block the range of case #${caseNumber}?`);
  });

  it('sends other connectors a notify message naming the approval and how to answer', () => {
    const page = fake.requests.find((r) => r.path === '/page');
    expect(page?.json).toMatchObject({
      to: 'responder',
      message: expect.stringContaining(`POST /api/v1/approvals/${approvalId}`) as unknown,
    });
  });

  it('puts each announcement on the timeline with its evidence', async () => {
    const c = await warden.store.getCase(String(caseNumber));
    const timeline = await warden.store.listTimeline(c?.id ?? '');
    const announced = timeline.filter((t) => t.message.startsWith('approval request announced'));
    expect(announced.map((t) => t.message).sort()).toEqual([
      'approval request announced through oncall.notify',
      'approval request announced through secops_slack.post_case',
    ]);
    for (const entry of announced) {
      expect(await warden.store.getEvidence(String(entry.data.evidenceId))).toBeDefined();
    }
  });

  it('refuses to start when announce_approvals names no connector', () => {
    expect(() =>
      openWarden({
        configDir: config('[nobody]'),
        dataDir: join(dir, 'data-2'),
        ingestThread: false,
      }),
    ).toThrow(/announce_approvals: unknown connector "nobody"/);
  });
});

describe('the page an approval link opens', () => {
  it('asks for a token with the decision preselected, and cannot be framed', async () => {
    const response = await app.inject({ url: `/approvals/${approvalId}?decision=deny` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.body).toContain('name="token"');
    expect(response.body).toMatch(/value="deny" autofocus/);
  });

  it('refuses a wrong token, a role that may not answer, and another unit', async () => {
    const url = `/approvals/${approvalId}`;
    expect((await form(url, { token: 'nope', decision: 'approve' })).statusCode).toBe(401);
    const viewer = await form(url, { token: secrets.viewer ?? '', decision: 'approve' });
    expect(viewer.statusCode).toBe(403);
    expect(viewer.body).toContain('needs one of: responder');
    expect(
      (await form(url, { token: secrets.elsewhere ?? '', decision: 'approve' })).statusCode,
    ).toBe(404);
    expect(
      (await form(url, { token: secrets.responder ?? '', decision: 'maybe' })).statusCode,
    ).toBe(422);
    expect((await warden.store.getApproval(approvalId))?.status).toBe('pending');
  });

  it('takes the answer with the approver named, and the playbook goes on', async () => {
    const response = await form(`/approvals/${approvalId}`, {
      token: secrets.responder ?? '',
      decision: 'approve',
      comment: 'not a partner range',
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<h1>Approved</h1>');
    expect(response.body).toContain('responder (responder)');
    expect(await warden.store.getApproval(approvalId)).toMatchObject({
      status: 'approved',
      answeredBy: 'responder',
      comment: 'not a partner range',
    });
    await warden.executor?.idle();
    const c = await warden.store.getCase(String(caseNumber));
    const [run] = await warden.store.listRunsForCase(c?.id ?? '');
    expect(run?.status).toBe('succeeded');
  });

  it('escapes what it shows', async () => {
    const response = await app.inject({ url: '/approvals/%3Cscript%3Ealert(1)%3C%2Fscript%3E' });
    expect(response.body).not.toContain('<script>');
    expect(response.body).toContain('&lt;script&gt;');
  });
});

describe('the page a case link opens', () => {
  it('shows the case to a token that may see it, and nothing to others', async () => {
    expect((await app.inject({ url: `/cases/${caseNumber}` })).body).toContain('name="token"');
    const addTask = (text: string) =>
      app.inject({
        method: 'POST',
        url: `/api/v1/cases/${caseNumber}/tasks`,
        headers: bearer(secrets.responder),
        payload: { text },
      });
    expect((await addTask('Tell the <partner> team')).statusCode).toBe(201);
    const checked = (await addTask('Review the gateway rules')).json<{ id: string }>();
    await app.inject({
      method: 'POST',
      url: `/api/v1/cases/${caseNumber}/tasks/${checked.id}`,
      headers: bearer(secrets.responder),
      payload: { done: true },
    });
    const shown = await form(`/cases/${caseNumber}`, { token: secrets.viewer ?? '' });
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('inference spike on Customer Churn Prediction');
    expect(shown.body).toContain('approval request announced through secops_slack.post_case');
    expect(shown.body).toContain(
      '<h2>Tasks</h2><ul><li>☐ Tell the &lt;partner&gt; team</li>' +
        '<li>☑ Review the gateway rules <span class="note">(done by responder)</span></li></ul>',
    );
    const hidden = await form(`/cases/${caseNumber}`, { token: secrets.elsewhere ?? '' });
    expect(hidden.statusCode).toBe(404);
    expect(hidden.body).not.toContain('Customer Churn');
  });

  it('leaves the API answering 415 to a form post', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/alerts',
      headers: {
        ...bearer(secrets.responder),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'type=inference_spike',
    });
    expect(response.statusCode).toBe(415);
  });
});
