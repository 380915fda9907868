import { describe, expect, it } from 'vitest';
import { parseIpRange } from '../../src/connectors/aws/ip-ranges.js';
import { accountStatusCommand, denyIpRangeCommand } from '../../src/connectors/aws/openc2.js';
import { sharedFixtures } from '../support/shared-fixtures.js';

/**
 * The OpenC2 commands the AWS connectors attach to their results, checked
 * against the shared OpenC2 fixtures (SLPF deny, Endpoint Response account
 * disable) when a checkout sits next to ../shared; a user's clone has no
 * such folder, so the suite skips.
 */
const fixtures = sharedFixtures('aws conformance suite');

type Json = Record<string, unknown>;

function at(value: unknown, ...keys: string[]): unknown {
  return keys.reduce<unknown>(
    (current, key) =>
      current !== null && typeof current === 'object' ? (current as Json)[key] : undefined,
    value,
  );
}

describe.skipIf(!fixtures.present)('aws connectors: shared OpenC2 fixtures conformance', () => {
  it('expresses deny_ip_range as the SLPF deny ipv4_net of openc2_deny_ipv4_net_slpf_content_only.json', () => {
    const fixture = fixtures.json<Json>('openc2_deny_ipv4_net_slpf_content_only.json');
    const cidr = at(fixture, 'target', 'ipv4_net');
    const direction = at(fixture, 'args', 'slpf', 'direction');
    expect(typeof cidr).toBe('string');
    expect(direction === 'ingress' || direction === 'egress').toBe(true);
    const range = parseIpRange(cidr as string);
    expect(range).toBeDefined();
    if (range === undefined) return;

    const ours = denyIpRangeCommand(range, direction as 'ingress' | 'egress') as Json;
    expect(ours.action).toBe(fixture.action);
    expect(Object.keys(ours.target as Json)).toEqual(Object.keys(fixture.target as Json));
    expect(at(ours, 'target', 'ipv4_net')).toBe(cidr);
    expect(at(ours, 'args', 'slpf', 'direction')).toBe(direction);
    expect(Object.keys(ours.actuator as Json)).toEqual(Object.keys(fixture.actuator as Json));
  });

  it('expresses disable_access_key as the ER set account_status of openc2_set_account_disabled_er.json', () => {
    const fixture = fixtures.json<Json>('openc2_set_account_disabled_er.json');
    const account = at(fixture, 'target', 'er', 'account') as Json | undefined;
    expect(account).toBeDefined();
    const user = account?.account_name;
    expect(typeof user).toBe('string');

    const ours = accountStatusCommand(user as string, 'disabled') as Json;
    expect(ours.action).toBe(fixture.action);
    expect(Object.keys(ours.target as Json)).toEqual(Object.keys(fixture.target as Json));
    expect(at(ours, 'target', 'er', 'account')).toEqual({ account_name: user });
    expect(at(ours, 'args', 'er', 'account_status')).toBe(
      at(fixture, 'args', 'er', 'account_status'),
    );
    expect(Object.keys(ours.actuator as Json)).toEqual(Object.keys(fixture.actuator as Json));
  });
});
