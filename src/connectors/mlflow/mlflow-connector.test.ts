import { beforeAll, describe, expect, it } from 'vitest';
import {
  configError,
  connectorFailure,
  fakeHttpServiceForSuite,
  loadConnectorFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import type { Connector, ConnectorCall, ConnectorError, JsonValue } from '../connector.js';
import { describeHttpConnectorContract } from '../connector.contract.js';
import { guardConnector } from '../guarded-connector.js';
import { nameFilter } from './mlflow-api.js';
import { MLFLOW_CONNECTOR_TYPE } from './mlflow-config.js';
import { createMlflowConnector } from './mlflow-connector.js';

const API = '/api/2.0/mlflow';
const HASH_1 = '1'.repeat(64);
const HASH_2 = 'ab'.repeat(32);
const HASH_3 = 'c3'.repeat(32);
const CREATED = 1_767_225_600_000; // 2026-01-01T00:00:00.000Z
const UPDATED = 1_767_312_000_000; // 2026-01-02T00:00:00.000Z

/** An mlflow instance loaded from connectors.yaml, as in production. */
function loadMlflow(body: string, secrets: Record<string, string> = {}): Connector {
  return loadConnectorFromYaml(`connectors:\n  model_registry:\n${body}`, {
    secrets,
    types: [MLFLOW_CONNECTOR_TYPE],
    name: 'model_registry',
  });
}

function loadError(body: string, secrets: Record<string, string> = {}): string {
  return configError(() => loadMlflow(body, secrets)).message;
}

/** A model_version as MLflow's REST API returns it. */
function versionJson(
  version: string,
  tags: Record<string, string> = {},
  aliases: string[] = [],
  name = 'fraud-detection',
): Record<string, unknown> {
  return {
    name,
    version,
    creation_timestamp: CREATED,
    last_updated_timestamp: UPDATED,
    user_id: 'ml-platform',
    current_stage: 'None',
    description: `version ${version}`,
    source: `s3://mlflow-artifacts/7/run${version}/artifacts/model`,
    run_id: `run${version}`,
    status: 'READY',
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    run_link: '',
    aliases,
  };
}

/** The connector's description of versionJson(…). */
function versionOutput(
  version: string,
  tags: Record<string, string> = {},
  aliases: string[] = [],
  extra: Record<string, JsonValue> = {},
): Record<string, JsonValue> {
  const hash = tags.artifact_sha256;
  return {
    name: 'fraud-detection',
    version,
    status: 'READY',
    status_message: null,
    current_stage: 'None',
    description: `version ${version}`,
    source: `s3://mlflow-artifacts/7/run${version}/artifacts/model`,
    run_id: `run${version}`,
    user_id: 'ml-platform',
    aliases,
    tags,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-02T00:00:00.000Z',
    artifact_sha256: hash ?? null,
    known_good: hash !== undefined && tags['warden.quarantined'] !== 'true',
    quarantined: tags['warden.quarantined'] === 'true',
    ...extra,
  };
}

const mlflowError = (status: number, code: string, message: string) => ({
  status,
  body: { error_code: code, message },
});

// ---------------------------------------------------------------------------

describeHttpConnectorContract('mlflow', {
  create: ({ baseUrl, secret, timeoutMs }) =>
    loadMlflow(
      `    type: mlflow\n    base_url: ${baseUrl}\n    token: "\${secret:MLFLOW_TOKEN}"\n    timeout: ${timeoutMs}ms\n`,
      { MLFLOW_TOKEN: secret },
    ),
  read: {
    action: 'get_model_version',
    input: { name: 'fraud-detection', version: '3' },
    response: {
      body: { model_version: versionJson('3', { artifact_sha256: HASH_3 }, ['champion']) },
    },
    expectRequest: {
      method: 'GET',
      path: `${API}/model-versions/get`,
      query: { name: 'fraud-detection', version: '3' },
    },
    expectOutput: {
      found: true,
      ...versionOutput('3', { artifact_sha256: HASH_3 }, ['champion']),
    },
  },
  // rollback needs several requests in sequence (read alias, list versions,
  // three tags, move the alias); the suite scripts one response per write, so
  // the single-request tag_version is the write here. rollback is tested below.
  write: {
    action: 'tag_version',
    input: { name: 'fraud-detection', version: 3, key: 'warden.case', value: '42' },
    response: { body: {} },
    expectRequest: {
      method: 'POST',
      path: `${API}/model-versions/set-tag`,
      body: { name: 'fraud-detection', version: '3', key: 'warden.case', value: '42' },
    },
    expectOutput: {
      name: 'fraud-detection',
      version: '3',
      key: 'warden.case',
      value: '42',
      tagged: true,
    },
  },
  invalidInput: {
    action: 'tag_version',
    input: { name: 'fraud-detection', version: 'three', key: 'warden.case', value: '42' },
  },
  expectCredential: (request, secret) =>
    expect(request.headers.authorization).toBe(`Bearer ${secret}`),
  idempotencyHeader: undefined,
  reconcileByLookup: {
    done: {
      responses: [{ body: { model_version: versionJson('3', { 'warden.case': '42' }) } }],
      expectOutput: {
        name: 'fraud-detection',
        version: '3',
        key: 'warden.case',
        value: '42',
        tagged: true,
      },
    },
    notDone: {
      responses: [{ body: { model_version: versionJson('3', { 'warden.case': '41' }) } }],
    },
  },
});

// ---------------------------------------------------------------------------

describe('mlflow connector', () => {
  const fake = fakeHttpServiceForSuite();
  let connector: Connector;

  beforeAll(() => {
    connector = guardConnector(
      createMlflowConnector({
        name: 'model_registry',
        baseUrl: `${fake.url}/mlflow`,
        auth: {
          type: 'bearer',
          token: { value: 'tok-secret', recorded: '${secret:MLFLOW_TOKEN}' },
        },
        timeoutMs: 2000,
      }),
    );
  });

  const call = numberedCalls('key-');
  function failure(request: ConnectorCall): Promise<ConnectorError> {
    return connectorFailure(connector.invoke(request));
  }
  const paths = () => fake.requests.map((request) => `${request.method} ${request.path}`);

  describe('reads', () => {
    it('describes a registered model with its alias map and ISO times', async () => {
      fake.enqueue({
        body: {
          registered_model: {
            name: 'fraud-detection',
            creation_timestamp: CREATED,
            last_updated_timestamp: UPDATED,
            description: 'Card fraud',
            latest_versions: [versionJson('3', { artifact_sha256: HASH_3 }, ['champion'])],
            tags: [{ key: 'owner', value: 'ml-risk' }],
            aliases: [
              { alias: 'champion', version: '3' },
              { alias: 'challenger', version: '2' },
            ],
          },
        },
      });
      const result = await connector.invoke(
        call('get_registered_model', { name: 'fraud-detection' }),
      );
      expect(paths()).toEqual([`GET /mlflow${API}/registered-models/get`]);
      expect(fake.requests[0]?.query.get('name')).toBe('fraud-detection');
      expect(result.output).toEqual({
        found: true,
        name: 'fraud-detection',
        description: 'Card fraud',
        aliases: { champion: '3', challenger: '2' },
        latest_versions: [versionOutput('3', { artifact_sha256: HASH_3 }, ['champion'])],
        tags: { owner: 'ml-risk' },
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-02T00:00:00.000Z',
      });
      expect(result.exchange?.requestHeaders.authorization).toBe('Bearer ${secret:MLFLOW_TOKEN}');
    });

    it('answers found: false for RESOURCE_DOES_NOT_EXIST on lookups', async () => {
      fake.enqueue(
        mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=nope not found'),
        mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'Model Version (name=x, version=9) not found'),
      );
      expect(
        (await connector.invoke(call('get_registered_model', { name: 'nope' }))).output,
      ).toEqual({ found: false, name: 'nope' });
      expect(
        (await connector.invoke(call('get_model_version', { name: 'x', version: 9 }))).output,
      ).toEqual({ found: false, name: 'x', version: '9' });
    });

    it("answers found: false for MLflow's alias-not-set error", async () => {
      fake.enqueue(
        mlflowError(400, 'INVALID_PARAMETER_VALUE', 'Registered model alias champion not found.'),
      );
      const result = await connector.invoke(
        call('get_version_by_alias', { name: 'fraud-detection', alias: 'champion' }),
      );
      expect(result.output).toEqual({ found: false, name: 'fraud-detection', alias: 'champion' });
      expect(fake.requests[0]?.query.get('alias')).toBe('champion');
      expect(result.exchange?.status).toBe(400);
    });

    it('reads the version an alias points at', async () => {
      fake.enqueue({ body: { model_version: versionJson('3', {}, ['champion']) } });
      const result = await connector.invoke(
        call('get_version_by_alias', { name: 'fraud-detection', alias: 'champion' }),
      );
      expect(paths()).toEqual([`GET /mlflow${API}/registered-models/alias`]);
      expect(result.output).toEqual({
        found: true,
        alias: 'champion',
        ...versionOutput('3', {}, ['champion']),
      });
    });

    it.each([
      [403, 'PERMISSION_DENIED', 'unauthorized', false],
      [401, 'UNAUTHENTICATED', 'unauthorized', false],
      [429, 'REQUEST_LIMIT_EXCEEDED', 'rate_limited', true],
      [503, 'TEMPORARILY_UNAVAILABLE', 'unavailable', true],
      [400, 'INVALID_PARAMETER_VALUE', 'rejected', false],
      [404, 'ENDPOINT_NOT_FOUND', 'rejected', false],
      [500, 'INTERNAL_ERROR', 'unavailable', true],
    ])('maps HTTP %i %s to %s', async (status, code, expected, retryable) => {
      fake.enqueue({
        ...mlflowError(status, code, 'the server says no'),
        headers: { 'retry-after': '3' },
      });
      const error = await failure(call('get_model_version', { name: 'm', version: '1' }));
      expect(error).toMatchObject({ code: expected, retryable, status });
      expect(error.message).toContain(code);
      expect(error.exchange?.status).toBe(status);
      if (expected === 'rate_limited') expect(error.retryAfterMs).toBe(3000);
    });

    it('maps RESOURCE_DOES_NOT_EXIST on a write to rejected', async () => {
      fake.enqueue(mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'Model Version not found'));
      const error = await failure(
        call('tag_version', { name: 'm', version: '9', key: 'k', value: 'v' }),
      );
      expect(error).toMatchObject({ code: 'rejected', retryable: false, status: 404 });
    });

    it('refuses a success body that is not an MLflow answer', async () => {
      fake.enqueue({ body: { hello: 'world' } });
      const error = await failure(call('get_model_version', { name: 'm', version: '1' }));
      expect(error.code).toBe('invalid_output');
    });

    it('lists versions newest first, following page tokens, with the name filter quoted', async () => {
      fake.enqueue(
        {
          body: {
            model_versions: [versionJson('2'), versionJson('10')],
            next_page_token: 'page-2',
          },
        },
        { body: { model_versions: [versionJson('9'), versionJson('1')] } },
      );
      const result = await connector.invoke(
        call('list_versions', { name: 'fraud-detection', max_results: 3 }),
      );
      expect(fake.requests).toHaveLength(2);
      expect(fake.requests[0]?.path).toBe(`/mlflow${API}/model-versions/search`);
      expect(fake.requests[0]?.query.get('filter')).toBe("name='fraud-detection'");
      expect(fake.requests[0]?.query.get('max_results')).toBe('1000');
      expect(fake.requests[0]?.query.has('page_token')).toBe(false);
      expect(fake.requests[1]?.query.get('page_token')).toBe('page-2');
      const output = result.output as { versions: { version: string }[]; truncated: boolean };
      expect(output.versions.map((version) => version.version)).toEqual(['10', '9', '2']);
      expect(output.truncated).toBe(true);
    });

    it('quotes names containing quotes so the filter still parses', () => {
      expect(nameFilter('fraud')).toBe("name='fraud'");
      expect(nameFilter("bob's model")).toBe(`name="bob's model"`);
      expect(nameFilter(`a'b"c`)).toBe(`name='a\\'b"c'`);
    });

    it('reports deployment history with Warden rollback records, newest first', async () => {
      const record = {
        key: 'run-1/rollback',
        alias: 'champion',
        from: '3',
        to: '2',
        at: '2026-02-01T10:00:00.000Z',
        case: 7,
        reason: 'tampered artifact',
      };
      fake.enqueue(
        {
          body: {
            registered_model: {
              name: 'fraud-detection',
              aliases: [{ alias: 'champion', version: '2' }],
            },
          },
        },
        {
          body: {
            model_versions: [
              versionJson('1', { artifact_sha256: HASH_1 }),
              versionJson('2', {
                artifact_sha256: HASH_2,
                'warden.rolled_back_from.champion': JSON.stringify(record),
              }),
              versionJson('3', {
                artifact_sha256: HASH_3,
                'warden.rollback.champion': JSON.stringify(record),
                'warden.quarantined': 'true',
              }),
            ],
          },
        },
      );
      const result = await connector.invoke(
        call('deployment_history', { name: 'fraud-detection' }),
      );
      const output = result.output as {
        versions: { version: string; aliases: string[]; known_good: boolean }[];
        rollbacks: unknown[];
      };
      expect(output.versions.map((v) => [v.version, v.aliases, v.known_good])).toEqual([
        ['3', [], false],
        ['2', ['champion'], true],
        ['1', [], true],
      ]);
      expect(output.rollbacks).toEqual([
        {
          at: '2026-02-01T10:00:00.000Z',
          alias: 'champion',
          from_version: '3',
          to_version: '2',
          case: 7,
          reason: 'tampered artifact',
          completed: true,
          idempotency_key: 'run-1/rollback',
        },
      ]);
    });
  });

  describe('verify_hash', () => {
    it('compares case-insensitively, accepting a sha256: prefix, on the default alias', async () => {
      fake.enqueue({ body: { model_version: versionJson('3', { artifact_sha256: HASH_3 }) } });
      const result = await connector.invoke(
        call('verify_hash', {
          name: 'fraud-detection',
          sha256: `sha256:${HASH_3.toUpperCase()}`,
        }),
      );
      expect(fake.requests[0]?.path).toBe(`/mlflow${API}/registered-models/alias`);
      expect(fake.requests[0]?.query.get('alias')).toBe('champion');
      expect(result.output).toEqual({
        verdict: 'match',
        expected: HASH_3,
        actual: HASH_3,
        name: 'fraud-detection',
        version: '3',
        alias: 'champion',
        found: true,
      });
    });

    it('reports a mismatch for a pinned version', async () => {
      fake.enqueue({ body: { model_version: versionJson('2', { artifact_sha256: HASH_2 }) } });
      const result = await connector.invoke(
        call('verify_hash', { name: 'fraud-detection', version: 2, sha256: HASH_3 }),
      );
      expect(fake.requests[0]?.path).toBe(`/mlflow${API}/model-versions/get`);
      expect(result.output).toMatchObject({
        verdict: 'mismatch',
        expected: HASH_2,
        actual: HASH_3,
        version: '2',
        alias: null,
      });
    });

    it('says no_known_hash when the tag is absent or not a SHA-256', async () => {
      fake.enqueue({ body: { model_version: versionJson('3', { artifact_sha256: 'n/a' }) } });
      const result = await connector.invoke(
        call('verify_hash', { name: 'fraud-detection', alias: 'prod', sha256: HASH_3 }),
      );
      expect(result.output).toMatchObject({ verdict: 'no_known_hash', expected: null });
    });

    it('refuses both version and alias, before sending anything', async () => {
      const error = await failure(
        call('verify_hash', { name: 'm', version: 1, alias: 'champion', sha256: HASH_1 }),
      );
      expect(error.code).toBe('invalid_input');
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('writes', () => {
    it('rolls back to the newest known-good older version, recording both versions', async () => {
      fake
        .enqueueFor(
          { path: `/mlflow${API}/registered-models/alias`, method: 'GET' },
          { body: { model_version: versionJson('4', { artifact_sha256: HASH_3 }, ['champion']) } },
        )
        .enqueueFor(
          { path: `/mlflow${API}/model-versions/search` },
          {
            body: {
              model_versions: [
                versionJson('1', { artifact_sha256: HASH_1 }),
                versionJson('2', { artifact_sha256: HASH_2, 'warden.quarantined': 'true' }),
                versionJson('3', {}),
                versionJson('4', { artifact_sha256: HASH_3 }, ['champion']),
                versionJson('5', { artifact_sha256: HASH_3 }),
              ],
            },
          },
        )
        .route({ method: 'POST' }, { body: {} });
      const result = await connector.invoke(
        call(
          'rollback',
          { name: 'fraud-detection', case: 12, reason: 'hash mismatch' },
          { idempotencyKey: 'run-9/step-rollback' },
        ),
      );
      expect(result.output).toEqual({
        name: 'fraud-detection',
        alias: 'champion',
        from_version: '4',
        to_version: '1',
        rolled_back: true,
      });
      expect(paths()).toEqual([
        `GET /mlflow${API}/registered-models/alias`,
        `GET /mlflow${API}/model-versions/search`,
        `POST /mlflow${API}/model-versions/set-tag`,
        `POST /mlflow${API}/model-versions/set-tag`,
        `POST /mlflow${API}/registered-models/alias`,
        `POST /mlflow${API}/model-versions/set-tag`,
      ]);
      const [intent, quarantine, move, done] = fake.requests.slice(2).map((r) => r.json) as {
        name: string;
        version: string;
        key?: string;
        value?: string;
        alias?: string;
      }[];
      expect(intent).toMatchObject({
        name: 'fraud-detection',
        version: '4',
        key: 'warden.rollback.champion',
      });
      const record = JSON.parse(intent?.value ?? '{}') as Record<string, unknown>;
      expect(record).toMatchObject({
        key: 'run-9/step-rollback',
        alias: 'champion',
        from: '4',
        to: '1',
        case: 12,
        reason: 'hash mismatch',
      });
      expect(typeof record.at).toBe('string');
      expect(quarantine).toEqual({
        name: 'fraud-detection',
        version: '4',
        key: 'warden.quarantined',
        value: 'true',
      });
      expect(move).toEqual({ name: 'fraud-detection', alias: 'champion', version: '1' });
      expect(done).toEqual({
        name: 'fraud-detection',
        version: '1',
        key: 'warden.rolled_back_from.champion',
        value: intent?.value,
      });
      // The alias move is what the case shows.
      expect(result.exchange?.url).toContain('registered-models/alias');
      expect(result.exchange?.requestBody).toContain('"version":"1"');
    });

    it('rolls back to an explicit to_version on another alias', async () => {
      fake
        .enqueueFor(
          { path: `/mlflow${API}/registered-models/alias`, method: 'GET' },
          { body: { model_version: versionJson('3', {}, ['prod']) } },
        )
        .enqueueFor(
          { path: `/mlflow${API}/model-versions/search` },
          { body: { model_versions: [versionJson('3'), versionJson('2'), versionJson('1')] } },
        )
        .route({ method: 'POST' }, { body: {} });
      const result = await connector.invoke(
        call('rollback', { name: 'fraud-detection', alias: 'prod', to_version: 1 }),
      );
      expect(result.output).toMatchObject({ alias: 'prod', from_version: '3', to_version: '1' });
      expect(fake.requests[4]?.json).toEqual({
        name: 'fraud-detection',
        alias: 'prod',
        version: '1',
      });
    });

    it('is rejected, without writing, when no known-good older version exists', async () => {
      fake
        .enqueueFor(
          { path: `/mlflow${API}/registered-models/alias` },
          { body: { model_version: versionJson('2', {}, ['champion']) } },
        )
        .enqueueFor(
          { path: `/mlflow${API}/model-versions/search` },
          {
            body: {
              model_versions: [
                versionJson('2', {}, ['champion']),
                versionJson('1', { artifact_sha256: HASH_1, 'warden.known_good': 'false' }),
              ],
            },
          },
        );
      const error = await failure(call('rollback', { name: 'fraud-detection' }));
      expect(error.code).toBe('rejected');
      expect(error.message).toContain(
        'no known-good version of fraud-detection older than version 2',
      );
      expect(fake.requests.every((request) => request.method === 'GET')).toBe(true);
    });

    it('is rejected when the alias is not set', async () => {
      fake
        .enqueueFor(
          { path: `/mlflow${API}/registered-models/alias` },
          mlflowError(400, 'INVALID_PARAMETER_VALUE', 'Registered model alias champion not found.'),
        )
        .enqueueFor(
          { path: `/mlflow${API}/model-versions/search` },
          { body: { model_versions: [versionJson('1')] } },
        );
      const error = await failure(call('rollback', { name: 'fraud-detection' }));
      expect(error.code).toBe('rejected');
      expect(error.message).toContain('fraud-detection@champion is not set');
    });

    it('refuses to roll back to a quarantined to_version', async () => {
      fake
        .enqueueFor(
          { path: `/mlflow${API}/registered-models/alias` },
          { body: { model_version: versionJson('3', {}, ['champion']) } },
        )
        .enqueueFor(
          { path: `/mlflow${API}/model-versions/search` },
          {
            body: {
              model_versions: [
                versionJson('3'),
                versionJson('2', { 'warden.quarantined': 'TRUE' }),
              ],
            },
          },
        );
      const error = await failure(call('rollback', { name: 'fraud-detection', to_version: '2' }));
      expect(error.code).toBe('rejected');
      expect(error.message).toContain('quarantined');
    });

    it('sets an alias, and does nothing when it already points there', async () => {
      fake
        .enqueue({ body: { model_version: versionJson('3', {}, ['champion']) } }, { body: {} })
        .enqueue({ body: { model_version: versionJson('2', {}, ['champion']) } });
      const moved = await connector.invoke(
        call('set_alias', { name: 'fraud-detection', alias: 'champion', version: 2 }),
      );
      expect(moved.output).toEqual({
        name: 'fraud-detection',
        alias: 'champion',
        version: '2',
        previous_version: '3',
        changed: true,
      });
      expect(fake.requests[1]?.json).toEqual({
        name: 'fraud-detection',
        alias: 'champion',
        version: '2',
      });
      const again = await connector.invoke(
        call('set_alias', { name: 'fraud-detection', alias: 'champion', version: '2' }),
      );
      expect(again.output).toMatchObject({ changed: false, previous_version: '2' });
      expect(fake.requests).toHaveLength(3);
    });

    it('quarantines a version: the record, then the flag', async () => {
      fake.route({ method: 'POST' }, { body: {} });
      const result = await connector.invoke(
        call(
          'quarantine_version',
          { name: 'fraud-detection', version: 3, case: 'CASE-4', reason: 'poisoned' },
          { idempotencyKey: 'q-key' },
        ),
      );
      expect(result.output).toEqual({ name: 'fraud-detection', version: '3', quarantined: true });
      const [record, flag] = fake.requests.map((r) => r.json) as { key: string; value: string }[];
      expect(record?.key).toBe('warden.quarantine_record');
      expect(JSON.parse(record?.value ?? '{}')).toMatchObject({
        case: 'CASE-4',
        reason: 'poisoned',
        key: 'q-key',
      });
      expect(flag).toEqual({
        name: 'fraud-detection',
        version: '3',
        key: 'warden.quarantined',
        value: 'true',
      });
    });

    it('reconciles set_alias and quarantine_version by reading the registry', async () => {
      fake.enqueue(
        { body: { model_version: versionJson('2', {}, ['champion']) } },
        { body: { model_version: versionJson('3', {}, ['champion']) } },
        { body: { model_version: versionJson('3', { 'warden.quarantined': 'true' }) } },
        { body: { model_version: versionJson('3') } },
      );
      const setAlias = call('set_alias', {
        name: 'fraud-detection',
        alias: 'champion',
        version: 2,
      });
      expect(await connector.reconcile?.(setAlias)).toMatchObject({
        state: 'done',
        result: { output: { version: '2', previous_version: null } },
      });
      expect((await connector.reconcile?.(setAlias))?.state).toBe('not_done');
      const quarantine = call('quarantine_version', { name: 'fraud-detection', version: 3 });
      expect((await connector.reconcile?.(quarantine))?.state).toBe('done');
      expect((await connector.reconcile?.(quarantine))?.state).toBe('not_done');
    });
  });

  describe('configuration', () => {
    const base = (extra: string) =>
      `    type: mlflow\n    base_url: https://mlflow.bank.example/prefix/\n${extra}`;

    it('sends basic auth from username and password, recording only the template', async () => {
      const basic = loadMlflow(
        `    type: mlflow\n    base_url: ${fake.url}/mlflow\n    username: warden-bot\n    password: "\${secret:MLFLOW_PASSWORD}"\n`,
        { MLFLOW_PASSWORD: 'pa55-word' },
      );
      fake.enqueue((request) => ({ status: 403, body: { echoed: request.headers } }));
      const error = await basic.invoke(call('get_model_version', { name: 'm', version: 1 })).then(
        () => undefined,
        (thrown: unknown) => thrown as ConnectorError,
      );
      const expected = Buffer.from('warden-bot:pa55-word').toString('base64');
      expect(fake.requests[0]?.headers.authorization).toBe(`Basic ${expected}`);
      expect(error?.code).toBe('unauthorized');
      const recorded = JSON.stringify(error?.exchange);
      expect(recorded).toContain('Basic base64(warden-bot:${secret:MLFLOW_PASSWORD})');
      expect(recorded).not.toContain(expected);
      expect(recorded).not.toContain('pa55-word');
    });

    it('reads every key and keeps the base_url path prefix', () => {
      const loaded = loadMlflow(
        base(
          '    token: "${secret:T}"\n    timeout: 3s\n    concurrency: 2\n    rate_limit: 10/s\n    hash_tag: sha\n    known_good_tag: approved\n    default_alias: prod\n',
        ),
        { T: 'x' },
      );
      expect(loaded.type).toBe('mlflow');
      expect(loaded.concurrency).toBe(2);
      expect(loaded.rateLimit).toEqual({ requests: 10, intervalMs: 1000 });
      expect(Object.keys(loaded.actions).sort()).toEqual([
        'deployment_history',
        'get_model_version',
        'get_registered_model',
        'get_version_by_alias',
        'list_versions',
        'quarantine_version',
        'rollback',
        'set_alias',
        'tag_version',
        'verify_hash',
      ]);
    });

    it.each([
      ['    token: plain-text-token\n', 'token must be a ${secret:NAME} reference'],
      [
        '    token: "${secret:T}"\n    username: u\n    password: "${secret:P}"\n',
        'username cannot be used with token',
      ],
      ['    username: u\n', 'username needs password'],
      ['    password: "${secret:P}"\n', 'password needs username'],
      ['    default_alias: latest\n', 'default_alias "latest" is reserved'],
      ['    default_alias: "bad alias!"\n', 'default_alias must be an alias name'],
      ['    hash_tag: "a*b"\n', 'hash_tag must be an MLflow tag key'],
      ['    headers: { a: b }\n', 'headers'],
      ['    token: "${secret:MISSING}"\n', 'MISSING'],
    ])('refuses %j', (extra, expected) => {
      expect(loadError(base(extra), { T: 'x', P: 'y' })).toContain(expected);
    });

    it('refuses a base_url with credentials, or none', () => {
      expect(loadError('    type: mlflow\n    base_url: https://u:p@mlflow.example\n')).toContain(
        'base_url must not contain credentials',
      );
      expect(loadError('    type: mlflow\n')).toContain('base_url');
    });
  });
});
