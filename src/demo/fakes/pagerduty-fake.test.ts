import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConnectorFromYaml, numberedCalls } from '../../../test/support/connector-test-kit.js';
import {
  recordActionsInto,
  serveVendorFakes,
  type RecordedAction,
  type ServedVendorFakes,
} from '../../../test/support/vendor-fake-server.js';
import type { Connector } from '../../connectors/connector.js';
import { PAGERDUTY_CONNECTOR_TYPE } from '../../connectors/pagerduty/pagerduty-connector-config.js';
import { createPagerDutyFake } from './pagerduty-fake.js';

const ROUTING_KEY = 'demoROUTINGkey000000000000000042';

describe('the demo PagerDuty fake', () => {
  const recorded: RecordedAction[] = [];
  let served: ServedVendorFakes;
  let pager: Connector;

  const call = numberedCalls('run-9/1/page/', { timeoutMs: 5000 });
  const actions = (): string[] => recorded.map((entry) => `${entry.action} ${entry.target}`);

  beforeAll(async () => {
    served = await serveVendorFakes([createPagerDutyFake(recordActionsInto(recorded))]);
    pager = loadConnectorFromYaml(
      `connectors:
  pager:
    type: pagerduty
    base_url: ${served.url}/pagerduty
    routing_key: "\${secret:PD_ROUTING_KEY}"
    warden_url: http://127.0.0.1:8080
`,
      { secrets: { PD_ROUTING_KEY: ROUTING_KEY }, types: [PAGERDUTY_CONNECTOR_TYPE] },
    );
  });
  afterAll(() => served.close());
  beforeEach(() => {
    recorded.length = 0;
  });

  it('walks a case incident through triggered, acknowledged and resolved', async () => {
    const trigger = { case_id: 'case_1', summary: 'Case #1: prompt injection', severity: 'error' };
    const opened = await pager.invoke(call('trigger', trigger));
    expect(opened.output).toEqual({
      status: 'success',
      message: 'Event processed',
      dedup_key: 'warden-case-case_1',
    });
    // A retry, or a second trigger for the same case, joins the open incident.
    await pager.invoke(call('trigger', { ...trigger, severity: 'critical' }));
    await pager.invoke(call('acknowledge', { case_id: 'case_1' }));
    await pager.invoke(call('acknowledge', { case_id: 'case_1' }));
    await pager.invoke(call('resolve', { case_id: 'case_1' }));
    await pager.invoke(call('resolve', { case_id: 'case_1' }));
    // After the resolve, a trigger opens a new incident, as PagerDuty does.
    await pager.invoke(call('trigger', trigger));
    expect(actions()).toEqual([
      'triggered incident warden-case-case_1',
      'added trigger to open incident warden-case-case_1',
      'acknowledged incident warden-case-case_1',
      'acknowledged incident warden-case-case_1',
      'resolved incident warden-case-case_1',
      'ignored resolve (no open incident) warden-case-case_1',
      'triggered incident warden-case-case_1',
    ]);
    expect(recorded[0]?.details).toMatchObject({
      incident: 1,
      severity: 'error',
      source: 'warden',
    });
    expect(recorded[1]?.details).toMatchObject({ incident: 1, severity: 'critical', events: 2 });
    expect(recorded[2]?.details).toEqual({ incident: 1, from: 'triggered', to: 'acknowledged' });
    expect(recorded[4]?.details).toEqual({ incident: 1, from: 'acknowledged', to: 'resolved' });
    expect(recorded[6]?.details).toMatchObject({ incident: 2 });
    expect(JSON.stringify(recorded)).not.toContain(ROUTING_KEY);
  });

  it('deduplicates a notify by its idempotency key', async () => {
    const notify = call('notify', { message: 'Case #2 needs you', to: 'ml-retail@bank.example' });
    const first = await pager.invoke(notify);
    await pager.invoke({ ...notify, attempt: 2 });
    expect(first.output).toMatchObject({ dedup_key: notify.idempotencyKey });
    expect(actions()).toEqual([
      `triggered incident ${notify.idempotencyKey}`,
      `added trigger to open incident ${notify.idempotencyKey}`,
    ]);
    expect(recorded[0]?.details).toMatchObject({
      severity: 'warning',
      custom_details: { to: 'ml-retail@bank.example' },
    });
  });

  it('ignores an acknowledge for a case without an incident', async () => {
    await pager.invoke(call('acknowledge', { case_id: 'never-paged' }));
    expect(actions()).toEqual(['ignored acknowledge (no open incident) warden-case-never-paged']);
  });

  it('refuses an event PagerDuty would refuse, in its words', async () => {
    const post = (body: unknown) =>
      fetch(`${served.url}/pagerduty/v2/enqueue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const bad = await post({ routing_key: ROUTING_KEY, event_action: 'trigger', payload: {} });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      status: 'invalid event',
      message: 'Event object is invalid',
      errors: [
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
      ],
    });
    expect((await post('{')).status).toBe(400);
    expect((await post({ routing_key: ROUTING_KEY, event_action: 'resolve' })).status).toBe(400);
    expect((await post({ event_action: 'snooze', dedup_key: 'x' })).status).toBe(400);
    const generated = await post({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      payload: { summary: 's', source: 'x', severity: 'info' },
    });
    expect(generated.status).toBe(202);
    expect(((await generated.json()) as { dedup_key: string }).dedup_key).toMatch(/^[0-9a-f]{32}$/);
  });

  it('answers only under /pagerduty', async () => {
    const fake = createPagerDutyFake(() => undefined);
    const request = (method: string, path: string) => ({
      method,
      path,
      query: new URLSearchParams(),
      headers: {},
      text: '{}',
    });
    expect(fake.prefix).toBe('/pagerduty');
    expect(fake.handle(request('POST', '/slack/services/T/B/X'))).toBeUndefined();
    expect(await fake.handle(request('GET', '/pagerduty/v2/enqueue'))).toMatchObject({
      status: 405,
    });
    expect(await fake.handle(request('POST', '/pagerduty/v1/enqueue'))).toMatchObject({
      status: 404,
    });
  });
});
