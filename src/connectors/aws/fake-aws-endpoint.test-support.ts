import { createHash, createHmac } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { loadConnectorsFromYaml, numberedCalls } from '../../../test/support/connector-test-kit.js';
import type { ConnectorRegistry } from '../connector-config.js';
import { AWS_EC2_CONNECTOR_TYPE } from './aws-ec2-connector.js';
import { AWS_IAM_CONNECTOR_TYPE } from './aws-iam-connector.js';
import {
  EC2_API_VERSION,
  IAM_API_VERSION,
  ec2Error,
  ec2Items,
  ec2Response,
  iamError,
  listAccessKeysResponse,
  networkAclItem,
  securityGroupRuleItem,
  type XmlReply,
} from './aws-query-xml.js';

/**
 * A local AWS endpoint for the connector tests: it reads AWS Query
 * protocol requests (POST, form-encoded `Action=…&Version=…`), checks the
 * SigV4 signature the way AWS does — algorithm, credential scope, signed
 * headers, and the signature itself recomputed with the secret key — and
 * answers from per-Action scripts with EC2 or IAM XML. A request with a bad
 * signature is answered `SignatureDoesNotMatch`, as AWS would.
 *
 * @example
 * const aws = await FakeAwsEndpoint.start({ accessKeyId, secretAccessKey, regions: { ec2: 'eu-west-1' } });
 * aws.on('DescribeNetworkAcls', () => ec2Response('DescribeNetworkAcls', 'r-1', '…'));
 */

export type AwsService = 'ec2' | 'iam';

export interface SignatureCheck {
  /** Every way the signature differs from what AWS requires; empty when valid. */
  readonly problems: readonly string[];
  readonly accessKeyId?: string;
  readonly date?: string;
  readonly region?: string;
  readonly service?: string;
  readonly signedHeaders?: readonly string[];
}

export interface FakeAwsRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case names. */
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The form parameters, e.g. `params.get('NetworkAclId')`. */
  readonly params: URLSearchParams;
  readonly action: string | undefined;
  /** From the API version: 2016-11-15 is EC2, 2010-05-08 IAM. */
  readonly service: AwsService | undefined;
  readonly signature: SignatureCheck;
  status: number | undefined;
  /** True when the client closed the connection before the answer was sent. */
  aborted: boolean;
}

export interface FakeAwsReply {
  /** @default 200 */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly delayMs?: number;
}

export type FakeAwsResponder = (request: FakeAwsRequest) => FakeAwsReply | XmlReply;

export interface FakeAwsEndpointOptions {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The signing region each service must use. @default ec2: eu-west-1, iam: us-east-1 */
  readonly regions?: Partial<Record<AwsService, string>>;
  /** A path prefix such as `/aws`; requests elsewhere are 404. */
  readonly prefix?: string;
}

export class FakeAwsEndpoint {
  readonly requests: FakeAwsRequest[] = [];
  private readonly routes = new Map<string, FakeAwsResponder>();
  private readonly queue: { action: string; responder: FakeAwsResponder }[] = [];
  private requestCounter = 0;

  private readonly server: Server = createServer();
  private address: string | undefined;

  private constructor(private readonly options: FakeAwsEndpointOptions) {
    this.server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const url = new URL(request.url ?? '/', 'http://fake');
        const params = new URLSearchParams(body);
        const version = params.get('Version');
        const service =
          version === EC2_API_VERSION ? 'ec2' : version === IAM_API_VERSION ? 'iam' : undefined;
        const recorded: FakeAwsRequest = {
          method: request.method ?? 'GET',
          path: url.pathname,
          headers: request.headers,
          body,
          params,
          action: params.get('Action') ?? undefined,
          service,
          signature: verifySigV4(
            {
              method: request.method ?? 'GET',
              path: url.pathname,
              query: url.search.slice(1),
              headers: request.headers,
              body,
            },
            {
              accessKeyId: options.accessKeyId,
              secretAccessKey: options.secretAccessKey,
              ...(service === undefined ? {} : { service, region: this.regionFor(service) }),
            },
          ),
          status: undefined,
          aborted: false,
        };
        this.requests.push(recorded);
        this.answer(recorded, response);
      });
    });
  }

  /** `http://127.0.0.1:<port><prefix>`; known once it listens. */
  get url(): string {
    if (this.address === undefined) {
      throw new Error('FakeAwsEndpoint is not listening yet: await start() or listen() first');
    }
    return this.address;
  }

  /** An endpoint listening on a free port of 127.0.0.1. */
  static async start(options: FakeAwsEndpointOptions): Promise<FakeAwsEndpoint> {
    const endpoint = FakeAwsEndpoint.create(options);
    await endpoint.listen();
    return endpoint;
  }

  /** An endpoint that listens once `listen()` is awaited (see `fakeAwsEndpointForSuite`). */
  static create(options: FakeAwsEndpointOptions): FakeAwsEndpoint {
    return new FakeAwsEndpoint(options);
  }

  /** Listens on a free port of 127.0.0.1; `url` is known from then on. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.address = `http://127.0.0.1:${port}${this.options.prefix ?? ''}`;
  }

  /** Answers every request for `action` (after one-shot answers). */
  on(action: string, responder: FakeAwsResponder): this {
    this.routes.set(action, responder);
    return this;
  }

  /** A one-shot answer for the next request for `action` (`*`: any action). */
  once(action: string, responder: FakeAwsResponder): this {
    this.queue.push({ action, responder });
    return this;
  }

  /** Forgets requests, routes and one-shot answers. */
  reset(): void {
    this.requests.length = 0;
    this.routes.clear();
    this.queue.length = 0;
  }

  /** The requests for one action, in order. */
  requestsFor(action: string): FakeAwsRequest[] {
    return this.requests.filter((request) => request.action === action);
  }

  /** A fresh request id for answers. */
  nextRequestId(): string {
    this.requestCounter += 1;
    return `req-${String(this.requestCounter).padStart(6, '0')}`;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  regionFor(service: AwsService): string {
    return this.options.regions?.[service] ?? (service === 'iam' ? 'us-east-1' : 'eu-west-1');
  }

  private answer(request: FakeAwsRequest, response: ServerResponse): void {
    response.on('close', () => {
      if (!response.writableFinished) request.aborted = true;
    });
    const reply = this.reply(request);
    const send = (): void => {
      if (response.destroyed) return;
      const status = reply.status ?? 200;
      request.status = status;
      response.writeHead(status, {
        'content-type': 'text/xml;charset=UTF-8',
        ...('headers' in reply ? reply.headers : {}),
      });
      response.end(reply.body ?? '');
    };
    const delayMs = 'delayMs' in reply ? reply.delayMs : undefined;
    if (delayMs) {
      const timer = setTimeout(send, delayMs);
      response.once('close', () => clearTimeout(timer));
    } else send();
  }

  private reply(request: FakeAwsRequest): FakeAwsReply | XmlReply {
    const prefix = this.options.prefix ?? '';
    const requestId = this.nextRequestId();
    if (request.method !== 'POST' || request.path !== `${prefix}/`) {
      return { status: 404, body: `no AWS endpoint at ${request.method} ${request.path}` };
    }
    if (request.signature.problems.length > 0) {
      const message = `The request signature we calculated does not match: ${request.signature.problems.join('; ')}`;
      return request.service === 'iam'
        ? iamError(403, 'SignatureDoesNotMatch', message, requestId)
        : ec2Error(403, 'SignatureDoesNotMatch', message, requestId);
    }
    const action = request.action ?? '';
    const queued = this.queue.findIndex((entry) => entry.action === action || entry.action === '*');
    const [entry] = queued >= 0 ? this.queue.splice(queued, 1) : [];
    const responder = entry?.responder ?? this.routes.get(action);
    if (responder === undefined) {
      return request.service === 'iam'
        ? iamError(400, 'InvalidAction', `no scripted answer for ${action}`, requestId)
        : ec2Error(400, 'InvalidAction', `no scripted answer for ${action}`, requestId);
    }
    return responder(request);
  }
}

// ---------------------------------------------------------------------------
// SigV4

export interface SignedRequest {
  readonly method: string;
  /** The path as received (still percent-encoded). */
  readonly path: string;
  /** The query string without `?`. */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface ExpectedSigner {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When given, the credential scope must name them. */
  readonly region?: string;
  readonly service?: string;
}

/**
 * Checks an AWS Signature Version 4 `Authorization` header as AWS does:
 * the canonical request is rebuilt from what arrived and signed with the
 * secret key derived for the credential scope's date, region and service.
 */
export function verifySigV4(request: SignedRequest, expected: ExpectedSigner): SignatureCheck {
  const problems: string[] = [];
  const header = single(request.headers.authorization);
  if (header === undefined) return { problems: ['no Authorization header'] };
  const match =
    /^(\S+) Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$/.exec(
      header,
    );
  if (match === null) return { problems: [`malformed Authorization header`] };
  const [, algorithm, accessKeyId, date, region, service, terminator, signedText, signature] =
    match as unknown as [string, string, string, string, string, string, string, string, string];
  const signedHeaders = signedText.split(';');
  const check = { accessKeyId, date, region, service, signedHeaders };

  if (algorithm !== 'AWS4-HMAC-SHA256') problems.push(`algorithm ${algorithm}`);
  if (accessKeyId !== expected.accessKeyId) problems.push('unknown access key id');
  if (terminator !== 'aws4_request') problems.push(`scope terminator ${terminator}`);
  if (expected.region !== undefined && region !== expected.region) {
    problems.push(`scope region ${region}, expected ${expected.region}`);
  }
  if (expected.service !== undefined && service !== expected.service) {
    problems.push(`scope service ${service}, expected ${expected.service}`);
  }
  for (const required of ['host', 'x-amz-date']) {
    if (!signedHeaders.includes(required)) problems.push(`${required} is not signed`);
  }
  const amzDate = single(request.headers['x-amz-date']) ?? '';
  if (!/^\d{8}T\d{6}Z$/.test(amzDate)) problems.push('x-amz-date is missing or malformed');
  else if (amzDate.slice(0, 8) !== date) problems.push('scope date differs from x-amz-date');
  if ([...signedHeaders].sort().join(';') !== signedText)
    problems.push('signed headers not sorted');

  const payloadHash = sha256(request.body);
  const declared = single(request.headers['x-amz-content-sha256']);
  if (declared !== undefined && declared !== payloadHash && declared !== 'UNSIGNED-PAYLOAD') {
    problems.push('x-amz-content-sha256 does not match the body');
  }
  const canonicalRequest = [
    request.method,
    canonicalPath(request.path),
    canonicalQuery(request.query),
    signedHeaders
      .map(
        (name) => `${name}:${(single(request.headers[name]) ?? '').trim().replace(/\s+/g, ' ')}\n`,
      )
      .join(''),
    signedText,
    declared ?? payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${expected.secretAccessKey}`, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const computed = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (computed !== signature) problems.push('signature does not match');
  return { problems, ...check };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 encoding of each segment (the SDK escapes the path once more for non-S3 services). */
function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => rfc3986(segment))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return [...new URLSearchParams(query)]
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

// ---------------------------------------------------------------------------
// Connectors and payloads for the tests

export const TEST_ACCESS_KEY_ID = 'AKIAWARDENTEST000001';
export const TEST_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYwardenTEST';
export const TEST_SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEWardenTestSessionToken0123456789';

export interface TestNetworkAclEntry {
  readonly ruleNumber: number;
  readonly ruleAction: 'allow' | 'deny';
  readonly egress: boolean;
  readonly protocol?: string;
  readonly cidrBlock?: string;
  readonly ipv6CidrBlock?: string;
}

/** One `networkAclSet` item, as DescribeNetworkAcls answers. */
export function networkAclXml(
  id: string,
  entries: readonly TestNetworkAclEntry[],
  vpcId = 'vpc-0a1b2c3d4e5f60718',
): string {
  return networkAclItem({
    id,
    vpcId,
    isDefault: false,
    ownerId: '123456789012',
    entries: entries.map((entry) => ({ ...entry, protocol: entry.protocol ?? '-1' })),
  });
}

/** The entries every new network ACL has: allow-all 100 and the default deny 32767, both ways. */
export function defaultAclEntries(): TestNetworkAclEntry[] {
  return [false, true].flatMap((egress) => [
    { ruleNumber: 100, ruleAction: 'allow' as const, egress, cidrBlock: '0.0.0.0/0' },
    { ruleNumber: 32767, ruleAction: 'deny' as const, egress, cidrBlock: '0.0.0.0/0' },
  ]);
}

export function describeNetworkAclsXml(
  requestId: string,
  acls: readonly { id: string; entries: readonly TestNetworkAclEntry[] }[],
): XmlReply {
  const items = ec2Items(acls.map((acl) => networkAclXml(acl.id, acl.entries)));
  return ec2Response('DescribeNetworkAcls', requestId, `<networkAclSet>${items}</networkAclSet>`);
}

export interface TestSecurityGroupRule {
  readonly id: string;
  readonly groupId: string;
  readonly isEgress: boolean;
  readonly protocol?: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidrIpv4?: string;
  readonly cidrIpv6?: string;
}

export function securityGroupRuleXml(rule: TestSecurityGroupRule): string {
  return securityGroupRuleItem({
    ...rule,
    ownerId: '123456789012',
    protocol: rule.protocol ?? 'tcp',
    fromPort: rule.fromPort ?? 443,
    toPort: rule.toPort ?? 443,
  });
}

export interface TestAccessKey {
  readonly id: string;
  readonly status: 'Active' | 'Inactive';
  readonly created: string;
}

export function listAccessKeysXml(
  requestId: string,
  user: string,
  keys: readonly TestAccessKey[],
): XmlReply {
  return listAccessKeysResponse(requestId, user, keys);
}

/** Loads aws_ec2 / aws_iam instances from connectors.yaml text, as production does. */
export function loadAwsConnectors(
  yaml: string,
  secrets: Readonly<Record<string, string>>,
): ConnectorRegistry {
  return loadConnectorsFromYaml(yaml, {
    secrets,
    types: [AWS_EC2_CONNECTOR_TYPE, AWS_IAM_CONNECTOR_TYPE],
  });
}

/** The secrets the test connectors reference. */
export const TEST_SECRETS = {
  AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
};

/** connectors.yaml with one aws_ec2 (`network`) and one aws_iam (`iam`) instance. */
export function awsConnectorsYaml(
  endpoint: string,
  options: { timeout?: string; ec2Extra?: string; iamExtra?: string } = {},
): string {
  const common = `
    region: eu-west-1
    endpoint: ${endpoint}
    access_key_id: "\${secret:AWS_ACCESS_KEY_ID}"
    secret_access_key: "\${secret:AWS_SECRET_ACCESS_KEY}"
    timeout: ${options.timeout ?? '2s'}`;
  return `
connectors:
  network:
    type: aws_ec2${common}
    network_acl_id: acl-0a1b2c3d4e5f60718
    rule_numbers: 10-19
${options.ec2Extra ?? ''}
  iam:
    type: aws_iam${common}
${options.iamExtra ?? ''}
`;
}

/** A call with a fresh idempotency key, `aws-test-<n>`. */
export const testCall = numberedCalls('aws-test-');

/** The rejection of `promise`, which must be a ConnectorError. */
export { connectorFailure } from '../../../test/support/connector-test-kit.js';

/**
 * A FakeAwsEndpoint for the enclosing suite, taking the test credentials
 * (TEST_SECRETS) under `/aws`, as awsConnectorsYaml's instances expect: it
 * listens from a `beforeAll` hook (so hooks registered after this call can
 * read `url`), is emptied before each test and closed after the suite. After
 * each test, every request it received must carry a valid signature for
 * `signedFor.service` in `signedFor.region` (and have `signedFor.path`, when
 * given).
 */
export function fakeAwsEndpointForSuite(signedFor: {
  readonly service: AwsService;
  readonly region: string;
  readonly path?: string;
}): FakeAwsEndpoint {
  const aws = FakeAwsEndpoint.create({
    accessKeyId: TEST_ACCESS_KEY_ID,
    secretAccessKey: TEST_SECRET_ACCESS_KEY,
    prefix: '/aws',
  });
  beforeAll(() => aws.listen());
  afterAll(() => aws.close());
  beforeEach(() => aws.reset());
  afterEach(() => {
    for (const request of aws.requests) {
      expect(request.signature.problems, request.action).toEqual([]);
      expect(request.signature).toMatchObject({
        service: signedFor.service,
        region: signedFor.region,
      });
      if (signedFor.path !== undefined) expect(request.path).toBe(signedFor.path);
    }
  });
  return aws;
}
