import { beforeAll, describe, expect, it } from 'vitest';
import { guardConnector } from '../../src/connectors/guarded-connector.js';
import type { Connector, ConnectorCall, JsonValue } from '../../src/connectors/connector.js';
import { createMlflowConnector } from '../../src/connectors/mlflow/mlflow-connector.js';
import { connectorCall, fakeHttpServiceForSuite } from '../support/connector-test-kit.js';
import { sharedFixtures } from '../support/shared-fixtures.js';

/**
 * The mlflow connector against the MLflow payloads in ../shared/fixtures
 * (reconstructed from model_registry.proto), when a checkout sits next to
 * ../shared; a user's clone has no such folder, so the suite skips.
 * A `_request` key in those files is an annotation, not payload.
 */
const fixtures = sharedFixtures('mlflow conformance suite');

function fixture(name: string): { request: string; payload: Record<string, unknown> } {
  const { _request: request, ...payload } = fixtures.json<Record<string, unknown>>(name);
  return { request: typeof request === 'string' ? request : '', payload };
}

/** `GET /api/2.0/mlflow/model-versions/get?name=fraud-llm&version=7` → method, path, query. */
function annotatedRequest(request: string): {
  method: string;
  path: string;
  query: URLSearchParams;
} {
  const [method = '', target = ''] = request.trim().split(/\s+/);
  const url = new URL(target, 'http://annotation');
  return { method, path: url.pathname, query: url.searchParams };
}

describe.skipIf(!fixtures.present)('mlflow fixtures conformance', () => {
  const fake = fakeHttpServiceForSuite();
  let connector: Connector;

  beforeAll(() => {
    connector = guardConnector(
      createMlflowConnector({
        name: 'model_registry',
        baseUrl: fake.url,
        auth: { type: 'bearer', token: { value: 't', recorded: '${secret:MLFLOW_TOKEN}' } },
        timeoutMs: 5000,
      }),
    );
  });

  function call(action: string, input: JsonValue): ConnectorCall {
    return connectorCall(action, input, `conformance-${action}`);
  }

  function expectSameRequest(annotation: string): void {
    const expected = annotatedRequest(annotation);
    const sent = fake.requests[0];
    expect(sent?.method).toBe(expected.method);
    expect(sent?.path).toBe(expected.path);
    for (const [key, value] of expected.query) expect(sent?.query.get(key), key).toBe(value);
  }

  it('reads mlflow_get_model_version_response.json', async () => {
    const { request, payload } = fixture('mlflow_get_model_version_response.json');
    fake.enqueue({ body: payload });
    const result = await connector.invoke(
      call('get_model_version', { name: 'fraud-llm', version: '7' }),
    );
    expectSameRequest(request);
    expect(result.output).toMatchObject({
      found: true,
      name: 'fraud-llm',
      version: '7',
      status: 'READY',
      aliases: ['champion'],
      artifact_sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      known_good: true,
      run_id: '3f0c2a1e6b1d4d559b0e1a2b3c4d5e6f',
    });
    expect((result.output as { created_at: string }).created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('reads mlflow_get_model_version_by_alias_response.json', async () => {
    const { request, payload } = fixture('mlflow_get_model_version_by_alias_response.json');
    fake.enqueue({ body: payload });
    const result = await connector.invoke(
      call('get_version_by_alias', { name: 'fraud-llm', alias: 'champion' }),
    );
    expectSameRequest(request);
    expect(result.output).toMatchObject({ found: true, alias: 'champion', version: '7' });
  });

  it('reads mlflow_get_registered_model_response.json', async () => {
    const { request, payload } = fixture('mlflow_get_registered_model_response.json');
    fake.enqueue({ body: payload });
    const result = await connector.invoke(call('get_registered_model', { name: 'fraud-llm' }));
    expectSameRequest(request);
    expect(result.output).toMatchObject({
      found: true,
      name: 'fraud-llm',
      aliases: { champion: '7' },
      tags: { owner: 'ml-platform' },
      latest_versions: [{ version: '7' }],
    });
  });

  it('reads mlflow_search_model_versions_response.json', async () => {
    const { request, payload } = fixture('mlflow_search_model_versions_response.json');
    fake.enqueue({ body: payload });
    const result = await connector.invoke(call('list_versions', { name: 'fraud-llm' }));
    const expected = annotatedRequest(request);
    expect(fake.requests[0]?.path).toBe(expected.path);
    expect(fake.requests[0]?.query.get('filter')).toBe(expected.query.get('filter'));
    const output = result.output as { versions: { version: string; known_good: boolean }[] };
    expect(output.versions.map((version) => [version.version, version.known_good])).toEqual([
      ['7', true],
      ['6', false],
    ]);
  });

  it('reads mlflow_error_response.json as found: false', async () => {
    const { payload } = fixture('mlflow_error_response.json');
    fake.enqueue({ status: 404, body: payload });
    const result = await connector.invoke(call('get_registered_model', { name: 'fraud-llm' }));
    expect(result.output).toEqual({ found: false, name: 'fraud-llm' });
  });

  it('sends the bodies of mlflow_set_alias_request.json and mlflow_set_model_version_tag_request.json', async () => {
    const alias = fixture('mlflow_set_alias_request.json');
    const tag = fixture('mlflow_set_model_version_tag_request.json');
    fake.enqueue(
      {
        status: 400,
        body: {
          error_code: 'INVALID_PARAMETER_VALUE',
          message: 'Registered model alias champion not found.',
        },
      },
      { body: {} },
      { body: {} },
    );
    await connector.invoke(call('set_alias', { name: 'fraud-llm', alias: 'champion', version: 6 }));
    expect(fake.requests[1]?.method).toBe(annotatedRequest(alias.request).method);
    expect(fake.requests[1]?.path).toBe(annotatedRequest(alias.request).path);
    expect(fake.requests[1]?.json).toEqual(alias.payload);

    const { name, version, key, value } = tag.payload as Record<string, string>;
    await connector.invoke(call('tag_version', { name, version, key, value } as JsonValue));
    expect(fake.requests[2]?.path).toBe(annotatedRequest(tag.request).path);
    expect(fake.requests[2]?.json).toEqual(tag.payload);
  });
});
