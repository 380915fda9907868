import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  serveVendorFakes,
  type ServedVendorFakes,
} from '../../../test/support/vendor-fake-server.js';
import type { Connector } from '../../connectors/connector.js';
import {
  connectorFailure,
  loadAwsConnectors,
  testCall,
} from '../../connectors/aws/fake-aws-endpoint.test-support.js';
import { DEMO_NETWORK_ACL_ID, DEMO_SECURITY_GROUP_ID, createAwsFake } from './aws-fake.js';

describe('the demo AWS fake', () => {
  const recorded: { service: string; action: string; target: string }[] = [];
  let served: ServedVendorFakes;
  let network: Connector;
  let iam: Connector;

  beforeAll(async () => {
    served = await serveVendorFakes([
      createAwsFake((service, action, target) => recorded.push({ service, action, target })),
    ]);
    const registry = loadAwsConnectors(
      `
connectors:
  network:
    type: aws_ec2
    region: eu-west-1
    endpoint: ${served.url}/aws
    access_key_id: "\${secret:AWS_ACCESS_KEY_ID}"
    secret_access_key: "\${secret:AWS_SECRET_ACCESS_KEY}"
    network_acl_id: ${DEMO_NETWORK_ACL_ID}
  iam:
    type: aws_iam
    region: eu-west-1
    endpoint: ${served.url}/aws
    access_key_id: "\${secret:AWS_ACCESS_KEY_ID}"
    secret_access_key: "\${secret:AWS_SECRET_ACCESS_KEY}"
`,
      {
        AWS_ACCESS_KEY_ID: 'AKIADEMOWARDEN000001',
        AWS_SECRET_ACCESS_KEY: 'demo-secret-access-key',
      },
    );
    network = registry.get('network');
    iam = registry.get('iam');
  });
  afterAll(() => served.close());

  it('denies an IP range once, lists it, and removes it again', async () => {
    const empty = await network.invoke(testCall('list_deny_entries', {}));
    expect(empty.output).toMatchObject({ network_acl_id: DEMO_NETWORK_ACL_ID, entries: [] });

    const denied = await network.invoke(
      testCall('deny_ip_range', { cidr: '203.0.113.0/24', reason: 'scanner', case: 1 }),
    );
    expect(denied.output).toMatchObject({
      rule_number: 1,
      cidr: '203.0.113.0/24',
      already_present: false,
    });
    expect(denied.exchange?.url).toBe(`${served.url}/aws/`);

    const again = await network.invoke(testCall('deny_ip_range', { cidr: '203.0.113.9/24' }));
    expect(again.output).toMatchObject({ rule_number: 1, already_present: true });

    const egress = await network.invoke(
      testCall('deny_ip_range', { cidr: '203.0.113.0/24', direction: 'egress' }),
    );
    expect(egress.output).toMatchObject({
      rule_number: 1,
      direction: 'egress',
      already_present: false,
    });

    const listed = await network.invoke(testCall('list_deny_entries', {}));
    expect(listed.output).toMatchObject({
      entries: [
        { rule_number: 1, cidr: '203.0.113.0/24', direction: 'ingress' },
        { rule_number: 1, cidr: '203.0.113.0/24', direction: 'egress' },
      ],
    });

    const removed = await network.invoke(testCall('remove_deny', { cidr: '203.0.113.0/24' }));
    expect(removed.output).toMatchObject({ removed: [{ rule_number: 1 }, { rule_number: 1 }] });
    const gone = await network.reconcile?.(testCall('remove_deny', { cidr: '203.0.113.0/24' }));
    expect(gone?.state).toBe('done');

    expect(
      recorded.filter((entry) => entry.target === '203.0.113.0/24').map((e) => e.action),
    ).toEqual([
      'denied IP range',
      'denied IP range',
      'removed network ACL entry',
      'removed network ACL entry',
    ]);
  });

  it('revokes the security group rule that lets the range in', async () => {
    const revoked = await network.invoke(
      testCall('revoke_security_group_ingress', {
        group_id: DEMO_SECURITY_GROUP_ID,
        cidr: '203.0.113.0/24',
      }),
    );
    expect(revoked.output).toMatchObject({
      revoked_rule_ids: ['sgr-0demo00000000002'],
      already_absent: false,
    });
    const again = await network.invoke(
      testCall('revoke_security_group_ingress', {
        group_id: DEMO_SECURITY_GROUP_ID,
        cidr: '203.0.113.0/24',
      }),
    );
    expect(again.output).toMatchObject({ revoked_rule_ids: [], already_absent: true });
    expect(recorded).toContainEqual({
      service: 'aws',
      action: 'revoked security group ingress',
      target: '203.0.113.0/24',
    });
    const unknown = await connectorFailure(
      network.invoke(
        testCall('revoke_security_group_ingress', {
          group_id: 'sg-0nosuchgroup000000',
          cidr: '203.0.113.0/24',
        }),
      ),
    );
    expect(unknown.message).toContain('InvalidGroup.NotFound');
  });

  it("lists, disables and re-enables a demo user's access key", async () => {
    const listed = await iam.invoke(testCall('list_access_keys', { user: 'contractor-42' }));
    expect(listed.output).toMatchObject({
      user: 'contractor-42',
      keys: [
        { access_key_id: 'AKIADEMOCONTRACTOR42', status: 'Active', last_used_service: 's3' },
        { access_key_id: 'AKIADEMOCONTRACTOR4B', status: 'Inactive', last_used_at: null },
      ],
    });

    const call = testCall('disable_access_key', {
      user: 'contractor-42',
      access_key_id: 'AKIADEMOCONTRACTOR42',
      case: 1,
    });
    expect((await iam.invoke(call)).output).toMatchObject({ status: 'Inactive', was: 'Active' });
    expect((await iam.invoke({ ...call, attempt: 2 })).output).toMatchObject({ was: 'Inactive' });
    expect((await iam.reconcile?.(call))?.state).toBe('done');

    const enabled = await iam.invoke(
      testCall('enable_access_key', {
        user: 'contractor-42',
        access_key_id: 'AKIADEMOCONTRACTOR42',
      }),
    );
    expect(enabled.output).toMatchObject({ status: 'Active', was: 'Inactive' });
    expect(
      recorded
        .filter((entry) => entry.target === 'contractor-42/AKIADEMOCONTRACTOR42')
        .map((e) => e.action),
    ).toEqual(['disabled access key', 'enabled access key']);

    for (const user of ['etl-svc', 'ml-pipeline']) {
      const keys = await iam.invoke(testCall('list_access_keys', { user }));
      expect((keys.output as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    }
    const nobody = await connectorFailure(
      iam.invoke(testCall('list_access_keys', { user: 'nobody' })),
    );
    expect(nobody).toMatchObject({ code: 'rejected', status: 404 });
  });

  it('requires a SigV4 Authorization header', async () => {
    const response = await fetch(`${served.url}/aws/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListAccessKeys&Version=2010-05-08&UserName=etl-svc',
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>MissingAuthenticationToken</Code>');
  });

  it('leaves other paths to other fakes', () => {
    const fake = createAwsFake(() => undefined);
    expect(
      fake.handle({
        method: 'GET',
        path: '/mlflow/x',
        query: new URLSearchParams(),
        headers: {},
        text: '',
      }),
    ).toBeUndefined();
  });
});
