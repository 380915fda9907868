import { describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import {
  ConnectorError,
  toConnectorError,
  type Connector,
  type ConnectorCall,
  type ConnectorResult,
  type JsonValue,
} from './connector.js';
import { guardConnector } from './guarded-connector.js';

const OBJECT = { type: 'object' };

function fakeConnector(
  invoke: (call: ConnectorCall) => Promise<ConnectorResult>,
  overrides: Partial<Connector> = {},
): Connector {
  return {
    name: 'fake',
    type: 'test',
    concurrency: 1,
    actions: {
      get: {
        name: 'get',
        description: '',
        effect: 'read',
        inputSchema: OBJECT,
        outputSchema: OBJECT,
      },
      put: {
        name: 'put',
        description: '',
        effect: 'write',
        inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
        outputSchema: { type: 'object', required: ['ok'] },
      },
    },
    invoke,
    ...overrides,
  };
}

function call(action: string, input: JsonValue, signal = AbortSignal.timeout(5000)): ConnectorCall {
  return { action, input, idempotencyKey: 'k', attempt: 1, signal };
}

describe('guardConnector', () => {
  it('returns the same guard when guarding twice', () => {
    const guarded = guardConnector(fakeConnector(() => Promise.resolve({ output: {} })));
    expect(guardConnector(guarded)).toBe(guarded);
  });

  it('rejects unknown actions and invalid input without invoking', async () => {
    let calls = 0;
    const guarded = guardConnector(
      fakeConnector(() => {
        calls += 1;
        return Promise.resolve({ output: { ok: true } });
      }),
    );
    await expect(guarded.invoke(call('delete', {}))).rejects.toThrow(
      'fake: no action "delete" (actions: get, put)',
    );
    await expect(guarded.invoke(call('put', { n: 'one' }))).rejects.toMatchObject({
      code: 'invalid_input',
      message: 'fake.put: input.n must be integer',
    });
    expect(calls).toBe(0);
    await guarded.invoke(call('put', { n: 1 }));
    expect(calls).toBe(1);
  });

  it('checks the output against the schema', async () => {
    const exchange = { startedAt: '', method: 'GET', url: 'u', requestHeaders: {}, durationMs: 1 };
    const guarded = guardConnector(
      fakeConnector(() => Promise.resolve({ output: { nope: 1 }, exchange })),
    );
    await expect(guarded.invoke(call('put', { n: 1 }))).rejects.toMatchObject({
      code: 'invalid_output',
      retryable: false,
      exchange,
    });
  });

  it('normalises anything thrown', async () => {
    const guarded = guardConnector(fakeConnector(() => Promise.reject(new TypeError('boom'))));
    const error = await guarded.invoke(call('get', {})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'internal', retryable: false, message: 'fake.get: boom' });
  });

  it('runs at most `concurrency` calls at once and times out waiters at their deadline', async () => {
    let active = 0;
    let most = 0;
    const guarded = guardConnector(
      fakeConnector(
        async () => {
          active += 1;
          most = Math.max(most, active);
          await new Promise((resolve) => setTimeout(resolve, 50));
          active -= 1;
          return { output: {} };
        },
        { concurrency: 2 },
      ),
    );
    await Promise.all([1, 2, 3, 4, 5].map(() => guarded.invoke(call('get', {}))));
    expect(most).toBe(2);

    const blocked = guardConnector(fakeConnector(() => new Promise(() => undefined)));
    void blocked.invoke(call('get', {})).catch(() => undefined);
    await expect(blocked.invoke(call('get', {}, AbortSignal.timeout(30)))).rejects.toMatchObject({
      code: 'timeout',
    });
  });

  it('applies the rate limit', async () => {
    const guarded = guardConnector(
      fakeConnector(() => Promise.resolve({ output: {} }), {
        concurrency: 10,
        rateLimit: { requests: 2, intervalMs: 100 },
      }),
    );
    const started = performance.now();
    await Promise.all([1, 2, 3, 4].map(() => guarded.invoke(call('get', {}))));
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('reconciles reads and never-sent calls as not done, others by the connector or unknown', async () => {
    const without = guardConnector(fakeConnector(() => Promise.resolve({ output: { ok: true } })));
    expect(await without.reconcile?.(call('get', {}))).toEqual({ state: 'not_done' });
    expect(await without.reconcile?.(call('put', { n: 'x' }))).toEqual({ state: 'not_done' });
    expect(await without.reconcile?.(call('put', { n: 1 }))).toEqual({ state: 'unknown' });

    const failing = guardConnector(
      fakeConnector(() => Promise.resolve({ output: { ok: true } }), {
        reconcile: () => Promise.reject(new ConnectorError('unavailable', 'down')),
      }),
    );
    expect(await failing.reconcile?.(call('put', { n: 1 }))).toMatchObject({
      state: 'unknown',
      error: { code: 'unavailable' },
    });
  });

  it('refuses a connector whose schemas do not compile', () => {
    expect(() =>
      guardConnector(
        fakeConnector(() => Promise.resolve({ output: {} }), {
          actions: {
            bad: {
              name: 'bad',
              description: '',
              effect: 'read',
              inputSchema: { tyep: 'x' },
              outputSchema: {},
            },
          },
        }),
      ),
    ).toThrow(/action bad: input schema: strict mode: unknown keyword: "tyep"/);
  });
});

describe('toConnectorError', () => {
  it('keeps connector errors, turns aborts into timeouts and config errors into misconfigured', () => {
    const original = new ConnectorError('rate_limited', 'slow', { retryAfterMs: 5 });
    expect(toConnectorError(original)).toBe(original);
    expect(toConnectorError(new DOMException('gone', 'TimeoutError'), 'x.y')).toMatchObject({
      code: 'timeout',
      retryable: true,
    });
    expect(toConnectorError(new WardenError('invalid_config', 'bad url'))).toMatchObject({
      code: 'misconfigured',
      retryable: false,
    });
    expect(toConnectorError('a string')).toMatchObject({ code: 'internal', message: 'a string' });
  });

  it('redacts the message and drops a cause that held a secret', () => {
    const error = toConnectorError(new Error('token abc123 rejected'), 'ti.get', (t) =>
      t.replace('abc123', '[redacted]'),
    );
    expect(error.message).toBe('ti.get: token [redacted] rejected');
    expect(error.cause).toBeUndefined();
  });
});
