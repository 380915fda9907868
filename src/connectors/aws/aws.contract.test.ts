import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { invokeAndRecord } from '../../../test/support/connector-test-kit.js';
import type { RecordedRequest } from '../../../test/support/fake-http-service.js';
import type { Connector, ConnectorCall, ConnectorResult } from '../connector.js';
import { describeHttpConnectorContract } from '../connector.contract.js';
import { ec2Error, iamError, iamResponse, xml } from './aws-query-xml.js';
import {
  FakeAwsEndpoint,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  TEST_SECRETS,
  TEST_SESSION_TOKEN,
  awsConnectorsYaml,
  connectorFailure,
  defaultAclEntries,
  describeNetworkAclsXml,
  listAccessKeysXml,
  loadAwsConnectors,
  testCall,
  verifySigV4,
  type FakeAwsRequest,
  type TestAccessKey,
  type TestNetworkAclEntry,
} from './fake-aws-endpoint.test-support.js';

/**
 * The connector contract for aws_ec2 and aws_iam.
 *
 * The read half runs the shared `describeHttpConnectorContract` suite
 * unmodified, through a thin adapter: the suite's credential becomes the
 * access key id (the part of an AWS credential that travels, inside the
 * SigV4 Authorization header) and `expectCredential` verifies the
 * signature. The write half cannot run there — every AWS write is a lookup
 * then a change (two requests), and is idempotent by state, so an uncertain
 * failure stays retryable where the shared suite expects it not to be — so
 * the same cases are written out below against a fake AWS endpoint that
 * speaks XML and checks signatures.
 */

// ---------------------------------------------------------------------------
// The shared suite, read actions

const CONTRACT_SECRET_ACCESS_KEY = 'contract/SecretAccessKey+0123456789abcdefghij';

function contractYaml(baseUrl: string, timeoutMs: number): string {
  return awsConnectorsYaml(baseUrl, { timeout: `${timeoutMs}ms` });
}

function expectSignedBy(service: 'ec2' | 'iam', region: string) {
  return (request: RecordedRequest, secret: string): void => {
    const check = verifySigV4(
      {
        method: request.method,
        path: request.path,
        query: request.query.toString(),
        headers: request.headers,
        body: request.body,
      },
      { accessKeyId: secret, secretAccessKey: CONTRACT_SECRET_ACCESS_KEY, service, region },
    );
    expect(check.problems).toEqual([]);
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
  };
}

describeHttpConnectorContract('aws_ec2 (reads)', {
  create: ({ baseUrl, secret, timeoutMs }) =>
    loadAwsConnectors(contractYaml(baseUrl, timeoutMs), {
      AWS_ACCESS_KEY_ID: secret,
      AWS_SECRET_ACCESS_KEY: CONTRACT_SECRET_ACCESS_KEY,
    }).get('network'),
  read: {
    action: 'list_deny_entries',
    input: {},
    response: {
      headers: { 'content-type': 'text/xml;charset=UTF-8' },
      body: describeNetworkAclsXml('ec2-req-1', [
        {
          id: 'acl-0a1b2c3d4e5f60718',
          entries: [
            { ruleNumber: 10, ruleAction: 'deny', egress: false, cidrBlock: '203.0.113.0/24' },
            ...defaultAclEntries(),
          ],
        },
      ]).body,
    },
    expectRequest: { method: 'POST', path: '/' },
    expectOutput: {
      network_acl_id: 'acl-0a1b2c3d4e5f60718',
      vpc_id: 'vpc-0a1b2c3d4e5f60718',
      entries: [{ rule_number: 10, cidr: '203.0.113.0/24', direction: 'ingress', protocol: '-1' }],
      aws_requests: [{ action: 'DescribeNetworkAcls', status: 200, request_id: 'ec2-req-1' }],
    },
  },
  invalidInput: { action: 'list_deny_entries', input: { network_acl_id: 42 } },
  expectCredential: expectSignedBy('ec2', 'eu-west-1'),
  idempotencyHeader: undefined,
});

describeHttpConnectorContract('aws_iam (reads)', {
  create: ({ baseUrl, secret, timeoutMs }) =>
    loadAwsConnectors(contractYaml(baseUrl, timeoutMs), {
      AWS_ACCESS_KEY_ID: secret,
      AWS_SECRET_ACCESS_KEY: CONTRACT_SECRET_ACCESS_KEY,
    }).get('iam'),
  read: {
    action: 'list_access_keys',
    input: { user: 'contractor-42' },
    response: {
      headers: { 'content-type': 'text/xml' },
      body: listAccessKeysXml('iam-req-1', 'contractor-42', []).body,
    },
    expectRequest: { method: 'POST', path: '/' },
    expectOutput: {
      user: 'contractor-42',
      keys: [],
      aws_requests: [{ action: 'ListAccessKeys', status: 200, request_id: 'iam-req-1' }],
    },
  },
  invalidInput: { action: 'list_access_keys', input: { user: 'not a user name' } },
  expectCredential: expectSignedBy('iam', 'us-east-1'),
  idempotencyHeader: undefined,
});

// ---------------------------------------------------------------------------
// The same cases for the writes (and the AWS-specific error forms)

const ACL = 'acl-0a1b2c3d4e5f60718';
const USER = 'contractor-42';
const KEY = 'AKIAIOSFODNN7EXAMPLE';

/** Every result and error of this file, checked for credentials at the end. */
const recorded: unknown[] = [];

function invoke(connector: Connector, call: ConnectorCall): Promise<ConnectorResult> {
  return invokeAndRecord(recorded, connector, call);
}

interface WriteCase {
  readonly type: 'aws_ec2' | 'aws_iam';
  readonly instance: 'network' | 'iam';
  readonly service: 'ec2' | 'iam';
  readonly region: string;
  readonly call: () => ConnectorCall;
  /** Makes the fake answer the lookup with "not yet in effect" and the change with success. */
  readonly arrange: (aws: FakeAwsEndpoint) => void;
  /** Makes the fake stateful: the change takes effect and later lookups see it. */
  readonly arrangeStateful: (aws: FakeAwsEndpoint) => void;
  readonly lookup: string;
  readonly change: string;
  readonly expectChange: Record<string, string>;
  readonly expectOutput: Record<string, unknown>;
  readonly expectReplayOutput: Record<string, unknown>;
  readonly error: (
    status: number,
    code: string,
    message: string,
  ) => { status: number; body: string };
  readonly throttling: { status: number; code: string };
  readonly invalidInput: ConnectorCall;
}

const denyEntry = (cidr: string): TestNetworkAclEntry => ({
  ruleNumber: 10,
  ruleAction: 'deny',
  egress: false,
  cidrBlock: cidr,
});

const CASES: WriteCase[] = [
  {
    type: 'aws_ec2',
    instance: 'network',
    service: 'ec2',
    region: 'eu-west-1',
    call: () => testCall('deny_ip_range', { cidr: '203.0.113.0/24' }),
    arrange: (aws) => {
      aws.on('DescribeNetworkAcls', () =>
        describeNetworkAclsXml(aws.nextRequestId(), [{ id: ACL, entries: defaultAclEntries() }]),
      );
      aws.on('CreateNetworkAclEntry', () => ({
        status: 200,
        body: `<CreateNetworkAclEntryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${aws.nextRequestId()}</requestId><return>true</return></CreateNetworkAclEntryResponse>`,
      }));
    },
    arrangeStateful: (aws) => {
      const entries: TestNetworkAclEntry[] = [];
      aws.on('DescribeNetworkAcls', () =>
        describeNetworkAclsXml(aws.nextRequestId(), [
          { id: ACL, entries: [...entries, ...defaultAclEntries()] },
        ]),
      );
      aws.on('CreateNetworkAclEntry', (request) => {
        entries.push(denyEntry(request.params.get('CidrBlock') ?? ''));
        return {
          status: 200,
          body: `<CreateNetworkAclEntryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><return>true</return></CreateNetworkAclEntryResponse>`,
        };
      });
    },
    lookup: 'DescribeNetworkAcls',
    change: 'CreateNetworkAclEntry',
    expectChange: {
      NetworkAclId: ACL,
      RuleNumber: '10',
      Protocol: '-1',
      RuleAction: 'deny',
      Egress: 'false',
      CidrBlock: '203.0.113.0/24',
    },
    expectOutput: {
      network_acl_id: ACL,
      rule_number: 10,
      cidr: '203.0.113.0/24',
      direction: 'ingress',
      already_present: false,
    },
    expectReplayOutput: { rule_number: 10, already_present: true },
    error: (status, code, message) => ec2Error(status, code, message, 'ec2-err'),
    throttling: { status: 503, code: 'RequestLimitExceeded' },
    invalidInput: testCall('deny_ip_range', { cidr: '203.0.113.0/24', direction: 'sideways' }),
  },
  {
    type: 'aws_iam',
    instance: 'iam',
    service: 'iam',
    region: 'us-east-1',
    call: () => testCall('disable_access_key', { user: USER, access_key_id: KEY }),
    arrange: (aws) => {
      aws.on('ListAccessKeys', () =>
        listAccessKeysXml(aws.nextRequestId(), USER, [
          { id: KEY, status: 'Active', created: '2024-11-02T09:15:00Z' },
        ]),
      );
      aws.on('UpdateAccessKey', () => iamResponse('UpdateAccessKey', aws.nextRequestId()));
    },
    arrangeStateful: (aws) => {
      const key: { -readonly [K in keyof TestAccessKey]: TestAccessKey[K] } = {
        id: KEY,
        status: 'Active',
        created: '2024-11-02T09:15:00Z',
      };
      aws.on('ListAccessKeys', () => listAccessKeysXml(aws.nextRequestId(), USER, [key]));
      aws.on('UpdateAccessKey', (request) => {
        key.status = request.params.get('Status') === 'Inactive' ? 'Inactive' : 'Active';
        return iamResponse('UpdateAccessKey', aws.nextRequestId());
      });
    },
    lookup: 'ListAccessKeys',
    change: 'UpdateAccessKey',
    expectChange: { UserName: USER, AccessKeyId: KEY, Status: 'Inactive' },
    expectOutput: { user: USER, access_key_id: KEY, status: 'Inactive', was: 'Active' },
    expectReplayOutput: { status: 'Inactive', was: 'Inactive' },
    error: (status, code, message) => iamError(status, code, message, 'iam-err'),
    throttling: { status: 400, code: 'Throttling' },
    invalidInput: testCall('disable_access_key', { user: USER, access_key_id: 'short' }),
  },
];

describe.each(CASES)('$type: write contract', (setup) => {
  let aws: FakeAwsEndpoint;
  let connector: Connector;

  beforeAll(async () => {
    aws = await FakeAwsEndpoint.start({
      accessKeyId: TEST_ACCESS_KEY_ID,
      secretAccessKey: TEST_SECRET_ACCESS_KEY,
      prefix: '/aws',
    });
    connector = loadAwsConnectors(
      awsConnectorsYaml(aws.url, { timeout: '300ms' }),
      TEST_SECRETS,
    ).get(setup.instance);
  });
  afterAll(async () => {
    await aws.close();
  });
  beforeEach(() => aws.reset());

  function expectSigned(request: FakeAwsRequest | undefined): void {
    expect(request?.signature.problems).toEqual([]);
    expect(request?.signature).toMatchObject({
      accessKeyId: TEST_ACCESS_KEY_ID,
      service: setup.service,
      region: setup.region,
    });
  }

  it('declares the write with schemas', () => {
    const spec = connector.actions[setup.call().action];
    expect(spec?.effect).toBe('write');
    expect(spec?.inputSchema).toMatchObject({ additionalProperties: false });
  });

  it('sends the lookup, then the change as AWS expects it, signed', async () => {
    setup.arrange(aws);
    const result = await invoke(connector, setup.call());
    expect(aws.requests.map((request) => request.action)).toEqual([setup.lookup, setup.change]);
    const change = aws.requestsFor(setup.change)[0];
    expect(change?.method).toBe('POST');
    expect(change?.path).toBe('/aws/');
    expect(change?.params.get('Action')).toBe(setup.change);
    for (const [name, value] of Object.entries(setup.expectChange)) {
      expect(change?.params.get(name), name).toBe(value);
    }
    for (const request of aws.requests) expectSigned(request);
    expect(result.output).toMatchObject(setup.expectOutput);
    expect(result.exchange).toMatchObject({ method: 'POST', status: 200 });
    expect(result.exchange?.requestBody).toContain(`Action=${setup.change}`);
    expect(result.openc2).toBeDefined();
  });

  it('reports 503 as unavailable and retryable, with the exchange', async () => {
    aws.on(setup.lookup, () =>
      setup.error(503, 'ServiceUnavailable', 'Service is unavailable, maintenance'),
    );
    const error = await connectorFailure(invoke(connector, setup.call()));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true, status: 503 });
    expect(error.exchange?.status).toBe(503);
    expect(error.exchange?.responseBody).toContain('maintenance');
    expect(error.message).toContain('ServiceUnavailable');
    // The SDK did not retry: retries are the runner's.
    expect(aws.requests).toHaveLength(1);
    expect(aws.requests[0]?.headers['amz-sdk-request']).toBe('attempt=1; max=1');
  });

  it('reports 400 as rejected and not retryable', async () => {
    aws.on(setup.lookup, () => setup.error(400, 'InvalidParameterValue', 'bad value'));
    const error = await connectorFailure(invoke(connector, setup.call()));
    expect(error).toMatchObject({ code: 'rejected', retryable: false, status: 400 });
  });

  it.each([
    [401, 'AuthFailure'],
    [403, 'UnauthorizedOperation'],
    [403, 'InvalidClientTokenId'],
    [400, 'ExpiredToken'],
  ])('reports %i %s as unauthorized and not retryable', async (status, code) => {
    aws.on(setup.lookup, () => setup.error(status, code, 'no'));
    const error = await connectorFailure(invoke(connector, setup.call()));
    expect(error).toMatchObject({ code: 'unauthorized', retryable: false, status });
  });

  it('reports 429 as rate_limited with Retry-After seconds, and an HTTP-date', async () => {
    aws.once(setup.lookup, () => ({
      ...setup.error(429, 'TooManyRequestsException', 'slow down'),
      headers: { 'retry-after': '2' },
    }));
    expect(await connectorFailure(invoke(connector, setup.call()))).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      retryAfterMs: 2000,
    });
    const at = new Date(Date.now() + 5000).toUTCString();
    aws.once(setup.lookup, () => ({
      ...setup.error(429, 'Throttling', 'x'),
      headers: { 'retry-after': at },
    }));
    const dated = await connectorFailure(invoke(connector, setup.call()));
    expect(dated.retryAfterMs).toBeGreaterThan(3000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it(`reports the service's own throttling (${setup.throttling.status} ${setup.throttling.code}) as rate_limited`, async () => {
    aws.on(setup.lookup, () =>
      setup.error(setup.throttling.status, setup.throttling.code, 'Rate exceeded'),
    );
    const error = await connectorFailure(invoke(connector, setup.call()));
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(error.retryAfterMs).toBeUndefined();
  });

  it('keeps a failed change retryable even after it may have been applied (idempotent by state)', async () => {
    setup.arrange(aws);
    aws.once(setup.change, () =>
      setup.error(500, 'InternalError', 'An internal error has occurred'),
    );
    expect(await connectorFailure(invoke(connector, setup.call()))).toMatchObject({
      code: 'unavailable',
      retryable: true,
      status: 500,
    });
    aws.once(setup.change, () => ({ ...setup.error(500, 'x', 'y'), delayMs: 5000 }));
    const slow = await connectorFailure(invoke(connector, setup.call()));
    expect(slow).toMatchObject({ code: 'timeout', retryable: true });
    expect(slow.message).toContain('no response within 300 ms');
    expect(slow.exchange?.requestBody).toContain(`Action=${setup.change}`);
    expect(slow.exchange?.status).toBeUndefined();
  });

  it('times out a slow answer and aborts the request', async () => {
    aws.on(setup.lookup, () => ({ ...setup.error(200, 'x', 'y'), delayMs: 5000 }));
    const started = performance.now();
    const error = await connectorFailure(invoke(connector, setup.call()));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(performance.now() - started).toBeLessThan(3000);
    await vi.waitFor(() => expect(aws.requests[0]?.aborted).toBe(true), { timeout: 2000 });
  });

  it("times out at the call's deadline", async () => {
    aws.on(setup.lookup, () => ({ ...setup.error(200, 'x', 'y'), delayMs: 5000 }));
    const error = await connectorFailure(
      invoke(connector, { ...setup.call(), signal: AbortSignal.timeout(50) }),
    );
    expect(error.code).toBe('timeout');
    expect(error.message).toContain('step deadline');
  });

  it('rejects invalid input before sending anything', async () => {
    const error = await connectorFailure(invoke(connector, setup.invalidInput));
    expect(error).toMatchObject({ code: 'invalid_input', retryable: false });
    expect(aws.requests).toHaveLength(0);
  });

  it('makes a replayed write a no-op: one change only, the second answer says so', async () => {
    setup.arrangeStateful(aws);
    const first = setup.call();
    const one = await invoke(connector, first);
    const two = await invoke(connector, { ...first, attempt: 2 });
    expect(one.output).toMatchObject(setup.expectOutput);
    expect(two.output).toMatchObject(setup.expectReplayOutput);
    expect(aws.requestsFor(setup.change)).toHaveLength(1);
  });

  it('reconciles by looking the state up: done, not_done, and unknown when the lookup fails', async () => {
    setup.arrangeStateful(aws);
    const call = setup.call();
    expect((await connector.reconcile?.(call))?.state).toBe('not_done');
    await invoke(connector, call);
    const done = await connector.reconcile?.(call);
    expect(done?.state).toBe('done');
    if (done?.state === 'done') {
      expect(done.result.output).toMatchObject(setup.expectReplayOutput);
      recorded.push(done);
    }
    expect(aws.requestsFor(setup.change)).toHaveLength(1);

    aws.reset();
    aws.on(setup.lookup, () => setup.error(503, 'Unavailable', 'down'));
    const unknown = await connector.reconcile?.(call);
    expect(unknown?.state).toBe('unknown');
    recorded.push(unknown);
  });

  it('reports a refused connection as unavailable and retryable', async () => {
    const closed = await FakeAwsEndpoint.start({ accessKeyId: 'x', secretAccessKey: 'y' });
    const url = closed.url;
    await closed.close();
    const offline = loadAwsConnectors(awsConnectorsYaml(url), TEST_SECRETS).get(setup.instance);
    const error = await connectorFailure(invoke(offline, setup.call()));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('is refused by AWS when signed with the wrong secret key', async () => {
    setup.arrange(aws);
    const wrong = loadAwsConnectors(awsConnectorsYaml(aws.url), {
      ...TEST_SECRETS,
      AWS_SECRET_ACCESS_KEY: 'not-the-secret-access-key-at-all',
    }).get(setup.instance);
    const error = await connectorFailure(invoke(wrong, setup.call()));
    expect(error).toMatchObject({ code: 'unauthorized', status: 403 });
    expect(error.message).toContain('SignatureDoesNotMatch');
    expect(aws.requests[0]?.signature.problems).toEqual(['signature does not match']);
  });

  it('keeps the credentials out of exchanges and errors, even when AWS echoes them back', async () => {
    const withToken = loadAwsConnectors(
      awsConnectorsYaml(aws.url, {
        ec2Extra: '    session_token: "${secret:AWS_SESSION_TOKEN}"',
        iamExtra: '    session_token: "${secret:AWS_SESSION_TOKEN}"',
      }),
      { ...TEST_SECRETS, AWS_SESSION_TOKEN: TEST_SESSION_TOKEN },
    ).get(setup.instance);
    const echo = (request: FakeAwsRequest): string => xml(JSON.stringify(request.headers));
    aws.on(setup.lookup, (request) => ({
      ...setup.error(403, 'AccessDenied', echo(request)),
      headers: { 'x-amzn-requestid': 'echo' },
    }));
    const error = await connectorFailure(invoke(withToken, setup.call()));
    expect(error.code).toBe('unauthorized');
    for (const text of [error.message, JSON.stringify(error.exchange), String(error.stack)]) {
      expect(text).not.toContain(TEST_ACCESS_KEY_ID);
      expect(text).not.toContain(TEST_SESSION_TOKEN);
      expect(text).not.toContain(TEST_SECRET_ACCESS_KEY);
    }
    expect(error.exchange?.requestHeaders['x-amz-security-token']).toBe(
      '${secret:AWS_SESSION_TOKEN}',
    );
    expect(error.exchange?.requestHeaders.authorization).toContain(
      'Credential=${secret:AWS_ACCESS_KEY_ID}/',
    );
    expect(error.exchange?.responseBody).toContain('[redacted]');
    // The request did carry them: the redaction is in the record, not on the wire.
    expect(aws.requests[0]?.headers.authorization).toContain(TEST_ACCESS_KEY_ID);
    expect(aws.requests[0]?.headers['x-amz-security-token']).toBe(TEST_SESSION_TOKEN);
  });

  it('uses the default credential chain when no credentials are configured', async () => {
    setup.arrange(aws);
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = TEST_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = TEST_SECRET_ACCESS_KEY;
    process.env.AWS_SESSION_TOKEN = TEST_SESSION_TOKEN;
    try {
      const chained = loadAwsConnectors(
        `
connectors:
  chained:
    type: ${setup.type}
    region: eu-west-1
    endpoint: ${aws.url}
    network_acl_id: ${ACL}
`.replace(setup.type === 'aws_iam' ? /\n {4}network_acl_id: .*\n/ : /$^/, '\n'),
        {},
      ).get('chained');
      aws.on(setup.change, (request) => ({
        ...setup.error(400, 'InvalidParameterValue', echoCredentials(request)),
      }));
      const error = await connectorFailure(invoke(chained, setup.call()));
      expect(aws.requests.every((request) => request.signature.problems.length === 0)).toBe(true);
      expect(aws.requests[0]?.headers['x-amz-security-token']).toBe(TEST_SESSION_TOKEN);
      expect(error.exchange?.requestHeaders.authorization).toContain('Credential=[redacted]/');
      expect(error.exchange?.requestHeaders['x-amz-security-token']).toBe('[redacted]');
      expect(JSON.stringify(error.exchange)).not.toContain(TEST_ACCESS_KEY_ID);
      expect(JSON.stringify(error.exchange)).not.toContain(TEST_SESSION_TOKEN);
      expect(error.message).not.toContain(TEST_ACCESS_KEY_ID);
    } finally {
      process.env = saved;
    }
  });
});

function echoCredentials(request: FakeAwsRequest): string {
  return `you sent ${String(request.headers.authorization)} and ${String(request.headers['x-amz-security-token'])}`;
}

describe('no credential in any record of the write contract', () => {
  it('never recorded the access key id, secret key or session token', () => {
    expect(recorded.length).toBeGreaterThan(20);
    const text = JSON.stringify(recorded);
    expect(text).not.toContain(TEST_ACCESS_KEY_ID);
    expect(text).not.toContain(TEST_SECRET_ACCESS_KEY);
    expect(text).not.toContain(TEST_SESSION_TOKEN);
  });
});
