import { describe, expect, it } from 'vitest';
import {
  connectorFailure,
  fakeHttpServiceForSuite,
  loadConnectorFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import type { ScriptedResponse } from '../../../test/support/fake-http-service.js';
import type { Connector, JsonValue } from '../connector.js';
import {
  describeHttpConnectorContract,
  type HttpConnectorContractSetup,
} from '../connector.contract.js';
import { guardConnector } from '../guarded-connector.js';
import { OPENC2_CONNECTOR_TYPE, createOpenC2Connector } from './openc2-connector.js';

/** An openc2 instance loaded from connectors.yaml, as in production. */
function loadOpenC2(yaml: string, secrets: Record<string, string> = {}): Connector {
  return loadConnectorFromYaml(yaml, { secrets, types: [OPENC2_CONNECTOR_TYPE] });
}

function firewallYaml(baseUrl: string, extra = ''): string {
  return `
connectors:
  perimeter:
    type: openc2
    base_url: ${baseUrl}/openc2
    headers: { Authorization: "Bearer \${secret:OC2_TOKEN}" }
${extra}`;
}

/** Stands in for a value the test cannot know (the request id, the envelope time). */
const anyString = expect.any(String) as unknown as JsonValue;

const DENY_INPUT = {
  cidr: '203.0.113.0/24',
  direction: 'ingress',
  duration_minutes: 60,
  drop_process: 'none',
};
const DENY_COMMAND = {
  action: 'deny',
  target: { ipv4_net: '203.0.113.0/24' },
  args: {
    duration: 3_600_000,
    response_requested: 'complete',
    slpf: { direction: 'ingress', drop_process: 'none' },
  },
  actuator: { slpf: {} },
};
const QUERY_COMMAND = {
  action: 'query',
  target: { features: ['versions', 'profiles', 'pairs', 'rate_limit'] },
};
const FEATURES = { versions: ['1.0'], profiles: ['slpf', 'er'], rate_limit: 30 };

function contractSetup(transfer: 'envelope' | 'content'): HttpConnectorContractSetup {
  const inEnvelope = (command: unknown): unknown =>
    transfer === 'content'
      ? command
      : {
          headers: {
            request_id: expect.any(String) as unknown,
            created: expect.any(Number) as unknown,
            from: 'warden',
            to: ['fw-perimeter'],
          },
          body: { openc2: { request: command } },
        };
  const respond = (response: unknown): ScriptedResponse => ({
    headers: { 'content-type': 'application/openc2+json;version=1.0' },
    body:
      transfer === 'content'
        ? response
        : { headers: { from: 'fw-perimeter' }, body: { openc2: { response } } },
  });
  const envelopeKeys = transfer === 'envelope' ? '    from: warden\n    to: fw-perimeter\n' : '';
  return {
    create: ({ baseUrl, secret, timeoutMs }) =>
      loadOpenC2(
        firewallYaml(
          baseUrl,
          `    timeout: ${timeoutMs}ms\n    transfer: ${transfer}\n${envelopeKeys}`,
        ),
        { OC2_TOKEN: secret },
      ),
    read: {
      action: 'query_features',
      input: {},
      response: respond({ status: 200, results: FEATURES }),
      expectRequest: { method: 'POST', path: '/openc2', body: inEnvelope(QUERY_COMMAND) },
      expectOutput: { status: 200, ...FEATURES, request_id: anyString },
    },
    write: {
      action: 'deny_ip_range',
      input: DENY_INPUT,
      response: respond({ status: 200, results: { slpf: { rule_number: 1234 } } }),
      expectRequest: { method: 'POST', path: '/openc2', body: inEnvelope(DENY_COMMAND) },
      expectOutput: { status: 200, rule_number: 1234, request_id: anyString },
    },
    invalidInput: { action: 'deny_ip_range', input: { cidr: 42 } },
    expectCredential: (request, secret) => {
      expect(request.headers.authorization).toBe(`Bearer ${secret}`);
    },
    // OpenC2 has no idempotency key and consumers need not deduplicate request ids.
    idempotencyHeader: undefined,
  };
}

describeHttpConnectorContract('openc2 (envelope transfer)', contractSetup('envelope'));
describeHttpConnectorContract('openc2 (content transfer)', contractSetup('content'));

describe('the openc2 connector', () => {
  const fake = fakeHttpServiceForSuite();

  const call = numberedCalls('run-7/0/block/');
  function connector(extra = '    transfer: content\n'): Connector {
    return loadOpenC2(firewallYaml(fake.url, extra), { OC2_TOKEN: 'tok-secret-77' });
  }

  describe('commands', () => {
    it.each([
      [
        'deny_ip_range',
        { cidr: '2001:db8::/32', direction: 'both', insert_rule: 5, drop_process: 'reject' },
        {
          action: 'deny',
          target: { ipv6_net: '2001:db8::/32' },
          args: {
            response_requested: 'complete',
            slpf: { direction: 'both', drop_process: 'reject', insert_rule: 5 },
          },
          actuator: { slpf: { named_group: 'perimeter' } },
        },
      ],
      [
        'allow_ip_range',
        { cidr: '198.51.100.7' },
        {
          action: 'allow',
          target: { ipv4_net: '198.51.100.7' },
          args: { response_requested: 'complete' },
          actuator: { slpf: { named_group: 'perimeter' } },
        },
      ],
      [
        'delete_rule',
        { rule_number: 1234 },
        {
          action: 'delete',
          target: { 'slpf:rule_number': 1234 },
          args: { response_requested: 'complete' },
          actuator: { slpf: { named_group: 'perimeter' } },
        },
      ],
      [
        'disable_account',
        { uid: 'S-1-5-21-1004', name: 'svc-feature-etl' },
        {
          action: 'set',
          target: { er: { account: { uid: 'S-1-5-21-1004', account_name: 'svc-feature-etl' } } },
          args: { er: { account_status: 'disabled' } },
          actuator: { er: { hostname: 'edr-bergen' } },
        },
      ],
      [
        'deny_file',
        { sha256: 'AB'.repeat(32) },
        {
          action: 'deny',
          target: { file: { hashes: { sha256: 'ab'.repeat(32) } } },
          actuator: { er: { hostname: 'edr-bergen' } },
        },
      ],
      [
        'query_features',
        { features: ['pairs'] },
        { action: 'query', target: { features: ['pairs'] } },
      ],
    ])(
      'sends %s as its OpenC2 command and returns it with the result',
      async (action, input, command) => {
        const svc = connector(
          '    transfer: content\n    actuators:\n      slpf: { named_group: perimeter }\n      er: { hostname: edr-bergen }\n',
        );
        fake.enqueue({ body: { status: 200 } });
        const sent = call(action, input);
        const result = await svc.invoke(sent);
        const request = fake.requests[0];
        expect(request?.json).toEqual(command);
        expect(request?.headers['content-type']).toBe('application/openc2-cmd+json;version=1.0');
        expect(request?.headers.accept).toBe('application/openc2-rsp+json;version=1.0');
        expect(request?.headers['x-request-id']).toBe(sent.idempotencyKey);
        expect(request?.headers['cache-control']).toBe('no-cache');
        expect(result.openc2).toEqual(command);
        expect(result.output).toEqual({ status: 200, request_id: sent.idempotencyKey });
      },
    );

    it('wraps the command in the message envelope, request id in it and in X-Request-ID', async () => {
      const svc = createOpenC2Connector({
        name: 'edr',
        endpoint: `${fake.url}/openc2`,
        from: 'warden.bank.example',
        to: ['edr-bergen'],
        now: () => 1_700_000_000_000,
      });
      fake.enqueue({
        body: { headers: { request_id: 'k-1' }, body: { openc2: { response: { status: 200 } } } },
      });
      const result = await svc.invoke({
        ...call('disable_account', { uid: 'u-1' }),
        idempotencyKey: 'k-1',
      });
      const request = fake.requests[0];
      expect(request?.headers['content-type']).toBe('application/openc2+json;version=1.0');
      expect(request?.headers.accept).toBe('application/openc2+json;version=1.0');
      expect(request?.headers['x-request-id']).toBe('k-1');
      expect(request?.json).toEqual({
        headers: {
          request_id: 'k-1',
          created: 1_700_000_000_000,
          from: 'warden.bank.example',
          to: ['edr-bergen'],
        },
        body: {
          openc2: {
            request: {
              action: 'set',
              target: { er: { account: { uid: 'u-1' } } },
              args: { er: { account_status: 'disabled' } },
              actuator: { er: {} },
            },
          },
        },
      });
      expect(result.output).toEqual({ status: 200, request_id: 'k-1' });
    });

    it('rejects an address that only looks like one, before sending anything', async () => {
      const svc = connector();
      for (const cidr of ['999.1.1.1/24', '203.0.113.0/33', '2001:db8::/129', '1.2.3.4/24/8']) {
        const error = await connectorFailure(svc.invoke(call('deny_ip_range', { cidr })));
        expect(error.code).toBe('invalid_input');
      }
      expect(fake.requests).toHaveLength(0);
    });

    it('records the credential as its template and lets headers override protocol ones', async () => {
      const svc = loadOpenC2(
        `connectors:
  fw:
    type: openc2
    base_url: ${fake.url}/openc2
    transfer: content
    headers:
      Authorization: "Bearer \${secret:OC2_TOKEN}"
      accept: application/json
`,
        { OC2_TOKEN: 'tok-secret-77' },
      );
      fake.enqueue({ body: { status: 200 } });
      const result = await svc.invoke(call('query_features', {}));
      expect(fake.requests[0]?.headers.authorization).toBe('Bearer tok-secret-77');
      expect(fake.requests[0]?.headers.accept).toBe('application/json');
      expect(result.exchange?.requestHeaders.Authorization).toBe('Bearer ${secret:OC2_TOKEN}');
      expect(JSON.stringify(result)).not.toContain('tok-secret-77');
    });
  });

  it('keeps a secret the consumer echoes out of messages and outputs', async () => {
    fake.enqueue(
      { body: { status: 400, status_text: 'bad token tok-secret-77' } },
      { body: { status: 200, status_text: 'hello tok-secret-77' } },
    );
    const error = await connectorFailure(connector().invoke(call('query_features', {})));
    expect(error.message).toContain('bad token [redacted]');
    const result = await connector().invoke(call('query_features', {}));
    expect(result.output).toMatchObject({ status_text: 'hello [redacted]' });
  });

  describe('OpenC2 status codes, in the HTTP status or the response body', () => {
    it.each([
      ['200 with body status 102', { body: { status: 102, status_text: 'queued' } }, 102],
      ['202 without a body', { status: 202 }, 102],
      ['200 without a body', { status: 200 }, 200],
      ['204', { status: 204 }, 200],
    ])('%s is a result with that status', async (_name, response: ScriptedResponse, status) => {
      fake.enqueue(response);
      const result = await connector().invoke(call('deny_ip_range', { cidr: '203.0.113.9' }));
      expect((result.output as { status: number }).status).toBe(status);
    });

    it('reads the rule number from an envelope response', async () => {
      fake.enqueue({
        body: {
          headers: { from: 'fw' },
          body: { openc2: { response: { status: 200, results: { slpf: { rule_number: 7 } } } } },
        },
      });
      const result = await connector().invoke(call('allow_ip_range', { cidr: '203.0.113.9' }));
      expect(result.output).toMatchObject({ status: 200, rule_number: 7 });
    });

    it.each([
      // [case, response, action, code, retryable]
      [
        'body 400 under HTTP 200',
        { body: { status: 400, status_text: 'no such target' } },
        'deny_ip_range',
        'rejected',
        false,
      ],
      [
        'HTTP 400 with body 400',
        { status: 400, body: { status: 400 } },
        'deny_ip_range',
        'rejected',
        false,
      ],
      ['body 401', { body: { status: 401 } }, 'deny_ip_range', 'unauthorized', false],
      ['HTTP 403', { status: 403, body: { status: 403 } }, 'query_features', 'unauthorized', false],
      [
        'body 404',
        { body: { status: 404, status_text: 'rule 9 not found' } },
        'delete_rule',
        'rejected',
        false,
      ],
      ['HTTP 404', { status: 404, body: 'Not Found' }, 'delete_rule', 'rejected', false],
      [
        'HTTP 500 for a write',
        { status: 500, body: { status: 500 } },
        'deny_ip_range',
        'unavailable',
        false,
      ],
      ['body 500 for a write', { body: { status: 500 } }, 'deny_ip_range', 'unavailable', false],
      [
        'HTTP 500 for a read',
        { status: 500, body: { status: 500 } },
        'query_features',
        'unavailable',
        true,
      ],
      [
        'body 501',
        { body: { status: 501, status_text: 'pair not supported' } },
        'deny_file',
        'rejected',
        false,
      ],
      ['HTTP 501 for a read', { status: 501 }, 'query_features', 'rejected', false],
      [
        'HTTP 500 with body 501',
        { status: 500, body: { status: 501 } },
        'deny_ip_range',
        'rejected',
        false,
      ],
      ['body 503', { body: { status: 503 } }, 'deny_ip_range', 'unavailable', true],
      ['HTTP 503', { status: 503, body: { status: 503 } }, 'deny_ip_range', 'unavailable', true],
    ])('%s → %s', async (_name, response: ScriptedResponse, action, code, retryable) => {
      fake.enqueue(response);
      const inputs: Record<string, JsonValue> = {
        deny_ip_range: { cidr: '203.0.113.9' },
        query_features: {},
        delete_rule: { rule_number: 9 },
        deny_file: { sha256: 'a'.repeat(64) },
      };
      const error = await connectorFailure(connector().invoke(call(action, inputs[action] ?? {})));
      expect(error).toMatchObject({ code, retryable });
      expect(error.exchange?.status).toBe(response.status ?? 200);
    });

    it('names the OpenC2 status and its text in the message', async () => {
      fake.enqueue({ body: { status: 404, status_text: 'rule 9 not found' } });
      const error = await connectorFailure(
        connector().invoke(call('delete_rule', { rule_number: 9 })),
      );
      expect(error.message).toBe(
        'perimeter.delete_rule: OpenC2 status 404 (Not Found): rule 9 not found (nothing matching the command)',
      );
      expect(error.status).toBe(404);
    });

    it('fails with invalid_output on a body that is not an OpenC2 response', async () => {
      fake.enqueue(
        { body: 'ok', headers: { 'content-type': 'text/plain' } },
        { body: { status: '200' } },
        { body: { headers: {}, body: { openc2: { request: {} } } } },
      );
      for (let i = 0; i < 3; i += 1) {
        const error = await connectorFailure(connector().invoke(call('query_features', {})));
        expect(error.code).toBe('invalid_output');
        expect(error.exchange).toBeDefined();
      }
    });

    it('refuses a response for another request id', async () => {
      fake.enqueue({
        body: {
          headers: { request_id: 'someone-else' },
          body: { openc2: { response: { status: 200 } } },
        },
      });
      const error = await connectorFailure(connector().invoke(call('query_features', {})));
      expect(error.code).toBe('invalid_output');
      expect(error.message).toContain('someone-else');
    });
  });

  describe('connectors.yaml', () => {
    const load = (extra: string): Connector =>
      loadOpenC2(firewallYaml('http://127.0.0.1:9', extra), { OC2_TOKEN: 't' });

    it('defaults to the envelope transfer and the http defaults', () => {
      const svc = load('');
      expect(svc.type).toBe('openc2');
      expect(svc.concurrency).toBe(4);
      expect(Object.keys(svc.actions).sort()).toEqual([
        'allow_ip_range',
        'delete_rule',
        'deny_file',
        'deny_ip_range',
        'disable_account',
        'query_features',
      ]);
      expect(svc.actions.query_features?.effect).toBe('read');
      expect(svc.actions.deny_ip_range?.effect).toBe('write');
    });

    it.each([
      ['    transfer: xml\n', /connectors\.perimeter\.transfer must be envelope/],
      [
        '    actuators: { slpf: perimeter }\n',
        /connectors\.perimeter\.actuators\.slpf must be a mapping/,
      ],
      ['    actuators: { pf: {} }\n', /connectors\.perimeter\.actuators\.pf is not a known key/],
      [
        '    transfer: content\n    from: warden\n',
        /connectors\.perimeter\.from is only sent with transfer: envelope/,
      ],
      [
        '    idempotency_header: X-Key\n',
        /connectors\.perimeter\.idempotency_header is not a known key/,
      ],
      ['    timeout: soon\n', /connectors\.perimeter\.timeout/],
    ])('fails naming the field: %s', (extra, message) => {
      expect(() => load(extra)).toThrow(message);
    });

    it('fails naming base_url when it carries credentials', () => {
      expect(() =>
        loadOpenC2(
          'connectors:\n  fw:\n    type: openc2\n    base_url: https://user:pw@fw.example/openc2\n',
        ),
      ).toThrow(/connectors\.fw\.base_url must not contain credentials/);
    });
  });

  it('answers reconcile for a write with unknown and sends nothing', async () => {
    const svc = guardConnector(createOpenC2Connector({ name: 'fw', endpoint: `${fake.url}/x` }));
    const answer = await svc.reconcile?.(call('deny_ip_range', { cidr: '203.0.113.9' }));
    expect(answer).toEqual({ state: 'unknown' });
    expect(fake.requests).toHaveLength(0);
  });
});
