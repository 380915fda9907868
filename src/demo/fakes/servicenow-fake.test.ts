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
import { SERVICENOW_CONNECTOR_TYPE } from '../../connectors/servicenow/servicenow-connector-config.js';
import { createServiceNowFake } from './servicenow-fake.js';

describe('the demo ServiceNow fake', () => {
  const recorded: RecordedAction[] = [];
  let served: ServedVendorFakes;
  let servicenow: Connector;

  beforeAll(async () => {
    served = await serveVendorFakes([createServiceNowFake(recordActionsInto(recorded))]);
    servicenow = loadConnectorFromYaml(
      `connectors:
  itsm:
    type: servicenow
    base_url: ${served.url}/servicenow
    username: warden.integration
    password: "\${secret:SN_PASSWORD}"
    warden_url: http://127.0.0.1:8080
`,
      { secrets: { SN_PASSWORD: 'demo-password' }, types: [SERVICENOW_CONNECTOR_TYPE] },
    );
  });
  afterAll(() => served.close());

  const call = numberedCalls('k-', { timeoutMs: 5000 });
  const ticket = {
    title: 'Prompt injection against support-bot',
    description: 'Three prompts tried to exfiltrate the system prompt.',
    case_number: 12,
    severity: 'High',
  };
  let sysId = '';

  it('opens incidents INC0010001, INC0010002 with 32-hex sys_ids and records them', async () => {
    const first = await servicenow.invoke(
      call('create_ticket', ticket, { idempotencyKey: 'run-1/0/ticket/-' }),
    );
    const second = await servicenow.invoke(call('create_ticket', { ...ticket, severity: 'low' }));
    expect(first.output).toMatchObject({
      number: 'INC0010001',
    });
    expect(second.output).toMatchObject({ number: 'INC0010002' });
    sysId = (first.output as { sys_id: string }).sys_id;
    expect(sysId).toMatch(/^[0-9a-f]{32}$/);
    expect((first.output as { url: string }).url).toBe(
      `${served.url}/servicenow/nav_to.do?uri=incident.do?sys_id=${sysId}`,
    );
    expect(recorded[0]).toMatchObject({
      service: 'servicenow',
      action: 'opened incident',
      target: 'INC0010001',
      details: {
        urgency: '2',
        impact: '2',
        priority: '3 - Moderate',
        correlation_id: 'run-1/0/ticket/-',
      },
    });
  });

  it('finds an incident by correlation_id, and not one never opened', async () => {
    const done = await servicenow.reconcile?.(
      call('create_ticket', ticket, { idempotencyKey: 'run-1/0/ticket/-' }),
    );
    expect(done?.state).toBe('done');
    if (done?.state === 'done')
      expect(done.result.output).toMatchObject({ number: 'INC0010001', sys_id: sysId });
    expect(
      (
        await servicenow.reconcile?.(
          call('create_ticket', ticket, { idempotencyKey: 'never-sent' }),
        )
      )?.state,
    ).toBe('not_done');
  });

  it('adds work notes, resolves, and reads the state back', async () => {
    await servicenow.invoke(
      call('add_work_note', { sys_id: sysId, text: 'Blocked 203.0.113.0/24.' }),
    );
    const before = await servicenow.invoke(call('get_ticket', { sys_id: sysId }));
    expect(before.output).toMatchObject({
      number: 'INC0010001',
      short_description: ticket.title,
      state: '1',
      state_label: 'New',
      priority: '3',
      priority_label: '3 - Moderate',
      assigned_to: null,
      assignment_group: null,
    });
    const resolve = call('resolve', {
      sys_id: sysId,
      close_code: 'Solution provided',
      close_notes: 'Source blocked.',
    });
    expect((await servicenow.invoke(resolve)).output).toMatchObject({ state: '6' });
    const after = await servicenow.invoke(call('get_ticket', { sys_id: sysId }));
    expect(after.output).toMatchObject({ state: '6', state_label: 'Resolved' });
    expect((await servicenow.reconcile?.(resolve))?.state).toBe('done');
    expect(recorded.slice(2).map((r) => `${r.action} ${r.target}`)).toEqual([
      'added work note INC0010001',
      'resolved INC0010001',
    ]);
    expect(recorded[3]?.details).toMatchObject({
      close_code: 'Solution provided',
      close_notes: 'Source blocked.',
    });
  });

  it('answers unknown records and missing credentials as ServiceNow does', async () => {
    const missing = await connectorFailure(
      servicenow.invoke(call('get_ticket', { sys_id: '0'.repeat(32) })),
    );
    expect(missing).toMatchObject({ code: 'rejected', status: 404 });
    expect(missing.message).toContain('No Record found');
    const anonymous = await fetch(`${served.url}/servicenow/api/now/table/incident/${sysId}`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({
      status: 'failure',
      error: { message: 'User Not Authenticated' },
    });
  });
});
