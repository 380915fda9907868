import type * as Iam from '@aws-sdk/client-iam';
import {
  ConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonSchema,
  type JsonValue,
  type RateLimit,
  type Reconciliation,
} from '../connector.js';
import type { ConnectorTypeDefinition } from '../connector-config-reader.js';
import {
  AWS_COMMON_KEYS,
  iamSigningRegion,
  readAwsSettings,
  type AwsSettings,
} from './aws-settings.js';
import { AWS_REQUESTS_SCHEMA, AwsTransport, type AwsCallSession } from './aws-transport.js';
import { LazyAwsClient } from './lazy-aws-client.js';
import { accountStatusCommand } from './openc2.js';

/**
 * `type: aws_iam`: an IAM user's access keys — list them with when and
 * where each was last used, switch one off (`Inactive`) or back on. A key
 * already in the asked-for state is left alone, so repeating a call is
 * safe. See docs/connectors/aws.md.
 */

export function createAwsIamConnector(settings: AwsSettings): Connector {
  return new AwsIamConnector(settings);
}

/** `type: aws_iam` in connectors.yaml. */
export const AWS_IAM_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'aws_iam',
  keys: [...AWS_COMMON_KEYS],
  create({ name, config, reader }) {
    return createAwsIamConnector(readAwsSettings(name, config, reader));
  },
};

const MAX_PAGES = 20;
type KeyStatus = 'Active' | 'Inactive' | 'Expired';
const KEY_STATUSES: readonly KeyStatus[] = ['Active', 'Inactive', 'Expired'];

// ---------------------------------------------------------------------------
// Action schemas

const USER = {
  type: 'string',
  pattern: '^[\\w+=,.@-]{1,64}$',
  description: 'The IAM user name',
};
const ACCESS_KEY_ID = {
  type: 'string',
  pattern: '^\\w{16,128}$',
  description: 'The access key id, e.g. AKIAIOSFODNN7EXAMPLE',
};
const CASE = { type: ['integer', 'string'], description: 'The Warden case, for the record' };
const REASON = { type: 'string', maxLength: 1000, description: 'Why, for the record' };
const STATUS = { enum: KEY_STATUSES };

function object(properties: Record<string, JsonSchema>, required: readonly string[]): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

const KEY_CHANGE_INPUT = object(
  { user: USER, access_key_id: ACCESS_KEY_ID, reason: REASON, case: CASE },
  ['user', 'access_key_id'],
);
function keyChangeOutput(status: 'Active' | 'Inactive'): JsonSchema {
  return object(
    {
      user: { type: 'string' },
      access_key_id: { type: 'string' },
      status: { const: status },
      was: STATUS,
      aws_requests: AWS_REQUESTS_SCHEMA,
    },
    ['user', 'access_key_id', 'status', 'was', 'aws_requests'],
  );
}

const ACTIONS: Record<string, ConnectorActionSpec> = {
  list_access_keys: {
    name: 'list_access_keys',
    description: "A user's access keys, with when, where and for what each was last used",
    effect: 'read',
    inputSchema: object({ user: USER }, ['user']),
    outputSchema: object(
      {
        user: { type: 'string' },
        keys: {
          type: 'array',
          items: object(
            {
              access_key_id: { type: 'string' },
              status: STATUS,
              created_at: { type: ['string', 'null'] },
              last_used_at: { type: ['string', 'null'] },
              last_used_service: { type: ['string', 'null'] },
              last_used_region: { type: ['string', 'null'] },
            },
            [
              'access_key_id',
              'status',
              'created_at',
              'last_used_at',
              'last_used_service',
              'last_used_region',
            ],
          ),
        },
        aws_requests: AWS_REQUESTS_SCHEMA,
      },
      ['user', 'keys', 'aws_requests'],
    ),
  },
  disable_access_key: {
    name: 'disable_access_key',
    description: "Set a user's access key to Inactive (AWS then refuses requests signed with it)",
    effect: 'write',
    inputSchema: KEY_CHANGE_INPUT,
    outputSchema: keyChangeOutput('Inactive'),
  },
  enable_access_key: {
    name: 'enable_access_key',
    description: "Set a user's access key back to Active (the undo of disable_access_key)",
    effect: 'write',
    inputSchema: KEY_CHANGE_INPUT,
    outputSchema: keyChangeOutput('Active'),
  },
};

// ---------------------------------------------------------------------------
// The connector

type JsonObject = { [key: string]: JsonValue };

class AwsIamConnector implements Connector {
  readonly type = 'aws_iam';
  readonly name: string;
  readonly actions = ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly transport: AwsTransport;
  private readonly aws: LazyAwsClient<typeof Iam, Iam.IAMClient>;

  constructor(settings: AwsSettings) {
    this.name = settings.name;
    this.concurrency = settings.concurrency;
    if (settings.rateLimit) this.rateLimit = settings.rateLimit;
    this.transport = new AwsTransport(settings);
    this.aws = new LazyAwsClient(
      settings.name,
      () => import('@aws-sdk/client-iam'),
      (sdk) => new sdk.IAMClient(this.transport.clientConfig(iamSigningRegion(settings.region))),
    );
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    await this.aws.load();
    const session = this.transport.session(`${this.name}.${call.action}`, call.signal);
    const input = asObject(call.input);
    const user = text(input, 'user');
    switch (call.action) {
      case 'list_access_keys':
        return this.listAccessKeys(session, user);
      case 'disable_access_key':
        return this.setStatus(session, user, text(input, 'access_key_id'), 'Inactive');
      case 'enable_access_key':
        return this.setStatus(session, user, text(input, 'access_key_id'), 'Active');
      default:
        throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
  }

  /** Lists the user's keys: `done` when the key has the asked-for status, else `not_done`. */
  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    await this.aws.load();
    const target =
      call.action === 'disable_access_key'
        ? 'Inactive'
        : call.action === 'enable_access_key'
          ? 'Active'
          : undefined;
    if (target === undefined) return { state: 'not_done' };
    const session = this.transport.session(`${this.name}.${call.action} (reconcile)`, call.signal);
    const input = asObject(call.input);
    const user = text(input, 'user');
    const accessKeyId = text(input, 'access_key_id');
    try {
      const key = (await this.keys(session, user)).find((k) => k.AccessKeyId === accessKeyId);
      if (key?.Status !== target) return { state: 'not_done' };
      return {
        state: 'done',
        result: this.changeResult(session, user, accessKeyId, target, target),
      };
    } catch (error) {
      if (error instanceof ConnectorError) return { state: 'unknown', error };
      throw error;
    }
  }

  private async listAccessKeys(session: AwsCallSession, user: string): Promise<ConnectorResult> {
    const keys = await this.keys(session, user);
    const described: JsonObject[] = [];
    for (const key of keys) {
      const accessKeyId = key.AccessKeyId ?? '';
      const command = new this.aws.sdk.GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId });
      const answer = await session.send('GetAccessKeyLastUsed', command, (options) =>
        this.aws.client.send(command, options),
      );
      const lastUsed = answer.AccessKeyLastUsed;
      described.push({
        access_key_id: accessKeyId,
        status: statusOf(key),
        created_at: isoTime(key.CreateDate),
        last_used_at: isoTime(lastUsed?.LastUsedDate),
        // IAM says "N/A" for a key never used since it began tracking.
        last_used_service: knownValue(lastUsed?.ServiceName),
        last_used_region: knownValue(lastUsed?.Region),
      });
    }
    return session.result({ user, keys: described });
  }

  private async setStatus(
    session: AwsCallSession,
    user: string,
    accessKeyId: string,
    target: 'Active' | 'Inactive',
  ): Promise<ConnectorResult> {
    const key = (await this.keys(session, user)).find((k) => k.AccessKeyId === accessKeyId);
    if (key === undefined) {
      throw session.fail('rejected', `IAM user ${user} has no access key ${accessKeyId}`);
    }
    const was = statusOf(key);
    if (was !== target) {
      const command = new this.aws.sdk.UpdateAccessKeyCommand({
        UserName: user,
        AccessKeyId: accessKeyId,
        Status: target,
      });
      await session.send('UpdateAccessKey', command, (options) =>
        this.aws.client.send(command, options),
      );
    }
    return this.changeResult(session, user, accessKeyId, target, was);
  }

  private changeResult(
    session: AwsCallSession,
    user: string,
    accessKeyId: string,
    status: 'Active' | 'Inactive',
    was: KeyStatus,
  ): ConnectorResult {
    return session.result(
      { user, access_key_id: accessKeyId, status, was },
      accountStatusCommand(user, status === 'Inactive' ? 'disabled' : 'enabled'),
    );
  }

  private async keys(session: AwsCallSession, user: string): Promise<Iam.AccessKeyMetadata[]> {
    const keys: Iam.AccessKeyMetadata[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const command = new this.aws.sdk.ListAccessKeysCommand({
        UserName: user,
        ...(marker === undefined ? {} : { Marker: marker }),
      });
      const answer = await session.send('ListAccessKeys', command, (options) =>
        this.aws.client.send(command, options),
      );
      keys.push(...(answer.AccessKeyMetadata ?? []));
      marker = answer.IsTruncated ? answer.Marker : undefined;
      if (marker === undefined) return keys;
    }
    throw session.fail(
      'invalid_output',
      `ListAccessKeys for ${user} did not end after ${MAX_PAGES} pages`,
    );
  }
}

function asObject(input: JsonValue): JsonObject {
  return typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {};
}

/** A string input field (the schema has checked it is one). */
function text(input: JsonObject, key: string): string {
  const value = input[key];
  return typeof value === 'string' ? value : '';
}

function statusOf(key: Iam.AccessKeyMetadata): KeyStatus {
  // An unknown status counts as Active, so a disable is never skipped for it.
  return KEY_STATUSES.find((status) => status === key.Status) ?? 'Active';
}

function isoTime(value: Date | undefined): string | null {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : null;
}

function knownValue(value: string | undefined): string | null {
  return value === undefined || value === '' || value === 'N/A' ? null : value;
}
