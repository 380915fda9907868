import { beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../connector.js';
import { iamError, iamResponse, xmlFields } from './aws-query-xml.js';
import {
  TEST_SECRETS,
  awsConnectorsYaml,
  connectorFailure,
  fakeAwsEndpointForSuite,
  listAccessKeysXml,
  loadAwsConnectors,
  testCall,
  type TestAccessKey,
} from './fake-aws-endpoint.test-support.js';

const USER = 'contractor-42';
const ACTIVE = 'AKIAIOSFODNN7EXAMPLE';
const INACTIVE = 'AKIAI44QH8DHBEXAMPLE';

describe('aws_iam', () => {
  // IAM is signed for the global endpoint's region, whatever region the instance names.
  const aws = fakeAwsEndpointForSuite({ service: 'iam', region: 'us-east-1' });
  let iam: Connector;

  beforeAll(() => {
    iam = loadAwsConnectors(awsConnectorsYaml(aws.url), TEST_SECRETS).get('iam');
  });

  function keys(list: TestAccessKey[]): void {
    aws.on('ListAccessKeys', (request) => {
      expect(request.params.get('UserName')).toBe(USER);
      return listAccessKeysXml('r-list', USER, list);
    });
  }
  const active = { id: ACTIVE, status: 'Active', created: '2024-11-02T09:15:00Z' } as const;
  const inactive = { id: INACTIVE, status: 'Inactive', created: '2023-01-20T16:40:12Z' } as const;

  describe('list_access_keys', () => {
    it('lists the keys with when, where and for what each was last used', async () => {
      keys([active, inactive]);
      aws.on('GetAccessKeyLastUsed', (request) => {
        const id = request.params.get('AccessKeyId');
        const used =
          id === ACTIVE
            ? xmlFields({
                LastUsedDate: '2025-03-01T11:58:00Z',
                ServiceName: 'bedrock',
                Region: 'us-east-1',
              })
            : xmlFields({ ServiceName: 'N/A', Region: 'N/A' });
        return iamResponse(
          'GetAccessKeyLastUsed',
          `r-used-${id}`,
          `<AccessKeyLastUsed>${used}</AccessKeyLastUsed>${xmlFields({ UserName: USER })}`,
        );
      });
      const result = await iam.invoke(testCall('list_access_keys', { user: USER }));
      expect(result.output).toEqual({
        user: USER,
        keys: [
          {
            access_key_id: ACTIVE,
            status: 'Active',
            created_at: '2024-11-02T09:15:00.000Z',
            last_used_at: '2025-03-01T11:58:00.000Z',
            last_used_service: 'bedrock',
            last_used_region: 'us-east-1',
          },
          {
            access_key_id: INACTIVE,
            status: 'Inactive',
            created_at: '2023-01-20T16:40:12.000Z',
            last_used_at: null,
            last_used_service: null,
            last_used_region: null,
          },
        ],
        aws_requests: [
          { action: 'ListAccessKeys', status: 200, request_id: 'r-list' },
          { action: 'GetAccessKeyLastUsed', status: 200, request_id: `r-used-${ACTIVE}` },
          { action: 'GetAccessKeyLastUsed', status: 200, request_id: `r-used-${INACTIVE}` },
        ],
      });
      expect(aws.requests.map((request) => Object.fromEntries(request.params))).toEqual([
        { Action: 'ListAccessKeys', Version: '2010-05-08', UserName: USER },
        { Action: 'GetAccessKeyLastUsed', Version: '2010-05-08', AccessKeyId: ACTIVE },
        { Action: 'GetAccessKeyLastUsed', Version: '2010-05-08', AccessKeyId: INACTIVE },
      ]);
      // The exchange is the last request's.
      expect(result.exchange?.requestBody).toContain(`AccessKeyId=${INACTIVE}`);
      expect(result.exchange?.requestHeaders.authorization).toMatch(
        /Credential=\$\{secret:AWS_ACCESS_KEY_ID\}\/\d{8}\/us-east-1\/iam\/aws4_request/,
      );
    });

    it('follows IsTruncated pages', async () => {
      aws.once('ListAccessKeys', () =>
        iamResponse(
          'ListAccessKeys',
          'r1',
          `<AccessKeyMetadata><member>${xmlFields({ UserName: USER, AccessKeyId: ACTIVE, Status: 'Active' })}</member></AccessKeyMetadata><IsTruncated>true</IsTruncated><Marker>page-2</Marker>`,
        ),
      );
      aws.once('ListAccessKeys', (request) => {
        expect(request.params.get('Marker')).toBe('page-2');
        return listAccessKeysXml('r2', USER, [inactive]);
      });
      aws.on('GetAccessKeyLastUsed', () =>
        iamResponse(
          'GetAccessKeyLastUsed',
          'r',
          '<AccessKeyLastUsed><ServiceName>N/A</ServiceName><Region>N/A</Region></AccessKeyLastUsed>',
        ),
      );
      const result = await iam.invoke(testCall('list_access_keys', { user: USER }));
      expect(
        (result.output as { keys: { access_key_id: string }[] }).keys.map((k) => k.access_key_id),
      ).toEqual([ACTIVE, INACTIVE]);
    });

    it('reports an unknown user (NoSuchEntity, 404) as rejected', async () => {
      aws.on('ListAccessKeys', () =>
        iamError(404, 'NoSuchEntity', `The user with name ${USER} cannot be found.`, 'r-404'),
      );
      const error = await connectorFailure(
        iam.invoke(testCall('list_access_keys', { user: USER })),
      );
      expect(error).toMatchObject({ code: 'rejected', retryable: false, status: 404 });
      expect(error.message).toBe(
        `iam.list_access_keys: ListAccessKeys: HTTP 404: NoSuchEntity: The user with name ${USER} cannot be found.`,
      );
    });
  });

  describe('disable_access_key', () => {
    it('sets an active key Inactive and says it was Active', async () => {
      keys([active, inactive]);
      aws.on('UpdateAccessKey', () => iamResponse('UpdateAccessKey', 'r-update'));
      const result = await iam.invoke(
        testCall('disable_access_key', {
          user: USER,
          access_key_id: ACTIVE,
          case: 7,
          reason: 'leaked',
        }),
      );
      expect(Object.fromEntries(aws.requestsFor('UpdateAccessKey')[0]?.params ?? [])).toEqual({
        Action: 'UpdateAccessKey',
        Version: '2010-05-08',
        UserName: USER,
        AccessKeyId: ACTIVE,
        Status: 'Inactive',
      });
      expect(result.output).toEqual({
        user: USER,
        access_key_id: ACTIVE,
        status: 'Inactive',
        was: 'Active',
        aws_requests: [
          { action: 'ListAccessKeys', status: 200, request_id: 'r-list' },
          { action: 'UpdateAccessKey', status: 200, request_id: 'r-update' },
        ],
      });
      expect(result.openc2).toEqual({
        action: 'set',
        target: { er: { account: { account_name: USER } } },
        args: { er: { account_status: 'disabled' } },
        actuator: { er: {} },
      });
      expect(result.exchange?.requestBody).toContain('Action=UpdateAccessKey');
    });

    it('leaves an inactive key alone: no update, was Inactive', async () => {
      keys([active, inactive]);
      const result = await iam.invoke(
        testCall('disable_access_key', { user: USER, access_key_id: INACTIVE }),
      );
      expect(aws.requestsFor('UpdateAccessKey')).toHaveLength(0);
      expect(result.output).toMatchObject({ status: 'Inactive', was: 'Inactive' });
      expect(result.openc2).toMatchObject({ args: { er: { account_status: 'disabled' } } });
    });

    it('rejects a key the user does not have, without updating', async () => {
      keys([active]);
      const error = await connectorFailure(
        iam.invoke(
          testCall('disable_access_key', { user: USER, access_key_id: 'AKIAUNKNOWNKEY000000' }),
        ),
      );
      expect(error).toMatchObject({ code: 'rejected', retryable: false });
      expect(error.message).toContain(`${USER} has no access key AKIAUNKNOWNKEY000000`);
      expect(aws.requestsFor('UpdateAccessKey')).toHaveLength(0);
    });

    it('reports AccessDenied as unauthorized', async () => {
      keys([active]);
      aws.on('UpdateAccessKey', () =>
        iamError(
          403,
          'AccessDenied',
          'User: arn:aws:iam::123456789012:user/warden is not authorized to perform: iam:UpdateAccessKey',
          'r',
        ),
      );
      const error = await connectorFailure(
        iam.invoke(testCall('disable_access_key', { user: USER, access_key_id: ACTIVE })),
      );
      expect(error).toMatchObject({ code: 'unauthorized', retryable: false, status: 403 });
      expect(error.exchange?.requestBody).toContain('Action=UpdateAccessKey');
    });
  });

  describe('enable_access_key', () => {
    it('sets an inactive key Active (the undo)', async () => {
      keys([active, inactive]);
      aws.on('UpdateAccessKey', () => iamResponse('UpdateAccessKey', 'r-update'));
      const result = await iam.invoke(
        testCall('enable_access_key', { user: USER, access_key_id: INACTIVE }),
      );
      expect(aws.requestsFor('UpdateAccessKey')[0]?.params.get('Status')).toBe('Active');
      expect(result.output).toMatchObject({ status: 'Active', was: 'Inactive' });
      expect(result.openc2).toMatchObject({ args: { er: { account_status: 'enabled' } } });
    });
  });

  describe('reconcile', () => {
    it('answers done when the key has the status asked for, not_done otherwise', async () => {
      keys([active, inactive]);
      const done = await iam.reconcile?.(
        testCall('disable_access_key', { user: USER, access_key_id: INACTIVE }),
      );
      expect(done?.state).toBe('done');
      if (done?.state === 'done') {
        expect(done.result.output).toMatchObject({ status: 'Inactive', was: 'Inactive' });
      }
      const notDone = await iam.reconcile?.(
        testCall('disable_access_key', { user: USER, access_key_id: ACTIVE }),
      );
      expect(notDone?.state).toBe('not_done');
      const enabled = await iam.reconcile?.(
        testCall('enable_access_key', { user: USER, access_key_id: ACTIVE }),
      );
      expect(enabled?.state).toBe('done');
      expect(aws.requestsFor('UpdateAccessKey')).toHaveLength(0);
    });

    it('answers unknown when ListAccessKeys fails', async () => {
      aws.on('ListAccessKeys', () => iamError(500, 'ServiceFailure', 'failure', 'r'));
      const answer = await iam.reconcile?.(
        testCall('disable_access_key', { user: USER, access_key_id: ACTIVE }),
      );
      expect(answer?.state).toBe('unknown');
      if (answer?.state === 'unknown') expect(answer.error?.code).toBe('unavailable');
    });
  });
});
