import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { connectorCall, connectorFailure } from '../../../test/support/connector-test-kit.js';
import {
  recordActionsInto,
  serveVendorFakes,
  type RecordedAction,
  type ServedVendorFakes,
} from '../../../test/support/vendor-fake-server.js';
import {
  MLFLOW_DEMO_DEPLOYED_SHA256,
  MLFLOW_DEMO_MODELS,
  createMlflowFake,
  demoArtifactSha256,
} from '../../demo/fakes/mlflow-fake.js';
import type { FakeRequest } from '../../demo/vendor-fake.js';
import type { Connector, ConnectorCall, ConnectorError, JsonValue } from '../connector.js';
import { guardConnector } from '../guarded-connector.js';
import { createMlflowConnector } from './mlflow-connector.js';

/**
 * The connector against the demo's stateful MLflow stand-in, served the way
 * the demo serves it (under /mlflow): a whole rollback, its idempotent
 * replay, and reconcile after a crash at each point of the sequence.
 */

describe('mlflow connector against the demo MLflow fake', () => {
  let served: ServedVendorFakes;
  let recorded: RecordedAction[];
  let connector: Connector;

  beforeEach(async () => {
    recorded = [];
    served = await serveVendorFakes([createMlflowFake(recordActionsInto(recorded))]);
    connector = guardConnector(
      createMlflowConnector({
        name: 'model_registry',
        baseUrl: `${served.url}/mlflow`,
        auth: {
          type: 'bearer',
          token: { value: 'demo-token', recorded: '${secret:MLFLOW_TOKEN}' },
        },
        timeoutMs: 5000,
      }),
    );
  });
  afterEach(() => served.close());

  function call(
    action: string,
    input: JsonValue,
    idempotencyKey = 'run-1/rollback',
  ): ConnectorCall {
    return connectorCall(action, input, idempotencyKey);
  }
  async function champion(name = 'fraud-detection'): Promise<string> {
    const result = await connector.invoke(
      call('get_version_by_alias', { name, alias: 'champion' }),
    );
    return (result.output as { version: string }).version;
  }
  function failure(request: ConnectorCall): Promise<ConnectorError> {
    return connectorFailure(connector.invoke(request));
  }
  /** Fails the first request `when` matches with 503, as a crash at that point would leave it. */
  function failOnce(when: (request: FakeRequest) => boolean): void {
    served.intercept = (request) => {
      if (!when(request)) return undefined;
      served.intercept = undefined;
      return {
        status: 503,
        body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'simulated crash' },
      };
    };
  }
  const isAliasMove = (request: FakeRequest) =>
    request.method === 'POST' && request.path.endsWith('/registered-models/alias');
  const isDoneTag = (request: FakeRequest) =>
    request.path.endsWith('/set-tag') && request.text.includes('warden.rolled_back_from.');
  const moves = () => recorded.filter((entry) => entry.action === 'moved alias');

  it('is seeded with the registry names of the demo inventory, v3 champion', async () => {
    const file = fileURLToPath(new URL('../../../examples/demo/inventory.yaml', import.meta.url));
    const inventory = parse(readFileSync(file, 'utf8')) as {
      models: { registry_name?: string }[];
    };
    const names = inventory.models.flatMap((model) => model.registry_name ?? []);
    expect(Object.keys(MLFLOW_DEMO_MODELS).sort()).toEqual([...names].sort());
    for (const name of names) {
      const model = await connector.invoke(call('get_registered_model', { name }));
      expect(model.output).toMatchObject({ found: true, name, aliases: { champion: '3' } });
      const versions = await connector.invoke(call('list_versions', { name }));
      expect(
        (versions.output as { versions: { version: string; known_good: boolean }[] }).versions.map(
          (version) => [version.version, version.known_good],
        ),
      ).toEqual([
        ['3', true],
        ['2', true],
        ['1', true],
      ]);
    }
  });

  it('verifies the deployed champion against the registered hash: a mismatch', async () => {
    const deployed = MLFLOW_DEMO_DEPLOYED_SHA256['fraud-detection'] ?? '';
    const result = await connector.invoke(
      call('verify_hash', { name: 'fraud-detection', sha256: deployed }),
    );
    expect(result.output).toEqual({
      verdict: 'mismatch',
      expected: demoArtifactSha256('fraud-detection', '3'),
      actual: deployed,
      name: 'fraud-detection',
      version: '3',
      alias: 'champion',
      found: true,
    });
    const good = await connector.invoke(
      call('verify_hash', {
        name: 'fraud-detection',
        version: 2,
        sha256: demoArtifactSha256('fraud-detection', '2').toUpperCase(),
      }),
    );
    expect((good.output as { verdict: string }).verdict).toBe('match');
  });

  it('answers found: false for unknown models and aliases', async () => {
    expect((await connector.invoke(call('get_registered_model', { name: 'nope' }))).output).toEqual(
      { found: false, name: 'nope' },
    );
    expect(
      (
        await connector.invoke(
          call('get_version_by_alias', { name: 'fraud-detection', alias: 'canary' }),
        )
      ).output,
    ).toEqual({ found: false, name: 'fraud-detection', alias: 'canary' });
    expect(
      (await connector.invoke(call('get_model_version', { name: 'fraud-detection', version: 9 })))
        .output,
    ).toEqual({ found: false, name: 'fraud-detection', version: '9' });
  });

  it('rolls back, replays idempotently, and reconciles as done', async () => {
    const rollback = call('rollback', {
      name: 'fraud-detection',
      case: 7,
      reason: 'hash mismatch',
    });
    const expected = {
      name: 'fraud-detection',
      alias: 'champion',
      from_version: '3',
      to_version: '2',
      rolled_back: true,
    };
    expect((await connector.reconcile?.(rollback))?.state).toBe('not_done');

    const first = await connector.invoke(rollback);
    expect(first.output).toEqual(expected);
    expect(await champion()).toBe('2');
    expect(moves()).toEqual([
      {
        service: 'mlflow',
        action: 'moved alias',
        target: 'fraud-detection@champion',
        details: { from: '3', to: '2' },
      },
    ]);
    const tags = recorded
      .filter((entry) => entry.action === 'tagged version')
      .map((entry) => [entry.target, (entry.details as { key: string }).key]);
    expect(tags).toEqual([
      ['fraud-detection v3', 'warden.rollback.champion'],
      ['fraud-detection v3', 'warden.quarantined'],
      ['fraud-detection v2', 'warden.rolled_back_from.champion'],
    ]);

    const written = recorded.length;
    const replay = await connector.invoke({ ...rollback, attempt: 2 });
    expect(replay.output).toEqual(expected);
    expect(recorded).toHaveLength(written);
    expect(await champion()).toBe('2');

    const answer = await connector.reconcile?.(rollback);
    expect(answer?.state).toBe('done');
    if (answer?.state === 'done') expect(answer.result.output).toEqual(expected);

    const version3 = await connector.invoke(
      call('get_model_version', { name: 'fraud-detection', version: '3' }),
    );
    expect(version3.output).toMatchObject({ quarantined: true, known_good: false });

    const history = await connector.invoke(call('deployment_history', { name: 'fraud-detection' }));
    expect(history.output).toMatchObject({
      found: true,
      aliases: { champion: '2' },
      rollbacks: [
        {
          alias: 'champion',
          from_version: '3',
          to_version: '2',
          case: 7,
          reason: 'hash mismatch',
          completed: true,
          idempotency_key: 'run-1/rollback',
        },
      ],
    });
    const versions = (history.output as { versions: { version: string; aliases: string[] }[] })
      .versions;
    expect(versions.map((version) => [version.version, version.aliases])).toEqual([
      ['3', []],
      ['2', ['champion']],
      ['1', []],
    ]);
  });

  it('moves on to older known-good versions with new keys, until none is left', async () => {
    await connector.invoke(call('rollback', { name: 'credit-risk' }, 'key-a'));
    const second = await connector.invoke(call('rollback', { name: 'credit-risk' }, 'key-b'));
    expect(second.output).toMatchObject({ from_version: '2', to_version: '1' });
    expect(await champion('credit-risk')).toBe('1');
    const error = await failure(call('rollback', { name: 'credit-risk' }, 'key-c'));
    expect(error.code).toBe('rejected');
    expect(error.message).toContain('no known-good version of credit-risk older than version 1');
  });

  it('after a crash between the tags and the alias move: not_done, then resumes the same rollback', async () => {
    const rollback = call('rollback', { name: 'customer-churn', case: 3 }, 'crash-1');
    failOnce(isAliasMove);
    const error = await failure(rollback);
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(await champion('customer-churn')).toBe('3');
    expect(moves()).toHaveLength(0);

    // The intent is on the registry, the alias is still on version 3.
    expect((await connector.reconcile?.(rollback))?.state).toBe('not_done');

    const resumed = await connector.invoke({ ...rollback, attempt: 2 });
    expect(resumed.output).toMatchObject({ from_version: '3', to_version: '2' });
    expect(await champion('customer-churn')).toBe('2');
    expect(moves()).toHaveLength(1);
    expect((await connector.reconcile?.(rollback))?.state).toBe('done');
  });

  it('does not resume onto a target quarantined since the rollback started', async () => {
    const rollback = call('rollback', { name: 'customer-churn' }, 'crash-q');
    failOnce(isAliasMove);
    await failure(rollback);
    await connector.invoke(
      call('quarantine_version', { name: 'customer-churn', version: 2 }, 'quarantine-2'),
    );
    const error = await failure({ ...rollback, attempt: 2 });
    expect(error.code).toBe('rejected');
    expect(error.message).toContain('was quarantined since it started');
    expect(await champion('customer-churn')).toBe('3');
  });

  it('after a crash between the alias move and the completion tag: done, and a repeat only finishes the record', async () => {
    const rollback = call('rollback', { name: 'support-chatbot' }, 'crash-2');
    failOnce(isDoneTag);
    await failure(rollback);
    expect(await champion('support-chatbot')).toBe('2');

    const answer = await connector.reconcile?.(rollback);
    expect(answer?.state).toBe('done');
    if (answer?.state === 'done') {
      expect(answer.result.output).toMatchObject({ from_version: '3', to_version: '2' });
    }
    const repeated = await connector.invoke({ ...rollback, attempt: 2 });
    expect(repeated.output).toMatchObject({ from_version: '3', to_version: '2' });
    expect(moves()).toHaveLength(1);
    expect(await champion('support-chatbot')).toBe('2');
  });

  it('answers unknown, and refuses to move, when someone moved the alias after the intent', async () => {
    const rollback = call('rollback', { name: 'fraud-detection' }, 'crash-3');
    failOnce(isAliasMove);
    await failure(rollback);
    await connector.invoke(
      call('set_alias', { name: 'fraud-detection', alias: 'champion', version: 1 }, 'manual'),
    );
    const answer = await connector.reconcile?.(rollback);
    expect(answer?.state).toBe('unknown');
    const error = await failure({ ...rollback, attempt: 2 });
    expect(error.code).toBe('rejected');
    expect(error.message).toContain('was moved since this rollback started');
    expect(await champion()).toBe('1');
  });

  it('records set_alias, tag_version and quarantine_version, and reconciles them', async () => {
    const tag = call('tag_version', {
      name: 'fraud-detection',
      version: 1,
      key: 'warden.known_good',
      value: 'false',
    });
    expect((await connector.reconcile?.(tag))?.state).toBe('not_done');
    await connector.invoke(tag);
    expect((await connector.reconcile?.(tag))?.state).toBe('done');

    const quarantine = call('quarantine_version', {
      name: 'fraud-detection',
      version: 2,
      case: 9,
      reason: 'poisoned training data',
    });
    expect((await connector.reconcile?.(quarantine))?.state).toBe('not_done');
    await connector.invoke(quarantine);
    expect((await connector.reconcile?.(quarantine))?.state).toBe('done');

    // v2 quarantined and v1 explicitly not known-good: nothing to roll back to.
    const error = await failure(call('rollback', { name: 'fraud-detection' }, 'after'));
    expect(error.code).toBe('rejected');

    const setAlias = call('set_alias', {
      name: 'fraud-detection',
      alias: 'challenger',
      version: 1,
    });
    expect((await connector.reconcile?.(setAlias))?.state).toBe('not_done');
    const set = await connector.invoke(setAlias);
    expect(set.output).toMatchObject({ previous_version: null, changed: true });
    expect((await connector.reconcile?.(setAlias))?.state).toBe('done');
    expect(recorded.map((entry) => `${entry.action} ${entry.target}`)).toEqual([
      'tagged version fraud-detection v1',
      'tagged version fraud-detection v2',
      'tagged version fraud-detection v2',
      'moved alias fraud-detection@challenger',
    ]);
  });

  it('answers MLflow errors for what it does not serve', async () => {
    const fake = createMlflowFake(() => undefined);
    const request = (method: string, path: string, text = ''): FakeRequest => ({
      method,
      path,
      query: new URLSearchParams(),
      headers: {},
      text,
    });
    expect(await fake.handle(request('GET', '/pager/events'))).toBeUndefined();
    expect(await fake.handle(request('GET', '/mlflow/api/2.0/mlflow/experiments/list'))).toEqual({
      status: 404,
      body: {
        error_code: 'ENDPOINT_NOT_FOUND',
        message: 'No API endpoint for GET /mlflow/api/2.0/mlflow/experiments/list',
      },
    });
    expect(
      await fake.handle(request('POST', '/mlflow/api/2.0/mlflow/model-versions/set-tag', '{')),
    ).toMatchObject({ status: 400, body: { error_code: 'MALFORMED_REQUEST' } });
    expect(
      await fake.handle(
        request(
          'POST',
          '/mlflow/api/2.0/mlflow/registered-models/alias',
          JSON.stringify({ name: 'fraud-detection', alias: 'champion', version: '8' }),
        ),
      ),
    ).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
  });
});
