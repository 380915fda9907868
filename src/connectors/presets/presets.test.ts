import { describe, expect, it } from 'vitest';
import {
  connectorFailure,
  fakeHttpServiceForSuite,
  loadConnectorFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import type { Connector, JsonValue } from '../connector.js';
import {
  describeHttpConnectorContract,
  type ContractCall,
  type HttpConnectorContractSetup,
} from '../connector.contract.js';
import { PRESET_CONNECTOR_TYPES } from './presets.js';

/** A preset instance loaded from connectors.yaml, as in production. */
function loadPreset(yaml: string, secrets: Record<string, string> = {}): Connector {
  return loadConnectorFromYaml(yaml, { secrets, types: PRESET_CONNECTOR_TYPES });
}

function presetYaml(type: string, baseUrl: string, extra = ''): string {
  return `
connectors:
  platform:
    type: ${type}
    base_url: ${baseUrl}
    headers: { Authorization: "Bearer \${secret:PLATFORM_TOKEN}" }
${extra}`;
}

function contract(
  type: string,
  calls: { read: ContractCall; write?: ContractCall; invalidInput: JsonValue },
  invalidAction: string,
): HttpConnectorContractSetup {
  return {
    create: ({ baseUrl, secret, timeoutMs }) =>
      loadPreset(presetYaml(type, `${baseUrl}/platform`, `    timeout: ${timeoutMs}ms\n`), {
        PLATFORM_TOKEN: secret,
      }),
    read: calls.read,
    ...(calls.write === undefined ? {} : { write: calls.write }),
    invalidInput: { action: invalidAction, input: calls.invalidInput },
    expectCredential: (request, secret) => {
      expect(request.headers.authorization).toBe(`Bearer ${secret}`);
    },
    idempotencyHeader: calls.write === undefined ? undefined : 'Idempotency-Key',
  };
}

const SHA = 'c0ffee'.repeat(10) + 'c0ff';

describeHttpConnectorContract(
  'ai_gateway preset',
  contract(
    'ai_gateway',
    {
      read: {
        action: 'get_circuit_breaker',
        input: { endpoint: 'fraud-scorer' },
        response: {
          body: { endpoint: 'fraud-scorer', state: 'closed', fallback_model: null, p99_ms: 40 },
        },
        expectRequest: { method: 'GET', path: '/platform/endpoints/fraud-scorer/circuit-breaker' },
        expectOutput: { endpoint: 'fraud-scorer', state: 'closed', fallback_model: null },
      },
      write: {
        action: 'trip_circuit_breaker',
        input: {
          endpoint: 'fraud-scorer',
          reason: 'model extraction',
          fallback_model: 'rules-v2',
          case: 12,
        },
        response: { body: { endpoint: 'fraud-scorer', state: 'open', fallback_model: 'rules-v2' } },
        expectRequest: {
          method: 'POST',
          path: '/platform/endpoints/fraud-scorer/circuit-breaker',
          body: { state: 'open', fallback_model: 'rules-v2', reason: 'model extraction', case: 12 },
        },
        expectOutput: { endpoint: 'fraud-scorer', state: 'open', fallback_model: 'rules-v2' },
      },
      invalidInput: { endpoint: 'fraud-scorer' },
    },
    'trip_circuit_breaker',
  ),
);

describeHttpConnectorContract(
  'feature_store preset',
  contract(
    'feature_store',
    {
      read: {
        action: 'get_dataset',
        input: { dataset: 'transactions-2024' },
        response: {
          body: {
            dataset: 'transactions-2024',
            owner: 'data-eng',
            sha256: SHA,
            writers: ['etl-svc'],
            consumers: ['fraud-scorer'],
            quarantined: false,
          },
        },
        expectRequest: { method: 'GET', path: '/platform/datasets/transactions-2024' },
        expectOutput: {
          dataset: 'transactions-2024',
          owner: 'data-eng',
          sha256: SHA,
          writers: ['etl-svc'],
          consumers: ['fraud-scorer'],
          quarantined: false,
        },
      },
      write: {
        action: 'quarantine_dataset',
        input: { dataset: 'transactions-2024', sha256: SHA, reason: 'poisoned rows' },
        response: {
          body: {
            dataset: 'transactions-2024',
            quarantined: true,
            sha256: SHA,
            copy_ref: 's3://evidence/transactions-2024@v41',
            size_bytes: 1048576,
          },
        },
        expectRequest: {
          method: 'POST',
          path: '/platform/datasets/transactions-2024/quarantine',
          body: { sha256: SHA, reason: 'poisoned rows' },
        },
        expectOutput: {
          dataset: 'transactions-2024',
          quarantined: true,
          sha256: SHA,
          copy_ref: 's3://evidence/transactions-2024@v41',
          size_bytes: 1048576,
        },
      },
      invalidInput: { dataset: 'transactions-2024', sha256: 'not-a-hash', reason: 'x' },
    },
    'quarantine_dataset',
  ),
);

describeHttpConnectorContract(
  'ai_application preset',
  contract(
    'ai_application',
    {
      read: {
        action: 'get_user',
        input: { user: 'mallory' },
        response: { body: { user: 'mallory', blocked: false, blocked_until: null } },
        expectRequest: { method: 'GET', path: '/platform/users/mallory' },
        expectOutput: { user: 'mallory', blocked: false, blocked_until: null },
      },
      write: {
        action: 'block_user',
        input: { user: 'mallory', reason: 'jailbreak attempts', duration_minutes: 60 },
        response: {
          body: { user: 'mallory', blocked: true, blocked_until: '2025-03-01T13:00:00Z' },
        },
        expectRequest: {
          method: 'POST',
          path: '/platform/users/mallory/block',
          body: { reason: 'jailbreak attempts', duration_minutes: 60 },
        },
        expectOutput: { user: 'mallory', blocked: true, blocked_until: '2025-03-01T13:00:00Z' },
      },
      invalidInput: { user: 'mallory', reason: 'x', duration_minutes: 0 },
    },
    'block_user',
  ),
);

describeHttpConnectorContract(
  'identity preset',
  contract(
    'identity',
    {
      read: {
        action: 'entitlements',
        input: { user: 'etl-svc', resource: 'dataset:transactions-2024' },
        response: {
          body: {
            user: 'etl-svc',
            entitlements: [{ resource: 'dataset:transactions-2024', actions: ['read', 'write'] }],
            can_write: true,
          },
        },
        expectRequest: {
          method: 'GET',
          path: '/platform/users/etl-svc/entitlements',
          query: { resource: 'dataset:transactions-2024' },
        },
        expectOutput: {
          user: 'etl-svc',
          entitlements: [{ resource: 'dataset:transactions-2024', actions: ['read', 'write'] }],
          can_write: true,
        },
      },
      invalidInput: { user: 'etl-svc', extra: true },
    },
    'entitlements',
  ),
);

describe('HTTP presets', () => {
  const fake = fakeHttpServiceForSuite();

  const call = numberedCalls('run-3/0/step/');
  const load = (type: string, extra = ''): Connector =>
    loadPreset(presetYaml(type, `${fake.url}/gw`, extra), { PLATFORM_TOKEN: 'tok-9' });

  it('declares each preset under its own type with the documented actions and effects', () => {
    const actions = (type: string): Record<string, string> =>
      Object.fromEntries(Object.values(load(type).actions).map((a) => [a.name, a.effect]));
    expect(load('ai_gateway').type).toBe('ai_gateway');
    expect(actions('ai_gateway')).toEqual({
      disable_api_key: 'write',
      revoke_api_key: 'write',
      trip_circuit_breaker: 'write',
      reset_circuit_breaker: 'write',
      route_to_fallback: 'write',
      get_circuit_breaker: 'read',
    });
    expect(actions('feature_store')).toEqual({
      quarantine_dataset: 'write',
      release_dataset: 'write',
      get_dataset: 'read',
    });
    expect(actions('ai_application')).toEqual({
      terminate_session: 'write',
      block_user: 'write',
      unblock_user: 'write',
      get_user: 'read',
    });
    expect(actions('identity')).toEqual({ entitlements: 'read', api_key_owner: 'read' });
  });

  it.each([
    [
      'disable_api_key',
      { key: 'sk-live-1', reason: 'leaked', case: 4 },
      '/gw/keys/sk-live-1/disable',
      { reason: 'leaked', case: 4 },
      { key: 'sk-live-1', state: 'disabled' },
    ],
    [
      'revoke_api_key',
      { key: 'sk live_2', reason: 'leaked' },
      '/gw/keys/sk%20live_2/revoke',
      { reason: 'leaked' },
      { key: 'sk live_2', state: 'revoked' },
    ],
    [
      'reset_circuit_breaker',
      { endpoint: 'chat' },
      '/gw/endpoints/chat/circuit-breaker',
      { state: 'closed' },
      { endpoint: 'chat', state: 'closed', fallback_model: null },
    ],
    [
      'route_to_fallback',
      { endpoint: 'chat', fallback_model: 'small-v1', reason: 'drift' },
      '/gw/endpoints/chat/route',
      { target: 'fallback', fallback_model: 'small-v1', reason: 'drift' },
      { endpoint: 'chat', state: 'fallback', fallback_model: 'small-v1' },
    ],
  ])('ai_gateway %s sends its documented request', async (action, input, path, body, output) => {
    fake.enqueue({ body: { ...output, extra: 'ignored' } });
    const sent = call(action, input);
    const result = await load('ai_gateway').invoke(sent);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path, json: body });
    expect(fake.requests[0]?.headers['idempotency-key']).toBe(sent.idempotencyKey);
    expect(result.output).toEqual(output);
  });

  it('sends the other preset requests as documented', async () => {
    const checks: [string, string, JsonValue, string, string, unknown, JsonValue][] = [
      [
        'feature_store',
        'release_dataset',
        { dataset: 'd1' },
        'POST',
        '/gw/datasets/d1/release',
        undefined,
        { dataset: 'd1', quarantined: false },
      ],
      [
        'ai_application',
        'terminate_session',
        { session: 's-9', reason: 'exfiltration', case: 2 },
        'POST',
        '/gw/sessions/s-9/terminate',
        { reason: 'exfiltration', case: 2 },
        { session: 's-9', terminated: true },
      ],
      [
        'ai_application',
        'unblock_user',
        { user: 'bob' },
        'POST',
        '/gw/users/bob/unblock',
        undefined,
        { user: 'bob', blocked: false },
      ],
      [
        'identity',
        'api_key_owner',
        { key: 'sk-1' },
        'GET',
        '/gw/api-keys/sk-1',
        undefined,
        {
          key: 'sk-1',
          owner: 'ml-team',
          scopes: ['infer'],
          created_at: '2025-01-01T00:00:00Z',
          last_used_at: null,
        },
      ],
    ];
    for (const [type, action, input, method, path, body, output] of checks) {
      fake.reset();
      fake.enqueue({ body: output });
      const result = await load(type).invoke(call(action, input));
      expect(fake.requests[0]).toMatchObject({ method, path });
      expect(fake.requests[0]?.json).toEqual(body);
      expect(result.output).toEqual(output);
    }
  });

  it('leaves an unused optional query parameter out', async () => {
    fake.enqueue({ body: { user: 'bob', entitlements: [] } });
    const result = await load('identity').invoke(call('entitlements', { user: 'bob' }));
    expect([...(fake.requests[0]?.query.keys() ?? [])]).toEqual([]);
    expect(result.output).toEqual({ user: 'bob', entitlements: [] });
  });

  it('fails with invalid_output when the service answers outside the contract', async () => {
    fake.enqueue(
      { body: { endpoint: 'chat', state: 'half-open' } },
      { body: { endpoint: 'chat' } },
    );
    const svc = load('ai_gateway');
    const wrongValue = await connectorFailure(
      svc.invoke(call('get_circuit_breaker', { endpoint: 'chat' })),
    );
    expect(wrongValue.code).toBe('invalid_output');
    const missing = await connectorFailure(
      svc.invoke(call('get_circuit_breaker', { endpoint: 'chat' })),
    );
    expect(missing.code).toBe('invalid_output');
    expect(missing.message).toContain('state');
  });

  describe('paths:', () => {
    it('moves an action to the platform path, keeping the base path', async () => {
      const svc = load(
        'ai_gateway',
        '    paths:\n      disable_api_key: /v2/api-keys/{key}/suspend\n',
      );
      fake.enqueue({ body: { key: 'k1', state: 'disabled' } });
      await svc.invoke(call('disable_api_key', { key: 'k1', reason: 'leak' }));
      expect(fake.requests[0]?.path).toBe('/gw/v2/api-keys/k1/suspend');
    });

    it.each([
      [
        '      disable_key: /keys/{key}/off\n',
        /connectors\.platform\.paths\.disable_key is not a known key \(expected one of: disable_api_key, /,
      ],
      [
        '      disable_api_key: /keys/{id}/off\n',
        /connectors\.platform\.paths\.disable_api_key must use exactly the placeholders of \/keys\/\{key\}\/disable \(\{key\}\)/,
      ],
      [
        '      disable_api_key: keys/{key}\n',
        /connectors\.platform\.paths\.disable_api_key must start with \//,
      ],
      [
        '      disable_api_key: /keys/{key}?x=1\n',
        /connectors\.platform\.paths\.disable_api_key must not contain \? or #/,
      ],
      [
        '      disable_api_key: /keys/${secret:PLATFORM_TOKEN}\n',
        /connectors\.platform\.paths\.disable_api_key cannot contain \$\{…\} references/,
      ],
    ])('fails naming the field for %s', (line, message) => {
      expect(() => load('ai_gateway', `    paths:\n${line}`)).toThrow(message);
    });
  });

  describe('idempotency_header', () => {
    it('sends another header name when configured', async () => {
      const svc = load('ai_application', '    idempotency_header: X-Request-Key\n');
      fake.enqueue({ body: { user: 'u', blocked: false } });
      const sent = call('unblock_user', { user: 'u' });
      await svc.invoke(sent);
      expect(fake.requests[0]?.headers['x-request-key']).toBe(sent.idempotencyKey);
      expect(fake.requests[0]?.headers['idempotency-key']).toBeUndefined();
    });

    it('with none, sends no key, does not retry uncertain writes and cannot reconcile', async () => {
      const svc = load('ai_application', '    idempotency_header: none\n');
      fake.enqueue({ status: 500 });
      const error = await connectorFailure(svc.invoke(call('unblock_user', { user: 'u' })));
      expect(error).toMatchObject({ code: 'unavailable', retryable: false });
      expect(fake.requests[0]?.headers['idempotency-key']).toBeUndefined();
      expect(await svc.reconcile?.(call('unblock_user', { user: 'u' }))).toEqual({
        state: 'unknown',
      });
    });

    it('rejects a value that is not a header name, naming the field', () => {
      expect(() => load('identity', '    idempotency_header: "two words"\n')).toThrow(
        /connectors\.platform\.idempotency_header must be a header name/,
      );
    });
  });

  it('rejects keys of the generic http type, naming them', () => {
    expect(() => load('feature_store', '    actions: {}\n')).toThrow(
      /connectors\.platform\.actions is not a known key/,
    );
  });

  it('reconciles a write by sending it again with the same key and fixed body', async () => {
    fake.enqueue({ body: { endpoint: 'chat', state: 'open', fallback_model: null } });
    const sent = call('trip_circuit_breaker', { endpoint: 'chat', reason: 'abuse' });
    const answer = await load('ai_gateway').reconcile?.(sent);
    expect(answer?.state).toBe('done');
    expect(fake.requests[0]?.headers['idempotency-key']).toBe(sent.idempotencyKey);
    expect(fake.requests[0]?.json).toEqual({ state: 'open', reason: 'abuse' });
  });
});
