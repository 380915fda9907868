import { describe, expect, it } from 'vitest';
import { configError } from '../../../test/support/connector-test-kit.js';
import { connectorDoc, docExample } from '../../../test/support/doc-examples.js';
import { iamSigningRegion } from './aws-settings.js';
import {
  TEST_SECRETS,
  connectorFailure,
  loadAwsConnectors,
  testCall,
} from './fake-aws-endpoint.test-support.js';
import { parseIpRange, sameIpRange } from './ip-ranges.js';

function loadError(yaml: string, secrets: Record<string, string> = TEST_SECRETS): string {
  return configError(() => loadAwsConnectors(yaml, secrets)).message;
}

const CREDENTIALS = `
    access_key_id: "\${secret:AWS_ACCESS_KEY_ID}"
    secret_access_key: "\${secret:AWS_SECRET_ACCESS_KEY}"`;

describe('aws connectors.yaml', () => {
  it('loads both types with every key', () => {
    const registry = loadAwsConnectors(
      `
connectors:
  network:
    type: aws_ec2
    region: eu-west-1${CREDENTIALS}
    session_token: "\${secret:AWS_SESSION_TOKEN}"
    endpoint: http://127.0.0.1:8089/aws/
    timeout: 5s
    concurrency: 2
    rate_limit: 10/s
    network_acl_id: acl-0demo0000000000001
    rule_numbers: 1-99
  iam:
    type: aws_iam
    region: us-east-1
`,
      { ...TEST_SECRETS, AWS_SESSION_TOKEN: 'token-value-0123456789' },
    );
    const network = registry.get('network');
    expect(network.type).toBe('aws_ec2');
    expect(network.concurrency).toBe(2);
    expect(network.rateLimit).toEqual({ requests: 10, intervalMs: 1000 });
    expect(Object.keys(network.actions).sort()).toEqual([
      'deny_ip_range',
      'list_deny_entries',
      'remove_deny',
      'revoke_security_group_ingress',
    ]);
    const iam = registry.get('iam');
    expect(iam.concurrency).toBe(4);
    expect(Object.keys(iam.actions).sort()).toEqual([
      'disable_access_key',
      'enable_access_key',
      'list_access_keys',
    ]);
  });

  it.each([
    ['a missing region', `    type: aws_iam${CREDENTIALS}`, 'connectors.x.region is required'],
    [
      'a bad region',
      `    type: aws_iam\n    region: Europe`,
      'connectors.x.region must be an AWS region code',
    ],
    [
      'a literal access key',
      `    type: aws_iam\n    region: us-east-1\n    access_key_id: AKIAIOSFODNN7EXAMPLE\n    secret_access_key: "\${secret:AWS_SECRET_ACCESS_KEY}"`,
      'connectors.x.access_key_id must be a single ${secret:NAME} reference',
    ],
    [
      'a key id without its secret',
      `    type: aws_iam\n    region: us-east-1\n    access_key_id: "\${secret:AWS_ACCESS_KEY_ID}"`,
      'connectors.x.secret_access_key is required with access_key_id',
    ],
    [
      'a session token alone',
      `    type: aws_iam\n    region: us-east-1\n    session_token: "\${secret:AWS_ACCESS_KEY_ID}"`,
      'connectors.x.session_token needs access_key_id and secret_access_key',
    ],
    [
      'a secret that is not set',
      `    type: aws_iam\n    region: us-east-1\n    access_key_id: "\${secret:NOT_SET}"\n    secret_access_key: "\${secret:AWS_SECRET_ACCESS_KEY}"`,
      'references secret NOT_SET, which is not set',
    ],
    [
      'an endpoint with a query',
      `    type: aws_iam\n    region: us-east-1\n    endpoint: http://x/?a=1`,
      'must not have a query',
    ],
    [
      'an endpoint that is not a URL',
      `    type: aws_iam\n    region: us-east-1\n    endpoint: localhost`,
      'must be an absolute http(s) URL',
    ],
    [
      'rule numbers backwards',
      `    type: aws_ec2\n    region: us-east-1\n    rule_numbers: 99-1`,
      'connectors.x.rule_numbers must be a range',
    ],
    [
      'rule numbers past 32766',
      `    type: aws_ec2\n    region: us-east-1\n    rule_numbers: 1-32767`,
      'connectors.x.rule_numbers must be a range',
    ],
    [
      'a bad network ACL id',
      `    type: aws_ec2\n    region: us-east-1\n    network_acl_id: sg-123`,
      'connectors.x.network_acl_id must be a network ACL id',
    ],
    [
      'an ec2 key on iam',
      `    type: aws_iam\n    region: us-east-1\n    network_acl_id: acl-1`,
      'connectors.x.network_acl_id is not a known key',
    ],
  ])('refuses %s, naming the field', (_what, body, expected) => {
    expect(loadError(`connectors:\n  x:\n${body}\n`)).toContain(expected);
  });

  it('never quotes a secret value in a config error', () => {
    const message = loadError(
      `connectors:\n  x:\n    type: aws_iam\n    region: us-east-1\n    access_key_id: "\${secret:AWS_ACCESS_KEY_ID}"\n`,
    );
    expect(message).not.toContain(TEST_SECRETS.AWS_ACCESS_KEY_ID);
  });

  it('signs IAM in its partition home region', () => {
    expect(iamSigningRegion('eu-west-1')).toBe('us-east-1');
    expect(iamSigningRegion('us-east-1')).toBe('us-east-1');
    expect(iamSigningRegion('cn-northwest-1')).toBe('cn-north-1');
    expect(iamSigningRegion('us-gov-east-1')).toBe('us-gov-west-1');
  });
});

describe('IP ranges', () => {
  it.each([
    ['203.0.113.0/24', 4, '203.0.113.0/24'],
    ['203.0.113.77/24', 4, '203.0.113.0/24'],
    ['203.0.113.7', 4, '203.0.113.7/32'],
    ['10.1.2.3/8', 4, '10.0.0.0/8'],
    ['0.0.0.0/0', 4, '0.0.0.0/0'],
    ['2001:DB8::1/32', 6, '2001:db8::/32'],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1/128'],
    ['2001:db8:abcd:12ff::/56', 6, '2001:db8:abcd:1200::/56'],
    ['::ffff:192.0.2.1/128', 6, '::ffff:c000:201/128'],
    ['::/0', 6, '::/0'],
    ['fe80::1%eth0', undefined, undefined],
  ])('reads %s', (text, family, cidr) => {
    const range = parseIpRange(text);
    expect(range?.family).toBe(family);
    expect(range?.cidr).toBe(cidr);
  });

  it.each([
    '999.1.1.1/24',
    '1.2.3/24',
    '1.2.3.4/33',
    '2001:db8::/129',
    '1::2::3',
    'text',
    '1.2.3.4/',
  ])('refuses %s', (text) => {
    expect(parseIpRange(text)).toBeUndefined();
  });

  it('compares ranges written differently', () => {
    expect(sameIpRange('203.0.113.0/24', '203.0.113.200/24')).toBe(true);
    expect(sameIpRange('2001:db8:0::/48', '2001:DB8::/48')).toBe(true);
    expect(sameIpRange('203.0.113.0/24', '203.0.113.0/25')).toBe(false);
    expect(sameIpRange(undefined, '203.0.113.0/24')).toBe(false);
  });
});

describe('docs/connectors/aws.md', () => {
  it('has a connectors.yaml example that loads as written', () => {
    const example = docExample(connectorDoc('aws.md'), 'connectors.yaml');
    const registry = loadAwsConnectors(example, TEST_SECRETS);
    expect(registry.get('vpc_network').type).toBe('aws_ec2');
    expect(registry.get('aws_iam').type).toBe('aws_iam');
  });
});

describe('without any credentials', () => {
  it('fails calls as misconfigured when the default chain finds nothing', async () => {
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) {
      if (name.startsWith('AWS_')) delete process.env[name];
    }
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/warden-test/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/warden-test/config';
    try {
      const iam = loadAwsConnectors(
        'connectors:\n  iam:\n    type: aws_iam\n    region: eu-west-1\n    endpoint: http://127.0.0.1:9/aws\n',
        {},
      ).get('iam');
      const error = await connectorFailure(iam.invoke(testCall('list_access_keys', { user: 'x' })));
      expect(error).toMatchObject({ code: 'misconfigured', retryable: false });
      expect(error.message).toContain('no AWS credentials');
    } finally {
      process.env = saved;
    }
  });
});
