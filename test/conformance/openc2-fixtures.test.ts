import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/connectors/connector.js';
import {
  buildCommand,
  parseResponse,
  resultFields,
} from '../../src/connectors/openc2/openc2-commands.js';
import { createOpenC2Connector } from '../../src/connectors/openc2/openc2-connector.js';
import { openc2Fake } from '../../src/demo/fakes/openc2-fake.js';
import { connectorCall, fakeHttpServiceForSuite } from '../support/connector-test-kit.js';
import { sharedFixtures } from '../support/shared-fixtures.js';

/**
 * The openc2 connector and the demo OpenC2 consumer against the shared
 * OpenC2 payloads, when a checkout sits next to ../shared; a user's clone
 * has no such folder, so the suite skips. Inputs are read from the
 * fixtures, so nothing of them is copied here.
 */
const fixtures = sharedFixtures('openc2 conformance suite');

type Json = { [key: string]: JsonValue };

const text = (name: string): string => fixtures.text(name);
const fixture = (name: string): Json => fixtures.json<Json>(name);

/** The value at a dot path, e.g. `at(command, 'args.slpf.direction')`. */
function at(value: JsonValue, dotPath: string): JsonValue {
  let current: JsonValue | undefined = value;
  for (const key of dotPath.split('.')) {
    current =
      typeof current === 'object' && current !== null && !Array.isArray(current)
        ? current[key]
        : undefined;
  }
  return current ?? null;
}
function obj(value: JsonValue): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

/** The deny_ip_range input that describes a fixture's SLPF deny command. */
function denyInput(command: JsonValue): Json {
  return {
    cidr: at(command, 'target.ipv4_net'),
    direction: at(command, 'args.slpf.direction'),
    drop_process: at(command, 'args.slpf.drop_process'),
    duration_minutes: Number(at(command, 'args.duration')) / 60_000,
  };
}

describe.skipIf(!fixtures.present)('OpenC2 shared fixtures conformance', () => {
  const fake = fakeHttpServiceForSuite({ resetBeforeEach: false });

  it('builds openc2_deny_ipv4_net_slpf_content_only.json exactly', () => {
    const expected = fixture('openc2_deny_ipv4_net_slpf_content_only.json');
    expect(
      buildCommand('deny_ip_range', denyInput(expected), {
        slpf: obj(at(expected, 'actuator.slpf')),
      }),
    ).toEqual(expected);
  });

  it('sends openc2_deny_ipv4_net_slpf.json exactly, envelope and all', async () => {
    const expected = fixture('openc2_deny_ipv4_net_slpf.json');
    const request = at(expected, 'body.openc2.request');
    const requestId = at(expected, 'headers.request_id') as string;
    const connector = createOpenC2Connector({
      name: 'perimeter',
      endpoint: `${fake.url}/.well-known/openc2`,
      from: at(expected, 'headers.from') as string,
      to: at(expected, 'headers.to') as string[],
      actuators: { slpf: obj(at(request, 'actuator.slpf')) },
      now: () => Number(at(expected, 'headers.created')),
    });
    fake.enqueue({ body: JSON.parse(text('openc2_response_slpf_rule_number.json')) as unknown });
    const result = await connector.invoke(
      connectorCall('deny_ip_range', denyInput(request), requestId),
    );
    expect(fake.requests[0]?.json).toEqual(expected);
    expect(fake.requests[0]?.headers['x-request-id']).toBe(requestId);
    expect(result.openc2).toEqual(request);
    const response = fixture('openc2_response_slpf_rule_number.json');
    expect(result.output).toEqual({
      status: response.status,
      rule_number: at(response, 'results.slpf.rule_number'),
      request_id: requestId,
    });
  });

  it('reads openc2_response_slpf_rule_number.json', () => {
    const parsed = parseResponse(text('openc2_response_slpf_rule_number.json'));
    expect(parsed.kind).toBe('response');
    if (parsed.kind !== 'response') return;
    expect(parsed.response.status).toBe(200);
    expect(resultFields('deny_ip_range', parsed.response.results)).toEqual({
      rule_number: at(fixture('openc2_response_slpf_rule_number.json'), 'results.slpf.rule_number'),
    });
  });

  it('builds openc2_query_features.json exactly', () => {
    expect(buildCommand('query_features', {}, {})).toEqual(fixture('openc2_query_features.json'));
  });

  it('builds openc2_deny_file_hash.json exactly', () => {
    const expected = fixture('openc2_deny_file_hash.json');
    expect(
      buildCommand('deny_file', { sha256: at(expected, 'target.file.hashes.sha256') }, {}),
    ).toEqual(expected);
  });

  it('builds openc2_set_account_disabled_er.json (plus the account uid Warden requires)', () => {
    const expected = fixture('openc2_set_account_disabled_er.json');
    const command = buildCommand(
      'disable_account',
      { uid: 'S-1-5-21-1004', name: at(expected, 'target.er.account.account_name') },
      { er: obj(at(expected, 'actuator.er')) },
    );
    expect(command).toMatchObject(expected);
    expect(command).toEqual({
      ...expected,
      target: {
        er: { account: { uid: 'S-1-5-21-1004', ...obj(at(expected, 'target.er.account')) } },
      },
    });
  });

  it('has the demo consumer carry out every command fixture Warden sends, and refuse the rest', async () => {
    const consumer = openc2Fake(() => undefined);
    const send = async (
      name: string,
      contentType: string,
    ): Promise<{ status: number | undefined; body: unknown }> => {
      const reply = await consumer.handle({
        method: 'POST',
        path: '/openc2',
        query: new URLSearchParams(),
        headers: { 'content-type': contentType, 'x-request-id': name },
        text: text(name),
      });
      return { status: reply?.status, body: JSON.parse(String(reply?.body)) as unknown };
    };
    const command = 'application/openc2-cmd+json;version=1.0';
    expect(
      await send('openc2_deny_ipv4_net_slpf.json', 'application/openc2+json;version=1.0'),
    ).toMatchObject({
      status: 200,
      body: { body: { openc2: { response: { status: 200, results: { slpf: {} } } } } },
    });
    for (const name of [
      'openc2_deny_ipv4_net_slpf_content_only.json',
      'openc2_deny_file_hash.json',
      'openc2_set_account_disabled_er.json',
      'openc2_query_features.json',
    ]) {
      expect((await send(name, command)).status, name).toBe(200);
    }
    expect(await send('openc2_contain_device_er.json', command)).toMatchObject({
      status: 501,
      body: { status: 501 },
    });
  });
});
