import type { JsonValue } from '../connector.js';
import type { IpRange } from './ip-ranges.js';

/**
 * The AWS actions expressed as OpenC2 commands (OASIS OpenC2 Language
 * Specification v1.0), shown on the case beside the AWS request: a network
 * ACL deny is the stateless packet filtering (SLPF) profile's
 * `deny ipv4_net`/`ipv6_net`, an access key switched off or on is the
 * Endpoint Response profile's `set` of the account's status.
 */

export type TrafficDirection = 'ingress' | 'egress';

/** `deny ipv4_net` (or `ipv6_net`) with the SLPF direction. */
export function denyIpRangeCommand(range: IpRange, direction: TrafficDirection): JsonValue {
  return {
    action: 'deny',
    target: range.family === 4 ? { ipv4_net: range.cidr } : { ipv6_net: range.cidr },
    args: { slpf: { direction } },
    actuator: { slpf: {} },
  };
}

/** `delete slpf rule_number`: the undo of a deny, by the rule it created. */
export function deleteRuleCommand(ruleNumber: number): JsonValue {
  return {
    action: 'delete',
    target: { slpf: { rule_number: ruleNumber } },
    actuator: { slpf: {} },
  };
}

/** `set er account` with `account_status` disabled or enabled. */
export function accountStatusCommand(user: string, status: 'disabled' | 'enabled'): JsonValue {
  return {
    action: 'set',
    target: { er: { account: { account_name: user } } },
    args: { er: { account_status: status } },
    actuator: { er: {} },
  };
}
