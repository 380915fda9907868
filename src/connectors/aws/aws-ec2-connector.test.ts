import { beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../connector.js';
import { ec2Error, ec2Items, ec2Response } from './aws-query-xml.js';
import {
  TEST_ACCESS_KEY_ID,
  TEST_SECRETS,
  awsConnectorsYaml,
  connectorFailure,
  defaultAclEntries,
  describeNetworkAclsXml,
  fakeAwsEndpointForSuite,
  loadAwsConnectors,
  securityGroupRuleXml,
  testCall,
  type FakeAwsRequest,
  type TestNetworkAclEntry,
  type TestSecurityGroupRule,
} from './fake-aws-endpoint.test-support.js';

const ACL = 'acl-0a1b2c3d4e5f60718';
const GROUP = 'sg-0123456789abcdef0';

describe('aws_ec2', () => {
  // Every request the connector makes must be correctly signed for ec2 in eu-west-1.
  const aws = fakeAwsEndpointForSuite({ service: 'ec2', region: 'eu-west-1', path: '/aws/' });
  let network: Connector;

  beforeAll(() => {
    network = loadAwsConnectors(awsConnectorsYaml(aws.url), TEST_SECRETS).get('network');
  });

  /** The ACL answers DescribeNetworkAcls with `entries` plus the defaults. */
  function aclWith(entries: TestNetworkAclEntry[] = []): void {
    aws.on('DescribeNetworkAcls', (request) => {
      expect(request.params.get('NetworkAclId.1')).toBe(ACL);
      return describeNetworkAclsXml(aws.nextRequestId(), [
        { id: ACL, entries: [...entries, ...defaultAclEntries()] },
      ]);
    });
  }
  function createSucceeds(): void {
    aws.on('CreateNetworkAclEntry', () =>
      ec2Response('CreateNetworkAclEntry', 'req-create', '<return>true</return>'),
    );
  }
  const deny = (ruleNumber: number, cidr: string, egress = false): TestNetworkAclEntry => ({
    ruleNumber,
    ruleAction: 'deny',
    egress,
    ...(cidr.includes(':') ? { ipv6CidrBlock: cidr } : { cidrBlock: cidr }),
  });

  describe('deny_ip_range', () => {
    it('looks the ACL up, then creates a deny entry at the lowest free rule number', async () => {
      aclWith([deny(10, '198.51.100.0/24'), deny(11, '192.0.2.0/24', true)]);
      createSucceeds();
      const result = await network.invoke(
        testCall('deny_ip_range', { cidr: '203.0.113.0/24', reason: 'scanner', case: 4 }),
      );

      expect(aws.requests.map((request) => request.action)).toEqual([
        'DescribeNetworkAcls',
        'CreateNetworkAclEntry',
      ]);
      const create = aws.requests[1] as FakeAwsRequest;
      expect(Object.fromEntries(create.params)).toEqual({
        Action: 'CreateNetworkAclEntry',
        Version: '2016-11-15',
        NetworkAclId: ACL,
        RuleNumber: '11', // 10 is taken for ingress; 11 only for egress
        Protocol: '-1',
        RuleAction: 'deny',
        Egress: 'false',
        CidrBlock: '203.0.113.0/24',
      });
      expect(create.headers['content-type']).toBe('application/x-www-form-urlencoded');

      expect(result.output).toEqual({
        network_acl_id: ACL,
        rule_number: 11,
        cidr: '203.0.113.0/24',
        direction: 'ingress',
        already_present: false,
        aws_requests: [
          { action: 'DescribeNetworkAcls', status: 200, request_id: expect.any(String) as string },
          { action: 'CreateNetworkAclEntry', status: 200, request_id: 'req-create' },
        ],
      });
      expect(result.openc2).toEqual({
        action: 'deny',
        target: { ipv4_net: '203.0.113.0/24' },
        args: { slpf: { direction: 'ingress' } },
        actuator: { slpf: {} },
      });
      // The exchange is the request that decided the result, recorded without credentials.
      expect(result.exchange).toMatchObject({
        method: 'POST',
        url: `${aws.url}/`,
        status: 200,
        requestBody: expect.stringContaining('Action=CreateNetworkAclEntry') as string,
        responseBody: expect.stringContaining('<return>true</return>') as string,
      });
      expect(result.exchange?.requestHeaders.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=\$\{secret:AWS_ACCESS_KEY_ID\}\/\d{8}\/eu-west-1\/ec2\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=\[redacted\]$/,
      );
      expect(JSON.stringify(result)).not.toContain(TEST_ACCESS_KEY_ID);
    });

    it('denies egress with Egress=true, numbered among the egress entries', async () => {
      aclWith([deny(10, '198.51.100.0/24')]);
      createSucceeds();
      const result = await network.invoke(
        testCall('deny_ip_range', { cidr: '203.0.113.0/24', direction: 'egress' }),
      );
      const create = aws.requestsFor('CreateNetworkAclEntry')[0];
      expect(create?.params.get('Egress')).toBe('true');
      expect(create?.params.get('RuleNumber')).toBe('10');
      expect(result.output).toMatchObject({ direction: 'egress', rule_number: 10 });
      expect(result.openc2).toMatchObject({ args: { slpf: { direction: 'egress' } } });
    });

    it('answers already_present for a range already denied, without a second entry', async () => {
      aclWith([deny(12, '203.0.113.0/24')]);
      // Written another way: the host bits are cleared before comparing.
      const result = await network.invoke(testCall('deny_ip_range', { cidr: '203.0.113.77/24' }));
      expect(aws.requestsFor('CreateNetworkAclEntry')).toHaveLength(0);
      expect(result.output).toMatchObject({
        rule_number: 12,
        cidr: '203.0.113.0/24',
        already_present: true,
      });
      expect(result.exchange?.requestBody).toContain('Action=DescribeNetworkAcls');
      expect(result.openc2).toMatchObject({
        action: 'deny',
        target: { ipv4_net: '203.0.113.0/24' },
      });
    });

    it('does not count a deny in the other direction or for one protocol as present', async () => {
      aclWith([
        deny(10, '203.0.113.0/24', true),
        {
          ruleNumber: 11,
          ruleAction: 'deny',
          egress: false,
          protocol: '6',
          cidrBlock: '203.0.113.0/24',
        },
      ]);
      createSucceeds();
      const result = await network.invoke(testCall('deny_ip_range', { cidr: '203.0.113.0/24' }));
      expect(result.output).toMatchObject({ already_present: false, rule_number: 10 });
    });

    it('denies a single address as /32 and an IPv6 range with Ipv6CidrBlock', async () => {
      aclWith();
      createSucceeds();
      const single = await network.invoke(testCall('deny_ip_range', { cidr: '203.0.113.7' }));
      expect(single.output).toMatchObject({ cidr: '203.0.113.7/32' });
      expect(aws.requestsFor('CreateNetworkAclEntry')[0]?.params.get('CidrBlock')).toBe(
        '203.0.113.7/32',
      );

      const v6 = await network.invoke(testCall('deny_ip_range', { cidr: '2001:DB8:0:0::1/48' }));
      const create = aws.requestsFor('CreateNetworkAclEntry')[1];
      expect(create?.params.get('Ipv6CidrBlock')).toBe('2001:db8::/48');
      expect(create?.params.has('CidrBlock')).toBe(false);
      expect(v6.openc2).toMatchObject({ target: { ipv6_net: '2001:db8::/48' } });
    });

    it('uses a given network ACL and rule number', async () => {
      aws.on('DescribeNetworkAcls', (request) =>
        describeNetworkAclsXml('r', [
          { id: request.params.get('NetworkAclId.1') ?? '', entries: defaultAclEntries() },
        ]),
      );
      createSucceeds();
      const result = await network.invoke(
        testCall('deny_ip_range', {
          cidr: '203.0.113.0/24',
          network_acl_id: 'acl-0fedcba9876543210',
          rule_number: 5,
        }),
      );
      const create = aws.requestsFor('CreateNetworkAclEntry')[0];
      expect(create?.params.get('NetworkAclId')).toBe('acl-0fedcba9876543210');
      expect(create?.params.get('RuleNumber')).toBe('5');
      expect(result.output).toMatchObject({
        network_acl_id: 'acl-0fedcba9876543210',
        rule_number: 5,
      });
    });

    it('rejects a given rule number that another entry holds, without creating', async () => {
      aclWith([{ ruleNumber: 5, ruleAction: 'allow', egress: false, cidrBlock: '10.0.0.0/8' }]);
      const error = await connectorFailure(
        network.invoke(testCall('deny_ip_range', { cidr: '203.0.113.0/24', rule_number: 5 })),
      );
      expect(error).toMatchObject({ code: 'rejected', retryable: false });
      expect(error.message).toContain('rule 5');
      expect(aws.requestsFor('CreateNetworkAclEntry')).toHaveLength(0);
    });

    it('rejects when the configured rule numbers are all taken', async () => {
      aclWith(Array.from({ length: 10 }, (_, index) => deny(10 + index, `198.51.100.${index}/32`)));
      const error = await connectorFailure(
        network.invoke(testCall('deny_ip_range', { cidr: '203.0.113.0/24' })),
      );
      expect(error.code).toBe('rejected');
      expect(error.message).toContain('no free ingress rule number in 10-19');
      expect(error.exchange?.requestBody).toContain('DescribeNetworkAcls');
    });

    it('picks again when another writer took the number between lookup and create', async () => {
      let lookups = 0;
      aws.on('DescribeNetworkAcls', () => {
        lookups += 1;
        const taken = lookups === 1 ? [] : [deny(10, '198.51.100.0/24')];
        return describeNetworkAclsXml('r', [
          { id: ACL, entries: [...taken, ...defaultAclEntries()] },
        ]);
      });
      aws.once('CreateNetworkAclEntry', () =>
        ec2Error(
          400,
          'NetworkAclEntryAlreadyExists',
          'The network acl entry identified by 10 already exists.',
          'r',
        ),
      );
      createSucceeds();
      const result = await network.invoke(testCall('deny_ip_range', { cidr: '203.0.113.0/24' }));
      expect(
        aws.requestsFor('CreateNetworkAclEntry').map((r) => r.params.get('RuleNumber')),
      ).toEqual(['10', '11']);
      expect(result.output).toMatchObject({ rule_number: 11 });
      expect((result.output as { aws_requests: unknown[] }).aws_requests).toHaveLength(4);
    });

    it('gives concurrent denies on one ACL different rule numbers', async () => {
      const entries: TestNetworkAclEntry[] = [];
      aws.on('DescribeNetworkAcls', () => ({
        ...describeNetworkAclsXml('r', [
          { id: ACL, entries: [...entries, ...defaultAclEntries()] },
        ]),
        delayMs: 20,
      }));
      aws.on('CreateNetworkAclEntry', (request) => {
        const ruleNumber = Number(request.params.get('RuleNumber'));
        if (entries.some((entry) => entry.ruleNumber === ruleNumber)) {
          return ec2Error(400, 'NetworkAclEntryAlreadyExists', 'taken', 'r');
        }
        entries.push(deny(ruleNumber, request.params.get('CidrBlock') ?? ''));
        return ec2Response('CreateNetworkAclEntry', 'r', '<return>true</return>');
      });
      const results = await Promise.all(
        ['203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/24'].map((cidr) =>
          network.invoke(testCall('deny_ip_range', { cidr })),
        ),
      );
      const numbers = results.map(
        (result) => (result.output as { rule_number: number }).rule_number,
      );
      expect(new Set(numbers).size).toBe(3);
      expect(aws.requestsFor('CreateNetworkAclEntry')).toHaveLength(3);
    });

    it('refuses a range that only looks like one, before sending anything', async () => {
      const error = await connectorFailure(
        network.invoke(testCall('deny_ip_range', { cidr: '999.1.1.1/24' })),
      );
      expect(error).toMatchObject({ code: 'invalid_input', retryable: false });
      expect(aws.requests).toHaveLength(0);
    });

    it('needs a network ACL from the input or the config', async () => {
      const bare = loadAwsConnectors(
        `
connectors:
  bare:
    type: aws_ec2
    region: eu-west-1
    endpoint: ${aws.url}
    access_key_id: "\${secret:AWS_ACCESS_KEY_ID}"
    secret_access_key: "\${secret:AWS_SECRET_ACCESS_KEY}"
`,
        TEST_SECRETS,
      ).get('bare');
      const error = await connectorFailure(
        bare.invoke(testCall('deny_ip_range', { cidr: '203.0.113.0/24' })),
      );
      expect(error.code).toBe('invalid_input');
      expect(error.message).toContain('network_acl_id');
      expect(aws.requests).toHaveLength(0);
    });

    it('reports an unknown network ACL as rejected', async () => {
      aws.on('DescribeNetworkAcls', () =>
        ec2Error(
          400,
          'InvalidNetworkAclID.NotFound',
          "The networkAcl ID 'acl-0a1b2c3d4e5f60718' does not exist",
          'r-404',
        ),
      );
      const error = await connectorFailure(
        network.invoke(testCall('deny_ip_range', { cidr: '203.0.113.0/24' })),
      );
      expect(error).toMatchObject({ code: 'rejected', retryable: false, status: 400 });
      expect(error.message).toContain('InvalidNetworkAclID.NotFound');
      expect(error.message).toContain('does not exist');
    });
  });

  describe('remove_deny', () => {
    it('deletes every all-protocol deny entry for the range, both directions by default', async () => {
      aclWith([
        deny(10, '203.0.113.0/24'),
        deny(14, '203.0.113.0/24', true),
        deny(11, '198.51.100.0/24'),
      ]);
      aws.on('DeleteNetworkAclEntry', () =>
        ec2Response('DeleteNetworkAclEntry', 'r-del', '<return>true</return>'),
      );
      const result = await network.invoke(testCall('remove_deny', { cidr: '203.0.113.0/24' }));
      expect(
        aws
          .requestsFor('DeleteNetworkAclEntry')
          .map((request) => Object.fromEntries(request.params)),
      ).toEqual([
        {
          Action: 'DeleteNetworkAclEntry',
          Version: '2016-11-15',
          NetworkAclId: ACL,
          RuleNumber: '10',
          Egress: 'false',
        },
        {
          Action: 'DeleteNetworkAclEntry',
          Version: '2016-11-15',
          NetworkAclId: ACL,
          RuleNumber: '14',
          Egress: 'true',
        },
      ]);
      expect(result.output).toMatchObject({
        network_acl_id: ACL,
        cidr: '203.0.113.0/24',
        removed: [
          { rule_number: 10, direction: 'ingress' },
          { rule_number: 14, direction: 'egress' },
        ],
        already_absent: false,
      });
      expect(result.openc2).toBeUndefined();
    });

    it('deletes one direction when asked, and says which rule in OpenC2', async () => {
      aclWith([deny(10, '203.0.113.0/24'), deny(14, '203.0.113.0/24', true)]);
      aws.on('DeleteNetworkAclEntry', () =>
        ec2Response('DeleteNetworkAclEntry', 'r', '<return>true</return>'),
      );
      const result = await network.invoke(
        testCall('remove_deny', { cidr: '203.0.113.0/24', direction: 'egress' }),
      );
      expect(aws.requestsFor('DeleteNetworkAclEntry')).toHaveLength(1);
      expect(result.output).toMatchObject({ removed: [{ rule_number: 14, direction: 'egress' }] });
      expect(result.openc2).toEqual({
        action: 'delete',
        target: { slpf: { rule_number: 14 } },
        actuator: { slpf: {} },
      });
    });

    it('answers already_absent without deleting when no deny matches', async () => {
      aclWith([deny(10, '198.51.100.0/24')]);
      const result = await network.invoke(testCall('remove_deny', { cidr: '203.0.113.0/24' }));
      expect(aws.requestsFor('DeleteNetworkAclEntry')).toHaveLength(0);
      expect(result.output).toMatchObject({ removed: [], already_absent: true });
    });

    it('treats an entry deleted meanwhile as removed', async () => {
      aclWith([deny(10, '203.0.113.0/24')]);
      aws.on('DeleteNetworkAclEntry', () =>
        ec2Error(
          400,
          'InvalidNetworkAclEntry.NotFound',
          'The specified network ACL entry does not exist',
          'r',
        ),
      );
      const result = await network.invoke(testCall('remove_deny', { cidr: '203.0.113.0/24' }));
      expect(result.output).toMatchObject({
        removed: [{ rule_number: 10 }],
        already_absent: false,
      });
    });
  });

  describe('revoke_security_group_ingress', () => {
    const rule = (id: string, fields: Partial<TestSecurityGroupRule>): string =>
      securityGroupRuleXml({ id, groupId: GROUP, isEgress: false, ...fields });
    function rules(items: string[]): void {
      aws.on('DescribeSecurityGroupRules', () =>
        ec2Response(
          'DescribeSecurityGroupRules',
          'r-rules',
          `<securityGroupRuleSet>${ec2Items(items)}</securityGroupRuleSet>`,
        ),
      );
    }

    it('revokes the inbound rules allowing exactly that range, by rule id', async () => {
      rules([
        rule('sgr-0000000000000001a', { cidrIpv4: '203.0.113.0/24', fromPort: 22, toPort: 22 }),
        rule('sgr-0000000000000002b', { cidrIpv4: '203.0.113.0/24' }),
        rule('sgr-0000000000000003c', { cidrIpv4: '0.0.0.0/0' }),
        rule('sgr-0000000000000004d', { cidrIpv4: '203.0.113.0/24', isEgress: true }),
      ]);
      aws.on('RevokeSecurityGroupIngress', () =>
        ec2Response(
          'RevokeSecurityGroupIngress',
          'r-revoke',
          '<return>true</return><revokedSecurityGroupRuleSet>' +
            ec2Items([
              rule('sgr-0000000000000001a', { cidrIpv4: '203.0.113.0/24' }),
              rule('sgr-0000000000000002b', { cidrIpv4: '203.0.113.0/24' }),
            ]) +
            '</revokedSecurityGroupRuleSet>',
        ),
      );
      const result = await network.invoke(
        testCall('revoke_security_group_ingress', { group_id: GROUP, cidr: '203.0.113.0/24' }),
      );
      const describe = aws.requestsFor('DescribeSecurityGroupRules')[0];
      expect(describe?.params.get('Filter.1.Name')).toBe('group-id');
      expect(describe?.params.get('Filter.1.Value.1')).toBe(GROUP);
      const revoke = aws.requestsFor('RevokeSecurityGroupIngress')[0];
      expect(Object.fromEntries(revoke?.params ?? [])).toEqual({
        Action: 'RevokeSecurityGroupIngress',
        Version: '2016-11-15',
        GroupId: GROUP,
        'SecurityGroupRuleId.1': 'sgr-0000000000000001a',
        'SecurityGroupRuleId.2': 'sgr-0000000000000002b',
      });
      expect(result.output).toEqual({
        group_id: GROUP,
        cidr: '203.0.113.0/24',
        revoked_rule_ids: ['sgr-0000000000000001a', 'sgr-0000000000000002b'],
        already_absent: false,
        aws_requests: [
          { action: 'DescribeSecurityGroupRules', status: 200, request_id: 'r-rules' },
          { action: 'RevokeSecurityGroupIngress', status: 200, request_id: 'r-revoke' },
        ],
      });
    });

    it('answers already_absent when no inbound rule allows the range', async () => {
      rules([rule('sgr-0000000000000003c', { cidrIpv4: '0.0.0.0/0' })]);
      const result = await network.invoke(
        testCall('revoke_security_group_ingress', { group_id: GROUP, cidr: '203.0.113.0/24' }),
      );
      expect(aws.requestsFor('RevokeSecurityGroupIngress')).toHaveLength(0);
      expect(result.output).toMatchObject({ revoked_rule_ids: [], already_absent: true });
    });

    it('checks that a group without any rule exists, so a typo is an error', async () => {
      rules([]);
      aws.on('DescribeSecurityGroups', () =>
        ec2Error(400, 'InvalidGroup.NotFound', `The security group '${GROUP}' does not exist`, 'r'),
      );
      const error = await connectorFailure(
        network.invoke(
          testCall('revoke_security_group_ingress', { group_id: GROUP, cidr: '203.0.113.0/24' }),
        ),
      );
      expect(error).toMatchObject({ code: 'rejected', status: 400 });
      expect(error.message).toContain('InvalidGroup.NotFound');
      expect(aws.requestsFor('DescribeSecurityGroups')[0]?.params.get('GroupId.1')).toBe(GROUP);
    });
  });

  describe('list_deny_entries', () => {
    it('lists the deny entries, without allows and the default rule', async () => {
      aclWith([deny(10, '203.0.113.0/24'), deny(12, '2001:db8::/32', true)]);
      const result = await network.invoke(testCall('list_deny_entries', {}));
      expect(result.output).toEqual({
        network_acl_id: ACL,
        vpc_id: 'vpc-0a1b2c3d4e5f60718',
        entries: [
          { rule_number: 10, cidr: '203.0.113.0/24', direction: 'ingress', protocol: '-1' },
          { rule_number: 12, cidr: '2001:db8::/32', direction: 'egress', protocol: '-1' },
        ],
        aws_requests: [
          { action: 'DescribeNetworkAcls', status: 200, request_id: expect.any(String) as string },
        ],
      });
      expect(result.openc2).toBeUndefined();
    });
  });

  describe('reconcile', () => {
    it('answers done for a deny that is in place, not_done for one that is not', async () => {
      aclWith([deny(13, '203.0.113.0/24')]);
      const done = await network.reconcile?.(testCall('deny_ip_range', { cidr: '203.0.113.0/24' }));
      expect(done?.state).toBe('done');
      if (done?.state === 'done') {
        expect(done.result.output).toMatchObject({ rule_number: 13, already_present: true });
        expect(done.result.openc2).toMatchObject({ action: 'deny' });
      }
      const notDone = await network.reconcile?.(
        testCall('deny_ip_range', { cidr: '198.51.100.0/24' }),
      );
      expect(notDone?.state).toBe('not_done');
      expect(aws.requestsFor('CreateNetworkAclEntry')).toHaveLength(0);
    });

    it('answers unknown when the lookup fails', async () => {
      aws.on('DescribeNetworkAcls', () => ec2Error(503, 'Unavailable', 'try later', 'r'));
      const answer = await network.reconcile?.(
        testCall('deny_ip_range', { cidr: '203.0.113.0/24' }),
      );
      expect(answer?.state).toBe('unknown');
      if (answer?.state === 'unknown') expect(answer.error?.code).toBe('unavailable');
    });

    it('reconciles remove_deny and revoke_security_group_ingress by the state they leave', async () => {
      aclWith([deny(10, '203.0.113.0/24')]);
      expect(
        (await network.reconcile?.(testCall('remove_deny', { cidr: '203.0.113.0/24' })))?.state,
      ).toBe('not_done');
      const removed = await network.reconcile?.(
        testCall('remove_deny', { cidr: '198.51.100.0/24' }),
      );
      expect(removed?.state).toBe('done');

      aws.on('DescribeSecurityGroupRules', () =>
        ec2Response('DescribeSecurityGroupRules', 'r', '<securityGroupRuleSet/>'),
      );
      const revoked = await network.reconcile?.(
        testCall('revoke_security_group_ingress', { group_id: GROUP, cidr: '203.0.113.0/24' }),
      );
      expect(revoked?.state).toBe('done');
      if (revoked?.state === 'done') {
        expect(revoked.result.output).toMatchObject({ revoked_rule_ids: [], already_absent: true });
      }
    });
  });
});
