import type * as Ec2 from '@aws-sdk/client-ec2';
import type { Fields } from '../../config/yaml-source.js';
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
import { AWS_COMMON_KEYS, readAwsSettings, type AwsSettings } from './aws-settings.js';
import { AWS_REQUESTS_SCHEMA, AwsTransport, type AwsCallSession } from './aws-transport.js';
import { LazyAwsClient } from './lazy-aws-client.js';
import { parseIpRange, sameIpRange, type IpRange } from './ip-ranges.js';
import { deleteRuleCommand, denyIpRangeCommand, type TrafficDirection } from './openc2.js';

/**
 * `type: aws_ec2`: network containment of an IP range in a VPC. Security
 * groups can only allow, so the deny is a network ACL entry (all protocols,
 * rule action deny) numbered from a configured range; the undo deletes it.
 * Allow rules for a range can also be revoked from a security group.
 * Every write looks at the current state first, so repeating one is safe.
 * See docs/connectors/aws.md.
 */

export interface AwsEc2Settings extends AwsSettings {
  /** The ACL used when an action's input names none. */
  readonly networkAclId?: string;
  /** Rule numbers Warden may use for its deny entries, inclusive. */
  readonly ruleNumbers: { readonly first: number; readonly last: number };
}

export const AWS_EC2_DEFAULT_RULE_NUMBERS = Object.freeze({ first: 1, last: 99 });
/** The default entry every network ACL ends with; it can be neither created nor deleted. */
const DEFAULT_RULE_NUMBER = 32767;
const MAX_RULE_NUMBER = 32766;
/** Another writer may take the number picked between the lookup and the create. */
const RULE_NUMBER_ATTEMPTS = 3;
const MAX_PAGES = 20;

export function createAwsEc2Connector(settings: AwsEc2Settings): Connector {
  return new AwsEc2Connector(settings);
}

/** `type: aws_ec2` in connectors.yaml. */
export const AWS_EC2_CONNECTOR_TYPE: ConnectorTypeDefinition = {
  type: 'aws_ec2',
  keys: [...AWS_COMMON_KEYS, 'network_acl_id', 'rule_numbers'],
  create({ name, config, reader }) {
    const settings = readAwsSettings(name, config, reader);
    const networkAclId = reader.plainString(config, 'network_acl_id', false);
    if (networkAclId !== undefined && !NETWORK_ACL_ID.test(networkAclId)) {
      config.fail('network_acl_id', 'must be a network ACL id such as acl-0123456789abcdef0');
    }
    return createAwsEc2Connector({
      ...settings,
      ...(networkAclId === undefined ? {} : { networkAclId }),
      ruleNumbers: readRuleNumbers(config) ?? AWS_EC2_DEFAULT_RULE_NUMBERS,
    });
  },
};

const NETWORK_ACL_ID = /^acl-[0-9a-z]{1,32}$/;

/** `rule_numbers: 1-99` (or a single number). */
function readRuleNumbers(config: Fields): { first: number; last: number } | undefined {
  let range: { first: number; last: number } | undefined;
  config.withUnits('rule_numbers', (raw, field) => {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(String(raw));
    const first = Number(match?.[1]);
    const last = match?.[2] === undefined ? first : Number(match[2]);
    if (match === null || first < 1 || last > MAX_RULE_NUMBER || first > last) {
      config.fail(
        'rule_numbers',
        `must be a range of network ACL rule numbers such as 1-99, within 1-${MAX_RULE_NUMBER} (${field})`,
      );
    }
    range = { first, last };
    return 0;
  });
  return range;
}

// ---------------------------------------------------------------------------
// Action schemas

const CIDR_PATTERN =
  '^(?:(?:\\d{1,3}\\.){3}\\d{1,3}(?:/\\d{1,2})?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:/\\d{1,3})?)$';
const CIDR = {
  type: 'string',
  pattern: CIDR_PATTERN,
  description: 'IPv4 or IPv6 range, e.g. 203.0.113.0/24; a bare address means /32 (/128)',
};
const NETWORK_ACL = {
  type: 'string',
  pattern: NETWORK_ACL_ID.source,
  description: "The network ACL; default: the instance's network_acl_id",
};
const DIRECTION = { enum: ['ingress', 'egress'] };
const RULE_NUMBER = { type: 'integer', minimum: 1, maximum: MAX_RULE_NUMBER };
const CASE = { type: ['integer', 'string'], description: 'The Warden case, for the record' };
const REASON = { type: 'string', maxLength: 1000, description: 'Why, for the record' };
const GROUP_ID = { type: 'string', pattern: '^sg-[0-9a-z]{1,32}$' };

const DENY_ENTRY = {
  type: 'object',
  properties: {
    rule_number: { type: 'integer' },
    cidr: { type: 'string' },
    direction: DIRECTION,
    protocol: { type: 'string' },
  },
  required: ['rule_number', 'cidr', 'direction', 'protocol'],
  additionalProperties: false,
};

function object(properties: Record<string, JsonSchema>, required: readonly string[]): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}

const ACTIONS: Record<string, ConnectorActionSpec> = {
  deny_ip_range: {
    name: 'deny_ip_range',
    description:
      'Deny all traffic from (ingress) or to (egress) an IP range with a network ACL entry',
    effect: 'write',
    inputSchema: object(
      {
        cidr: CIDR,
        network_acl_id: NETWORK_ACL,
        rule_number: {
          ...RULE_NUMBER,
          description: 'Default: the lowest free number in rule_numbers',
        },
        direction: { ...DIRECTION, description: 'Default: ingress' },
        reason: REASON,
        case: CASE,
      },
      ['cidr'],
    ),
    outputSchema: object(
      {
        network_acl_id: { type: 'string' },
        rule_number: { type: 'integer' },
        cidr: { type: 'string' },
        direction: DIRECTION,
        already_present: { type: 'boolean' },
        aws_requests: AWS_REQUESTS_SCHEMA,
      },
      ['network_acl_id', 'rule_number', 'cidr', 'direction', 'already_present', 'aws_requests'],
    ),
  },
  remove_deny: {
    name: 'remove_deny',
    description: 'Delete the network ACL deny entries for an IP range (the undo of deny_ip_range)',
    effect: 'write',
    inputSchema: object(
      {
        cidr: CIDR,
        network_acl_id: NETWORK_ACL,
        direction: { ...DIRECTION, description: 'Default: both directions' },
        reason: REASON,
        case: CASE,
      },
      ['cidr'],
    ),
    outputSchema: object(
      {
        network_acl_id: { type: 'string' },
        cidr: { type: 'string' },
        removed: {
          type: 'array',
          items: object({ rule_number: { type: 'integer' }, direction: DIRECTION }, [
            'rule_number',
            'direction',
          ]),
        },
        already_absent: { type: 'boolean' },
        aws_requests: AWS_REQUESTS_SCHEMA,
      },
      ['network_acl_id', 'cidr', 'removed', 'already_absent', 'aws_requests'],
    ),
  },
  revoke_security_group_ingress: {
    name: 'revoke_security_group_ingress',
    description: 'Remove the inbound allow rules of a security group for an IP range',
    effect: 'write',
    inputSchema: object({ group_id: GROUP_ID, cidr: CIDR, reason: REASON, case: CASE }, [
      'group_id',
      'cidr',
    ]),
    outputSchema: object(
      {
        group_id: { type: 'string' },
        cidr: { type: 'string' },
        revoked_rule_ids: { type: 'array', items: { type: 'string' } },
        already_absent: { type: 'boolean' },
        aws_requests: AWS_REQUESTS_SCHEMA,
      },
      ['group_id', 'cidr', 'revoked_rule_ids', 'already_absent', 'aws_requests'],
    ),
  },
  list_deny_entries: {
    name: 'list_deny_entries',
    description: 'The deny entries of a network ACL (without the default rule 32767)',
    effect: 'read',
    inputSchema: object({ network_acl_id: NETWORK_ACL }, []),
    outputSchema: object(
      {
        network_acl_id: { type: 'string' },
        vpc_id: { type: ['string', 'null'] },
        entries: { type: 'array', items: DENY_ENTRY },
        aws_requests: AWS_REQUESTS_SCHEMA,
      },
      ['network_acl_id', 'vpc_id', 'entries', 'aws_requests'],
    ),
  },
};

// ---------------------------------------------------------------------------
// The connector

type JsonObject = { [key: string]: JsonValue };

interface DenyEntry {
  readonly ruleNumber: number;
  readonly cidr: string;
  readonly direction: TrafficDirection;
  readonly protocol: string;
}

class AwsEc2Connector implements Connector {
  readonly type = 'aws_ec2';
  readonly name: string;
  readonly actions = ACTIONS;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly transport: AwsTransport;
  private readonly aws: LazyAwsClient<typeof Ec2, Ec2.EC2Client>;
  /** Deny writes to one ACL run one at a time, so two calls never pick the same number. */
  private readonly aclLocks = new Map<string, Promise<void>>();

  constructor(private readonly settings: AwsEc2Settings) {
    this.name = settings.name;
    this.concurrency = settings.concurrency;
    if (settings.rateLimit) this.rateLimit = settings.rateLimit;
    this.transport = new AwsTransport(settings);
    this.aws = new LazyAwsClient(
      settings.name,
      () => import('@aws-sdk/client-ec2'),
      (sdk) => new sdk.EC2Client(this.transport.clientConfig(settings.region)),
    );
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    await this.aws.load();
    const session = this.transport.session(`${this.name}.${call.action}`, call.signal);
    const input = asObject(call.input);
    switch (call.action) {
      case 'deny_ip_range':
        return this.denyIpRange(session, input);
      case 'remove_deny':
        return this.removeDeny(session, input);
      case 'revoke_security_group_ingress':
        return this.revokeIngress(session, input);
      case 'list_deny_entries':
        return this.listDenyEntries(session, input);
      default:
        throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
  }

  /**
   * Looks the effect up: `done` when the ACL (or security group) is in the
   * state the call asked for, `not_done` when not, `unknown` when the lookup
   * fails.
   */
  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    await this.aws.load();
    const session = this.transport.session(`${this.name}.${call.action} (reconcile)`, call.signal);
    const input = asObject(call.input);
    try {
      switch (call.action) {
        case 'deny_ip_range': {
          const { range, direction, aclId } = this.denyTarget(session, input);
          const acl = await this.describeAcl(session, aclId);
          const entry = findDeny(acl, range, direction);
          if (entry === undefined) return { state: 'not_done' };
          return { state: 'done', result: this.denyResult(session, aclId, entry, range, true) };
        }
        case 'remove_deny': {
          const range = this.range(session, input);
          const aclId = this.aclId(session, input);
          const direction = optionalDirection(input);
          const acl = await this.describeAcl(session, aclId);
          if (denyEntries(acl).some((entry) => matches(entry, range, direction))) {
            return { state: 'not_done' };
          }
          return { state: 'done', result: this.removeResult(session, aclId, range, []) };
        }
        case 'revoke_security_group_ingress': {
          const range = this.range(session, input);
          const groupId = text(input, 'group_id');
          const rules = await this.groupRules(session, groupId);
          if (ingressRulesFor(rules, range).length > 0) return { state: 'not_done' };
          return { state: 'done', result: this.revokeResult(session, groupId, range, []) };
        }
        default:
          return { state: 'not_done' };
      }
    } catch (error) {
      if (error instanceof ConnectorError) {
        // A call whose input we refuse was never sent.
        if (error.code === 'invalid_input') return { state: 'not_done' };
        return { state: 'unknown', error };
      }
      throw error;
    }
  }

  // -------------------------------------------------------------------------
  // Actions

  private async denyIpRange(session: AwsCallSession, input: JsonObject): Promise<ConnectorResult> {
    const { range, direction, aclId } = this.denyTarget(session, input);
    const requested = typeof input.rule_number === 'number' ? input.rule_number : undefined;
    return this.withAclLock(aclId, session, async () => {
      for (let attempt = 1; ; attempt += 1) {
        const acl = await this.describeAcl(session, aclId);
        const present = findDeny(acl, range, direction);
        if (present !== undefined) {
          return this.denyResult(session, aclId, present, range, true);
        }
        const taken = new Set(
          (acl.Entries ?? [])
            .filter((entry) => (entry.Egress ?? false) === (direction === 'egress'))
            .map((entry) => entry.RuleNumber),
        );
        const ruleNumber = requested ?? this.freeRuleNumber(taken);
        if (ruleNumber === undefined) {
          const { first, last } = this.settings.ruleNumbers;
          throw session.fail(
            'rejected',
            `no free ${direction} rule number in ${first}-${last} of ${aclId} (widen rule_numbers or remove old denies)`,
          );
        }
        if (requested !== undefined && taken.has(requested)) {
          throw session.fail(
            'rejected',
            `${direction} rule ${requested} of ${aclId} is taken by another entry`,
          );
        }
        try {
          const command = new this.aws.sdk.CreateNetworkAclEntryCommand({
            NetworkAclId: aclId,
            RuleNumber: ruleNumber,
            Protocol: '-1',
            RuleAction: 'deny',
            Egress: direction === 'egress',
            ...(range.family === 4 ? { CidrBlock: range.cidr } : { Ipv6CidrBlock: range.cidr }),
          });
          await session.send('CreateNetworkAclEntry', command, (options) =>
            this.aws.client.send(command, options),
          );
        } catch (error) {
          // Someone else took the number we picked since the lookup: look again.
          const raced =
            requested === undefined &&
            attempt < RULE_NUMBER_ATTEMPTS &&
            error instanceof ConnectorError &&
            error.code === 'rejected' &&
            error.message.includes('NetworkAclEntryAlreadyExists');
          if (raced) continue;
          throw error;
        }
        const created = { ruleNumber, cidr: range.cidr, direction, protocol: '-1' };
        return this.denyResult(session, aclId, created, range, false);
      }
    });
  }

  private async removeDeny(session: AwsCallSession, input: JsonObject): Promise<ConnectorResult> {
    const range = this.range(session, input);
    const aclId = this.aclId(session, input);
    const direction = optionalDirection(input);
    return this.withAclLock(aclId, session, async () => {
      const acl = await this.describeAcl(session, aclId);
      const targets = denyEntries(acl).filter((entry) => matches(entry, range, direction));
      const removed: DenyEntry[] = [];
      for (const entry of targets) {
        try {
          const command = new this.aws.sdk.DeleteNetworkAclEntryCommand({
            NetworkAclId: aclId,
            RuleNumber: entry.ruleNumber,
            Egress: entry.direction === 'egress',
          });
          await session.send('DeleteNetworkAclEntry', command, (options) =>
            this.aws.client.send(command, options),
          );
        } catch (error) {
          // Already gone (another writer, or an earlier attempt): the goal holds.
          const gone =
            error instanceof ConnectorError &&
            error.code === 'rejected' &&
            error.message.includes('InvalidNetworkAclEntry.NotFound');
          if (!gone) throw error;
        }
        removed.push(entry);
      }
      return this.removeResult(session, aclId, range, removed);
    });
  }

  private async revokeIngress(
    session: AwsCallSession,
    input: JsonObject,
  ): Promise<ConnectorResult> {
    const range = this.range(session, input);
    const groupId = text(input, 'group_id');
    const rules = await this.groupRules(session, groupId);
    if (rules.length === 0) await this.checkGroupExists(session, groupId);
    const ruleIds = ingressRulesFor(rules, range).flatMap((rule) =>
      rule.SecurityGroupRuleId === undefined ? [] : [rule.SecurityGroupRuleId],
    );
    if (ruleIds.length === 0) return this.revokeResult(session, groupId, range, []);
    const command = new this.aws.sdk.RevokeSecurityGroupIngressCommand({
      GroupId: groupId,
      SecurityGroupRuleIds: ruleIds,
    });
    const answer = await session.send('RevokeSecurityGroupIngress', command, (options) =>
      this.aws.client.send(command, options),
    );
    if (answer.Return === false) {
      throw session.fail('rejected', `RevokeSecurityGroupIngress returned false for ${groupId}`);
    }
    const revoked = (answer.RevokedSecurityGroupRules ?? []).flatMap((rule) =>
      rule.SecurityGroupRuleId === undefined ? [] : [rule.SecurityGroupRuleId],
    );
    return this.revokeResult(session, groupId, range, revoked.length > 0 ? revoked : ruleIds);
  }

  private async listDenyEntries(
    session: AwsCallSession,
    input: JsonObject,
  ): Promise<ConnectorResult> {
    const aclId = this.aclId(session, input);
    const acl = await this.describeAcl(session, aclId);
    const entries = denyEntries(acl).map((entry) => ({
      rule_number: entry.ruleNumber,
      cidr: entry.cidr,
      direction: entry.direction,
      protocol: entry.protocol,
    }));
    return session.result({ network_acl_id: aclId, vpc_id: acl.VpcId ?? null, entries });
  }

  // -------------------------------------------------------------------------
  // Lookups

  private async describeAcl(session: AwsCallSession, aclId: string): Promise<Ec2.NetworkAcl> {
    const command = new this.aws.sdk.DescribeNetworkAclsCommand({ NetworkAclIds: [aclId] });
    const answer = await session.send('DescribeNetworkAcls', command, (options) =>
      this.aws.client.send(command, options),
    );
    const acl = answer.NetworkAcls?.find((candidate) => candidate.NetworkAclId === aclId);
    if (acl === undefined) throw session.fail('rejected', `network ACL ${aclId} was not found`);
    return acl;
  }

  private async groupRules(
    session: AwsCallSession,
    groupId: string,
  ): Promise<Ec2.SecurityGroupRule[]> {
    const rules: Ec2.SecurityGroupRule[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const command = new this.aws.sdk.DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [groupId] }],
        MaxResults: 1000,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      });
      const answer = await session.send('DescribeSecurityGroupRules', command, (options) =>
        this.aws.client.send(command, options),
      );
      rules.push(...(answer.SecurityGroupRules ?? []));
      nextToken = answer.NextToken || undefined;
      if (nextToken === undefined) return rules;
    }
    throw session.fail('invalid_output', `${groupId} has more rules than ${MAX_PAGES} pages`);
  }

  /** A filter on an unknown group answers nothing; ask for the group so a typo is an error. */
  private async checkGroupExists(session: AwsCallSession, groupId: string): Promise<void> {
    const command = new this.aws.sdk.DescribeSecurityGroupsCommand({ GroupIds: [groupId] });
    await session.send('DescribeSecurityGroups', command, (options) =>
      this.aws.client.send(command, options),
    );
  }

  // -------------------------------------------------------------------------
  // Inputs and results

  private denyTarget(
    session: AwsCallSession,
    input: JsonObject,
  ): { range: IpRange; direction: TrafficDirection; aclId: string } {
    return {
      range: this.range(session, input),
      direction: input.direction === 'egress' ? 'egress' : 'ingress',
      aclId: this.aclId(session, input),
    };
  }

  private range(session: AwsCallSession, input: JsonObject): IpRange {
    const text = typeof input.cidr === 'string' ? input.cidr : '';
    const range = parseIpRange(text);
    if (range === undefined) {
      throw session.fail('invalid_input', 'input.cidr is not an IPv4 or IPv6 address or range');
    }
    return range;
  }

  private aclId(session: AwsCallSession, input: JsonObject): string {
    const aclId =
      typeof input.network_acl_id === 'string' ? input.network_acl_id : this.settings.networkAclId;
    if (aclId === undefined) {
      throw session.fail(
        'invalid_input',
        'no network ACL: give input.network_acl_id or set network_acl_id in connectors.yaml',
      );
    }
    return aclId;
  }

  private freeRuleNumber(taken: ReadonlySet<number | undefined>): number | undefined {
    const { first, last } = this.settings.ruleNumbers;
    for (let number = first; number <= last; number += 1) {
      if (!taken.has(number)) return number;
    }
    return undefined;
  }

  private denyResult(
    session: AwsCallSession,
    aclId: string,
    entry: DenyEntry,
    range: IpRange,
    alreadyPresent: boolean,
  ): ConnectorResult {
    return session.result(
      {
        network_acl_id: aclId,
        rule_number: entry.ruleNumber,
        cidr: range.cidr,
        direction: entry.direction,
        already_present: alreadyPresent,
      },
      denyIpRangeCommand(range, entry.direction),
    );
  }

  private removeResult(
    session: AwsCallSession,
    aclId: string,
    range: IpRange,
    removed: readonly DenyEntry[],
  ): ConnectorResult {
    const [only] = removed;
    return session.result(
      {
        network_acl_id: aclId,
        cidr: range.cidr,
        removed: removed.map((entry) => ({
          rule_number: entry.ruleNumber,
          direction: entry.direction,
        })),
        already_absent: removed.length === 0,
      },
      removed.length === 1 && only !== undefined ? deleteRuleCommand(only.ruleNumber) : undefined,
    );
  }

  private revokeResult(
    session: AwsCallSession,
    groupId: string,
    range: IpRange,
    revoked: readonly string[],
  ): ConnectorResult {
    return session.result({
      group_id: groupId,
      cidr: range.cidr,
      revoked_rule_ids: [...revoked],
      already_absent: revoked.length === 0,
    });
  }

  /** Runs `body` once earlier deny writes to the same ACL have finished (or the deadline passes). */
  private async withAclLock<T>(
    aclId: string,
    session: AwsCallSession,
    body: () => Promise<T>,
  ): Promise<T> {
    const previous = this.aclLocks.get(aclId) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = previous.then(() => mine);
    this.aclLocks.set(aclId, chained);
    try {
      await untilAborted(previous, session.signal);
      if (session.signal.aborted) {
        throw session.fail(
          'timeout',
          `the step deadline passed while waiting for other writes to ${aclId}`,
        );
      }
      return await body();
    } finally {
      release();
      if (this.aclLocks.get(aclId) === chained) this.aclLocks.delete(aclId);
    }
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

function optionalDirection(input: JsonObject): TrafficDirection | undefined {
  return input.direction === 'ingress' || input.direction === 'egress'
    ? input.direction
    : undefined;
}

/** The ACL's deny entries for all protocols, the default rule left out. */
function denyEntries(acl: Ec2.NetworkAcl): DenyEntry[] {
  return (acl.Entries ?? []).flatMap((entry: Ec2.NetworkAclEntry): DenyEntry[] => {
    const cidr = entry.CidrBlock ?? entry.Ipv6CidrBlock;
    if (
      entry.RuleAction !== 'deny' ||
      entry.RuleNumber === undefined ||
      entry.RuleNumber === DEFAULT_RULE_NUMBER ||
      cidr === undefined
    ) {
      return [];
    }
    return [
      {
        ruleNumber: entry.RuleNumber,
        cidr,
        direction: entry.Egress ? 'egress' : 'ingress',
        protocol: entry.Protocol ?? '-1',
      },
    ];
  });
}

/** An all-protocol deny of exactly this range (in this direction, when given). */
function matches(entry: DenyEntry, range: IpRange, direction?: TrafficDirection): boolean {
  return (
    entry.protocol === '-1' &&
    (direction === undefined || entry.direction === direction) &&
    sameIpRange(entry.cidr, range.cidr)
  );
}

function findDeny(
  acl: Ec2.NetworkAcl,
  range: IpRange,
  direction: TrafficDirection,
): DenyEntry | undefined {
  return denyEntries(acl).find((entry) => matches(entry, range, direction));
}

function ingressRulesFor(
  rules: readonly Ec2.SecurityGroupRule[],
  range: IpRange,
): Ec2.SecurityGroupRule[] {
  return rules.filter(
    (rule) =>
      rule.IsEgress !== true &&
      sameIpRange(range.family === 4 ? rule.CidrIpv4 : rule.CidrIpv6, range.cidr),
  );
}

/** Resolves when `promise` settles or `signal` aborts, whichever is first. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}
