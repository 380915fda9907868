import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  connectorFailure,
  loadConnectorsFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import {
  recordActionsInto,
  serveVendorFakes,
  type RecordedAction,
  type ServedVendorFakes,
} from '../../../test/support/vendor-fake-server.js';
import type { ConnectorError, JsonValue } from '../../connectors/connector.js';
import type { ConnectorRegistry } from '../../connectors/connector-config.js';
import { PRESET_CONNECTOR_TYPES } from '../../connectors/presets/presets.js';
import { aiPlatformFake } from './ai-platform-fake.js';

const recorded: RecordedAction[] = [];
let served: ServedVendorFakes;
let registry: ConnectorRegistry;

beforeAll(async () => {
  served = await serveVendorFakes([aiPlatformFake(recordActionsInto(recorded))]);
  // The instances as the demo's connectors.yaml would declare them.
  registry = loadConnectorsFromYaml(
    `
connectors:
  gateway:
    type: ai_gateway
    base_url: ${served.url}/platform/gateway
    headers: { Authorization: "Bearer \${secret:PLATFORM_TOKEN}" }
  feature_store:
    type: feature_store
    base_url: ${served.url}/platform/feature-store
    headers: { Authorization: "Bearer \${secret:PLATFORM_TOKEN}" }
  assistant:
    type: ai_application
    base_url: ${served.url}/platform/app
    headers: { Authorization: "Bearer \${secret:PLATFORM_TOKEN}" }
  identity:
    type: identity
    base_url: ${served.url}/platform/identity
    headers: { Authorization: "Bearer \${secret:PLATFORM_TOKEN}" }
`,
    { secrets: { PLATFORM_TOKEN: 'demo-token' }, types: PRESET_CONNECTOR_TYPES },
  );
});
afterAll(() => served.close());
beforeEach(() => {
  recorded.length = 0;
});

const call = numberedCalls('run-2/0/step/');
/** The output of a call through the registry's (guarded, schema-checked) connector. */
async function output(
  connector: string,
  action: string,
  input: JsonValue,
  idempotencyKey?: string,
): Promise<unknown> {
  return (await registry.get(connector).invoke(call(action, input, { idempotencyKey }))).output;
}
/** The ConnectorError the same call fails with. */
function failure(
  connector: string,
  action: string,
  input: JsonValue,
  idempotencyKey?: string,
): Promise<ConnectorError> {
  return connectorFailure(registry.get(connector).invoke(call(action, input, { idempotencyKey })));
}

describe('the AI platform fake: gateway', () => {
  it('trips, routes and resets an endpoint circuit breaker, remembering its state', async () => {
    expect(await output('gateway', 'get_circuit_breaker', { endpoint: 'fraud-scorer' })).toEqual({
      endpoint: 'fraud-scorer',
      state: 'closed',
      fallback_model: null,
    });
    expect(
      await output('gateway', 'trip_circuit_breaker', {
        endpoint: 'fraud-scorer',
        reason: 'model extraction',
        fallback_model: 'rules-v2',
        case: 4,
      }),
    ).toEqual({ endpoint: 'fraud-scorer', state: 'open', fallback_model: 'rules-v2' });
    expect(
      await output('gateway', 'get_circuit_breaker', { endpoint: 'fraud-scorer' }),
    ).toMatchObject({
      state: 'open',
    });
    expect(
      await output('gateway', 'route_to_fallback', {
        endpoint: 'chat',
        fallback_model: 'small-v1',
        reason: 'drift',
      }),
    ).toEqual({ endpoint: 'chat', state: 'fallback', fallback_model: 'small-v1' });
    expect(await output('gateway', 'reset_circuit_breaker', { endpoint: 'fraud-scorer' })).toEqual({
      endpoint: 'fraud-scorer',
      state: 'closed',
      fallback_model: null,
    });
    expect(recorded.map((r) => [r.service, r.action, r.target])).toEqual([
      ['gateway', 'tripped circuit breaker', 'fraud-scorer'],
      ['gateway', 'routed to fallback model', 'chat'],
      ['gateway', 'reset circuit breaker', 'fraud-scorer'],
    ]);
  });

  it('disables and revokes API keys; a revoked key cannot be disabled', async () => {
    expect(
      await output('gateway', 'disable_api_key', { key: 'sk-live-1', reason: 'leaked', case: 4 }),
    ).toEqual({
      key: 'sk-live-1',
      state: 'disabled',
    });
    expect(
      await output('gateway', 'revoke_api_key', { key: 'sk-live-1', reason: 'leaked' }),
    ).toEqual({
      key: 'sk-live-1',
      state: 'revoked',
    });
    const error = await failure('gateway', 'disable_api_key', {
      key: 'sk-live-1',
      reason: 'again',
    });
    expect(error).toMatchObject({ code: 'rejected', status: 409 });
    expect(recorded[0]).toMatchObject({
      action: 'disabled API key',
      details: { reason: 'leaked', case: 4 },
    });
  });
});

describe('the AI platform fake: feature store', () => {
  it('quarantines a dataset once, keeping an evidence copy of its current content', async () => {
    const before = (await output('feature_store', 'get_dataset', {
      dataset: 'transactions-2024',
    })) as {
      sha256: string;
    };
    expect(before).toMatchObject({
      dataset: 'transactions-2024',
      owner: 'data-eng',
      writers: ['etl-svc', 'ml-pipeline'],
      consumers: ['fraud-scorer', 'credit-risk'],
      quarantined: false,
    });
    const input = {
      dataset: 'transactions-2024',
      sha256: before.sha256,
      reason: 'poisoned rows',
      case: 9,
    };
    const first = (await output('feature_store', 'quarantine_dataset', input)) as {
      copy_ref: string;
    };
    expect(first).toMatchObject({
      dataset: 'transactions-2024',
      quarantined: true,
      sha256: before.sha256,
    });
    expect(first.copy_ref).toMatch(/^evidence:\/\/feature-store\/transactions-2024\//);
    const second = await output('feature_store', 'quarantine_dataset', input);
    expect(second).toEqual(first);
    expect(
      await output('feature_store', 'get_dataset', { dataset: 'transactions-2024' }),
    ).toMatchObject({
      quarantined: true,
    });
    expect(
      await output('feature_store', 'release_dataset', { dataset: 'transactions-2024' }),
    ).toEqual({
      dataset: 'transactions-2024',
      quarantined: false,
    });
    expect(recorded.map((r) => r.action)).toEqual(['quarantined dataset', 'released dataset']);
    expect(recorded[0]?.details).toMatchObject({
      copy_ref: first.copy_ref,
      copy_sha256: before.sha256,
    });
  });
});

describe('the AI platform fake: application', () => {
  it('blocks a user for a while, reports it, and unblocks them', async () => {
    const blocked = (await output('assistant', 'block_user', {
      user: 'mallory',
      reason: 'jailbreak attempts',
      duration_minutes: 60,
    })) as { blocked_until: string };
    expect(blocked).toMatchObject({ user: 'mallory', blocked: true });
    expect(Date.parse(blocked.blocked_until) - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(await output('assistant', 'get_user', { user: 'mallory' })).toEqual(blocked);
    expect(await output('assistant', 'unblock_user', { user: 'mallory' })).toEqual({
      user: 'mallory',
      blocked: false,
      blocked_until: null,
    });
    expect(await output('assistant', 'block_user', { user: 'eve', reason: 'abuse' })).toEqual({
      user: 'eve',
      blocked: true,
      blocked_until: null,
    });
  });

  it('terminates a session', async () => {
    expect(
      await output('assistant', 'terminate_session', { session: 's-42', reason: 'exfiltration' }),
    ).toEqual({
      session: 's-42',
      terminated: true,
    });
    expect(recorded).toMatchObject([{ service: 'app', action: 'ended session', target: 's-42' }]);
  });
});

describe('the AI platform fake: identity', () => {
  it('grants write on datasets only to etl-svc and ml-pipeline', async () => {
    for (const user of ['etl-svc', 'ml-pipeline']) {
      expect(
        await output('identity', 'entitlements', { user, resource: 'dataset:transactions-2024' }),
      ).toEqual({
        user,
        entitlements: [{ resource: 'dataset:transactions-2024', actions: ['read', 'write'] }],
        can_write: true,
      });
    }
    expect(
      await output('identity', 'entitlements', {
        user: 'mallory',
        resource: 'dataset:transactions-2024',
      }),
    ).toMatchObject({ can_write: false });
    expect(await output('identity', 'entitlements', { user: 'mallory' })).toEqual({
      user: 'mallory',
      entitlements: [{ resource: 'dataset:*', actions: ['read'] }],
    });
  });

  it('tells who owns an API key', async () => {
    expect(await output('identity', 'api_key_owner', { key: 'sk-live-ml-pipeline' })).toMatchObject(
      {
        key: 'sk-live-ml-pipeline',
        owner: 'ml-pipeline',
        scopes: ['inference:invoke', 'models:read'],
      },
    );
    expect(await output('identity', 'api_key_owner', { key: 'sk-unknown' })).toMatchObject({
      owner: 'app-frontend',
      last_used_at: null,
    });
  });
});

describe('the AI platform fake: Idempotency-Key', () => {
  it('applies a key once and replays the first answer', async () => {
    const input = { user: 'trent', reason: 'abuse', duration_minutes: 5 };
    const first = await output('assistant', 'block_user', input, 'replayed-key');
    const second = await output('assistant', 'block_user', input, 'replayed-key');
    expect(second).toEqual(first);
    expect(recorded).toHaveLength(1);
  });

  it('refuses a key reused for a different request', async () => {
    await output('assistant', 'unblock_user', { user: 'a' }, 'reused-key');
    const error = await failure('assistant', 'unblock_user', { user: 'b' }, 'reused-key');
    expect(error).toMatchObject({ code: 'rejected', status: 422 });
  });

  it('answers unknown paths with 404 and other prefixes not at all', async () => {
    expect((await fetch(`${served.url}/platform/nothing/here`)).status).toBe(404);
    expect((await fetch(`${served.url}/gateway/keys/x/disable`, { method: 'POST' })).status).toBe(
      404,
    );
  });
});
