import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectorError,
  type Connector,
  type ConnectorCall,
  type JsonValue,
} from '../../connectors/connector.js';
import { loadConnectors } from '../../connectors/connector-config.js';
import { JIRA_CONNECTOR_TYPE } from '../../connectors/jira/jira-connector-config.js';
import { staticSecretSource } from '../../connectors/secrets.js';
import { InventoryIndex, emptyInventory } from '../../core/inventory.js';
import type { VendorFake } from '../vendor-fake.js';
import { createJiraFake } from './jira-fake.js';

/** Serves one vendor fake on 127.0.0.1, as the demo services do. */
async function serve(fake: VendorFake): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://fake');
      void Promise.resolve(
        fake.handle({
          method: request.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: request.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      ).then((reply) => {
        const status = reply?.status ?? 404;
        response.writeHead(status, { 'content-type': 'application/json', ...reply?.headers });
        response.end(
          status === 204 ? undefined : JSON.stringify(reply?.body ?? { error: 'not mine' }),
        );
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the demo Jira fake', () => {
  const recorded: { service: string; action: string; target: string; details: unknown }[] = [];
  let served: { url: string; server: Server };
  let jira: Connector;
  let dir: string;

  beforeAll(async () => {
    served = await serve(
      createJiraFake((service, action, target, details) =>
        recorded.push({ service, action, target, details }),
      ),
    );
    dir = mkdtempSync(join(tmpdir(), 'warden-jira-fake-'));
    writeFileSync(
      join(dir, 'connectors.yaml'),
      `connectors:
  tickets:
    type: jira
    base_url: ${served.url}/jira
    email: secops-bot@example.com
    api_token: "\${secret:JIRA_API_TOKEN}"
    project: SEC
    warden_url: http://127.0.0.1:8080
`,
    );
    jira = loadConnectors(dir, {
      secrets: staticSecretSource({ JIRA_API_TOKEN: 'demo-token' }),
      inventory: new InventoryIndex(emptyInventory()),
      logSink: { write: () => undefined },
      types: [JIRA_CONNECTOR_TYPE],
    }).get('tickets');
  });
  afterAll(async () => {
    served.server.closeAllConnections();
    await new Promise((resolve) => served.server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (
    action: string,
    input: JsonValue,
    idempotencyKey = `k-${action}-${Math.random()}`,
  ): ConnectorCall => ({
    action,
    input,
    idempotencyKey,
    attempt: 1,
    signal: AbortSignal.timeout(5000),
  });
  const ticket = {
    title: 'Prompt injection against support-bot',
    description: 'Three prompts tried to exfiltrate the system prompt.',
    case_number: 12,
    severity: 'Critical',
  };

  it('creates issues SEC-1, SEC-2 and records them', async () => {
    const first = await jira.invoke(call('create_ticket', ticket, 'run-1/0/ticket/-'));
    const second = await jira.invoke(call('create_ticket', { ...ticket, case_number: 13 }));
    expect((first.output as { id: string }).id).toMatch(/^\d+$/);
    expect(first.output).toEqual({
      key: 'SEC-1',
      id: (first.output as { id: string }).id,
      url: `${served.url}/jira/browse/SEC-1`,
    });
    expect(second.output).toMatchObject({ key: 'SEC-2' });
    expect(recorded[0]).toMatchObject({
      service: 'jira',
      action: 'created issue',
      target: 'SEC-1',
      details: { summary: ticket.title, priority: 'Highest' },
    });
  });

  it('finds a created issue by its call label, and not one never created', async () => {
    const done = await jira.reconcile?.(call('create_ticket', ticket, 'run-1/0/ticket/-'));
    expect(done?.state).toBe('done');
    if (done?.state === 'done') expect(done.result.output).toMatchObject({ key: 'SEC-1' });
    expect((await jira.reconcile?.(call('create_ticket', ticket, 'never-sent')))?.state).toBe(
      'not_done',
    );
  });

  it('takes comments and moves issues through To Do, In Progress and Done', async () => {
    await jira.invoke(call('comment', { key: 'SEC-1', text: 'Blocked 203.0.113.0/24.' }));
    await jira.invoke(call('transition', { key: 'SEC-1', transition_name: 'In Progress' }));
    const read = await jira.invoke(call('get_ticket', { key: 'SEC-1' }));
    expect(read.output).toMatchObject({
      key: 'SEC-1',
      status: 'In Progress',
      status_category: 'indeterminate',
      priority: 'Highest',
      assignee: null,
    });
    await jira.invoke(call('transition', { key: 'SEC-1', transition_name: 'Done' }));
    const again = await jira
      .invoke(call('transition', { key: 'SEC-1', transition_name: 'Done' }))
      .catch((error: unknown) => error);
    expect(again).toBeInstanceOf(ConnectorError);
    expect((again as ConnectorError).message).toContain('available: "To Do", "In Progress"');
    expect(recorded.slice(2).map((r) => `${r.action} ${r.target}`)).toEqual([
      'commented SEC-1',
      'transitioned SEC-1',
      'transitioned SEC-1',
    ]);
    expect(recorded[2]?.details).toEqual({ text: 'Blocked 203.0.113.0/24.' });
  });

  it('answers unknown issues and missing credentials as Jira does', async () => {
    const missing = await jira
      .invoke(call('get_ticket', { key: 'SEC-99' }))
      .catch((error: unknown) => error);
    expect(missing).toMatchObject({ code: 'rejected', status: 404 });
    const anonymous = await fetch(`${served.url}/jira/rest/api/3/issue/SEC-1`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ errorMessages: [expect.any(String)] });
  });
});
