import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectorFailure,
  loadConnectorFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import {
  recordActionsInto,
  serveVendorFakes,
  type RecordedAction,
  type ServedVendorFakes,
} from '../../../test/support/vendor-fake-server.js';
import type { Connector } from '../../connectors/connector.js';
import { JIRA_CONNECTOR_TYPE } from '../../connectors/jira/jira-connector-config.js';
import { createJiraFake } from './jira-fake.js';

describe('the demo Jira fake', () => {
  const recorded: RecordedAction[] = [];
  let served: ServedVendorFakes;
  let jira: Connector;

  beforeAll(async () => {
    served = await serveVendorFakes([createJiraFake(recordActionsInto(recorded))]);
    jira = loadConnectorFromYaml(
      `connectors:
  tickets:
    type: jira
    base_url: ${served.url}/jira
    email: secops-bot@example.com
    api_token: "\${secret:JIRA_API_TOKEN}"
    project: SEC
    warden_url: http://127.0.0.1:8080
`,
      { secrets: { JIRA_API_TOKEN: 'demo-token' }, types: [JIRA_CONNECTOR_TYPE] },
    );
  });
  afterAll(() => served.close());

  const call = numberedCalls('k-', { timeoutMs: 5000 });
  const ticket = {
    title: 'Prompt injection against support-bot',
    description: 'Three prompts tried to exfiltrate the system prompt.',
    case_number: 12,
    severity: 'Critical',
  };

  it('creates issues SEC-1, SEC-2 and records them', async () => {
    const first = await jira.invoke(
      call('create_ticket', ticket, { idempotencyKey: 'run-1/0/ticket/-' }),
    );
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
    const done = await jira.reconcile?.(
      call('create_ticket', ticket, { idempotencyKey: 'run-1/0/ticket/-' }),
    );
    expect(done?.state).toBe('done');
    if (done?.state === 'done') expect(done.result.output).toMatchObject({ key: 'SEC-1' });
    expect(
      (await jira.reconcile?.(call('create_ticket', ticket, { idempotencyKey: 'never-sent' })))
        ?.state,
    ).toBe('not_done');
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
    const again = await connectorFailure(
      jira.invoke(call('transition', { key: 'SEC-1', transition_name: 'Done' })),
    );
    expect(again.message).toContain('available: "To Do", "In Progress"');
    expect(recorded.slice(2).map((r) => `${r.action} ${r.target}`)).toEqual([
      'commented SEC-1',
      'transitioned SEC-1',
      'transitioned SEC-1',
    ]);
    expect(recorded[2]?.details).toEqual({ text: 'Blocked 203.0.113.0/24.' });
  });

  it('answers unknown issues and missing credentials as Jira does', async () => {
    const missing = await connectorFailure(jira.invoke(call('get_ticket', { key: 'SEC-99' })));
    expect(missing).toMatchObject({ code: 'rejected', status: 404 });
    const anonymous = await fetch(`${served.url}/jira/rest/api/3/issue/SEC-1`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ errorMessages: [expect.any(String)] });
  });
});
