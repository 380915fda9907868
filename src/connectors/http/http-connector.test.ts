import { describe, expect, it } from 'vitest';
import {
  connectorFailure,
  fakeHttpServiceForSuite,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import { FakeHttpService } from '../../../test/support/fake-http-service.js';
import type { Connector } from '../connector.js';
import { describeHttpConnectorContract } from '../connector.contract.js';
import { contractSetup, loadHttpConnector } from './http-connector.test-support.js';

describeHttpConnectorContract('http with idempotency_header', contractSetup('Idempotency-Key'));
describeHttpConnectorContract('http without idempotency_header', contractSetup());

describe('the http connector', () => {
  const fake = fakeHttpServiceForSuite();

  const call = numberedCalls('k');
  function connector(actions: string, instance = ''): Connector {
    return loadHttpConnector(
      `
connectors:
  svc:
    type: http
    base_url: ${fake.url}/prefix/
    headers: { X-Api-Key: "\${secret:KEY}" }
${instance}    actions:
${actions}`,
      { KEY: 'key-value-123' },
    );
  }

  it('URL-encodes path placeholders, maps the query and keeps the base path', async () => {
    const svc = connector(`
      search:
        method: GET
        path: /ranges/{cidr}/hits
        input:
          cidr: string
          tags: { type: array, items: { type: string }, optional: true }
          limit: { type: integer, optional: true }
        query: { tag: tags, limit: limit }
`);
    fake.enqueue({ body: [] }, { body: [] });
    await svc.invoke(call('search', { cidr: '203.0.113.0/24', tags: ['a b', 'c'], limit: 5 }));
    await svc.invoke(call('search', { cidr: '198.51.100.0/24' }));
    expect(fake.requests[0]?.path).toBe('/prefix/ranges/203.0.113.0%2F24/hits');
    expect(fake.requests[0]?.query.getAll('tag')).toEqual(['a b', 'c']);
    expect(fake.requests[0]?.query.get('limit')).toBe('5');
    expect([...(fake.requests[1]?.query.keys() ?? [])]).toEqual([]);
  });

  it('records secret-bearing headers as written, with the reference instead of the value', async () => {
    const svc = connector(`
      ping: { method: GET, path: /ping }
`);
    fake.enqueue({ body: { pong: true } });
    const result = await svc.invoke(call('ping', {}));
    expect(fake.requests[0]?.headers['x-api-key']).toBe('key-value-123');
    expect(result.exchange?.requestHeaders['X-Api-Key']).toBe('${secret:KEY}');
    expect(result.exchange?.url).toBe(`${fake.url}/prefix/ping`);
    expect(result.output).toEqual({ pong: true });
  });

  it('lets action headers override instance headers whatever their case', async () => {
    const svc = connector(`
      other:
        method: POST
        path: /other
        headers: { x-api-key: "other-\${secret:KEY}", Content-Type: application/vnd.api+json }
        body: input
`);
    fake.enqueue({ body: {} });
    const result = await svc.invoke(call('other', {}));
    expect(fake.requests[0]?.headers['x-api-key']).toBe('other-key-value-123');
    expect(fake.requests[0]?.headers['content-type']).toBe('application/vnd.api+json');
    expect(result.exchange?.requestHeaders['x-api-key']).toBe('other-${secret:KEY}');
    expect(JSON.stringify(result.exchange)).not.toContain('key-value-123');
  });

  it('returns the whole JSON body, the text, or null without an output mapping', async () => {
    const svc = connector(`
      send: { method: POST, path: /send, body: input }
`);
    fake.enqueue(
      { body: { id: 9 } },
      { body: 'ok', headers: { 'content-type': 'text/plain' } },
      { status: 204 },
    );
    expect((await svc.invoke(call('send', { any: ['thing'] }))).output).toEqual({ id: 9 });
    expect(fake.requests[0]?.json).toEqual({ any: ['thing'] });
    expect(fake.requests[0]?.headers['content-type']).toBe('application/json');
    expect((await svc.invoke(call('send', {}))).output).toBe('ok');
    expect((await svc.invoke(call('send', {}))).output).toBeNull();
  });

  it('fails with invalid_output when a mapped field is missing, and leaves optional ones out', async () => {
    const svc = connector(`
      score:
        method: GET
        path: /score
        output: { score: result.items.0.score, label: result.label? }
`);
    fake.enqueue(
      { body: { result: { items: [{ score: 3 }] } } },
      { body: { result: {} } },
      { body: 'nope' },
    );
    expect((await svc.invoke(call('score', {}))).output).toEqual({ score: 3 });
    const missing = await connectorFailure(svc.invoke(call('score', {})));
    expect(missing).toMatchObject({ code: 'invalid_output', retryable: false });
    expect(missing.message).toContain('result.items.0.score');
    expect(missing.exchange?.status).toBe(200);
    expect((await connectorFailure(svc.invoke(call('score', {})))).message).toContain('not JSON');
  });

  it('does not follow redirects, so a credential cannot travel to another origin', async () => {
    const svc = connector(`
      ping: { method: GET, path: /ping }
`);
    fake.enqueue({ status: 302, headers: { location: 'http://203.0.113.9/steal' } });
    const error = await connectorFailure(svc.invoke(call('ping', {})));
    expect(error).toMatchObject({ code: 'rejected', status: 302 });
    expect(fake.requests).toHaveLength(1);
  });

  it('reports a refused connection as unavailable and retryable, even for a write', async () => {
    const closed = await FakeHttpService.start();
    const url = closed.url;
    await closed.close();
    const svc = loadHttpConnector(`
connectors:
  down:
    type: http
    base_url: ${url}
    actions:
      post: { method: POST, path: /x, body: input }
`);
    const error = await connectorFailure(svc.invoke(call('post', {})));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.exchange?.status).toBeUndefined();
  });

  it('truncates the recorded response body, not the output', async () => {
    const svc = connector(`
      big: { method: GET, path: /big }
`);
    const text = 'x'.repeat(40_000);
    fake.enqueue({ body: { text } });
    const result = await svc.invoke(call('big', {}));
    expect(result.output).toEqual({ text });
    expect(result.exchange?.responseBodyTruncated).toBe(true);
    expect(result.exchange?.responseBody?.length).toBe(16 * 1024);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const svc = connector(
      `
      slow: { method: GET, path: /slow }
`,
      '    concurrency: 2\n',
    );
    let inFlight = 0;
    let most = 0;
    fake.route({ path: '/prefix/slow' }, async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 100));
      inFlight -= 1;
      return { body: {} };
    });
    await Promise.all([1, 2, 3, 4, 5].map(() => svc.invoke(call('slow', {}))));
    expect(fake.requests).toHaveLength(5);
    expect(most).toBe(2);
  });

  it('spaces requests out to the rate limit', async () => {
    const svc = connector(
      `
      ping: { method: GET, path: /ping }
`,
      '    rate_limit: 10/s\n',
    );
    fake.route({}, { body: {} });
    const started = performance.now();
    // 10 leave at once (the burst); 3 more need 100 ms each.
    await Promise.all(Array.from({ length: 13 }, () => svc.invoke(call('ping', {}))));
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('sends the idempotency header on writes only', async () => {
    const svc = connector(
      `
      get: { method: GET, path: /thing }
      put: { method: PUT, path: /thing, body: input }
      search: { method: POST, path: /search, body: input, effect: read }
`,
      '    idempotency_header: Idempotency-Key\n',
    );
    expect(svc.actions.get?.effect).toBe('read');
    expect(svc.actions.put?.effect).toBe('write');
    expect(svc.actions.search?.effect).toBe('read');
    fake.route({}, { body: {} });
    await svc.invoke(call('get', {}));
    const put = call('put', {});
    await svc.invoke(put);
    await svc.invoke(call('search', {}));
    expect(fake.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      undefined,
      put.idempotencyKey,
      undefined,
    ]);
  });
});
