import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorFailure, numberedCalls } from '../../../test/support/connector-test-kit.js';
import {
  recordActionsInto,
  serveVendorFakes,
  type RecordedAction,
  type ServedVendorFakes,
} from '../../../test/support/vendor-fake-server.js';
import type { Connector } from '../../connectors/connector.js';
import { guardConnector } from '../../connectors/guarded-connector.js';
import {
  createOpenC2Connector,
  type OpenC2Transfer,
} from '../../connectors/openc2/openc2-connector.js';
import { openc2Fake } from './openc2-fake.js';

const recorded: RecordedAction[] = [];
const fake = openc2Fake(recordActionsInto(recorded));
let served: ServedVendorFakes;

beforeAll(async () => {
  served = await serveVendorFakes([fake]);
});
afterAll(() => served.close());

const call = numberedCalls('run-1/0/step/');

describe.each<OpenC2Transfer>(['envelope', 'content'])(
  'the OpenC2 fake, %s transfer',
  (transfer) => {
    let connector: Connector;
    beforeAll(() => {
      connector = guardConnector(
        createOpenC2Connector({
          name: 'perimeter',
          endpoint: `${served.url}/openc2`,
          transfer,
          actuators: { slpf: { named_group: 'perimeter' } },
        }),
      );
    });

    it('denies a range, answers with its rule number, and deletes the rule again', async () => {
      recorded.length = 0;
      const denied = await connector.invoke(
        call('deny_ip_range', {
          cidr: '203.0.113.0/24',
          direction: 'ingress',
          duration_minutes: 60,
        }),
      );
      const output = denied.output as { status: number; rule_number: number };
      expect(output.status).toBe(200);
      expect(output.rule_number).toBeGreaterThan(1000);
      expect(recorded[0]).toMatchObject({
        service: 'openc2',
        action: 'denied address range',
        target: '203.0.113.0/24',
        details: { rule_number: output.rule_number, direction: 'ingress' },
      });

      const deleted = await connector.invoke(
        call('delete_rule', { rule_number: output.rule_number }),
      );
      expect(deleted.output).toMatchObject({ status: 200 });
      const again = await connectorFailure(
        connector.invoke(call('delete_rule', { rule_number: output.rule_number })),
      );
      expect(again).toMatchObject({ code: 'rejected', status: 404 });
      expect(again.message).toContain(`rule ${output.rule_number} does not exist`);
    });

    it('allows an IPv6 range at a chosen rule number, and refuses a number in use', async () => {
      const allowed = await connector.invoke(
        call('allow_ip_range', {
          cidr: '2001:db8::/48',
          insert_rule: transfer === 'content' ? 7 : 8,
        }),
      );
      expect(allowed.output).toMatchObject({
        status: 200,
        rule_number: transfer === 'content' ? 7 : 8,
      });
      const taken = await connectorFailure(
        connector.invoke(
          call('deny_ip_range', {
            cidr: '198.51.100.0/24',
            insert_rule: transfer === 'content' ? 7 : 8,
          }),
        ),
      );
      expect(taken).toMatchObject({ code: 'rejected', status: 400 });
    });

    it('answers a repeated request id with the first answer, applying it once', async () => {
      recorded.length = 0;
      const first = await connector.invoke(
        call('deny_ip_range', { cidr: '198.51.100.9' }, { idempotencyKey: `same-${transfer}` }),
      );
      const second = await connector.invoke(
        call('deny_ip_range', { cidr: '198.51.100.9' }, { idempotencyKey: `same-${transfer}` }),
      );
      expect(second.output).toEqual(first.output);
      expect(recorded).toHaveLength(1);
    });

    it('disables an account and denies a file through the ER actuator', async () => {
      recorded.length = 0;
      await connector.invoke(call('disable_account', { uid: 'u-1004', name: 'svc-feature-etl' }));
      await connector.invoke(call('deny_file', { sha256: 'ab'.repeat(32) }));
      expect(recorded.map((r) => [r.action, r.target])).toEqual([
        ['disabled account', 'u-1004'],
        ['denied file', 'ab'.repeat(32)],
      ]);
    });

    it('answers query features with the features asked for', async () => {
      const all = await connector.invoke(call('query_features', {}));
      expect(all.output).toMatchObject({
        status: 200,
        versions: ['1.0'],
        profiles: ['slpf', 'er'],
        rate_limit: 60,
        pairs: { deny: ['ipv4_net', 'ipv6_net', 'file'], query: ['features'] },
      });
      const heartbeat = await connector.invoke(call('query_features', { features: [] }));
      expect(heartbeat.output).toEqual({ status: 200, request_id: expect.any(String) as unknown });
    });
  },
);

describe('the OpenC2 fake, directly', () => {
  const post = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${served.url}/openc2`, {
      method: 'POST',
      headers: { 'content-type': 'application/openc2-cmd+json;version=1.0', ...headers },
      body: JSON.stringify(body),
    });

  it('answers an unsupported pair with 501 and an OpenC2 response', async () => {
    const response = await post({ action: 'contain', target: { device: { hostname: 'h1' } } });
    expect(response.status).toBe(501);
    expect(response.headers.get('content-type')).toBe('application/openc2-rsp+json;version=1.0');
    expect(await response.json()).toMatchObject({ status: 501 });
  });

  it('answers response_requested ack with 102 Processing', async () => {
    const response = await post(
      { action: 'deny', target: { ipv4_net: '203.0.113.77' }, args: { response_requested: 'ack' } },
      { 'x-request-id': 'ack-1' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('ack-1');
    expect(await response.json()).toEqual({ status: 102 });
  });

  it('answers other methods, paths and content types as errors, and other prefixes not at all', async () => {
    expect((await fetch(`${served.url}/openc2`)).status).toBe(405);
    expect((await fetch(`${served.url}/openc2/rules`, { method: 'POST' })).status).toBe(404);
    expect(
      (await post({ action: 'query', target: { features: [] } }, { 'content-type': 'text/plain' }))
        .status,
    ).toBe(400);
    const notJson = await fetch(`${served.url}/openc2`, { method: 'POST', body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({
      status: 400,
      status_text: 'the body is not JSON',
    });
    const notMine = await fake.handle({
      method: 'POST',
      path: '/openc2x',
      query: new URLSearchParams(),
      headers: {},
      text: '',
    });
    expect(notMine).toBeUndefined();
  });
});
