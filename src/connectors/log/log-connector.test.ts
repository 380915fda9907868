import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConnectorError, NOTIFY_ACTION, type ConnectorCall, type JsonValue } from '../connector.js';
import { guardConnector } from '../guarded-connector.js';
import { createLogConnector, streamLogSink, type LogSink } from './log-connector.js';

const NOW = new Date('2025-03-01T12:00:00.000Z');

function setup(sink?: LogSink) {
  const lines: string[] = [];
  const connector = guardConnector(
    createLogConnector({
      sink: sink ?? { write: (line) => void lines.push(line) },
      now: () => NOW,
    }),
  );
  return { lines, connector };
}

function call(action: string, input: JsonValue, idempotencyKey = 'run-1:notify'): ConnectorCall {
  return { action, input, idempotencyKey, attempt: 1, signal: AbortSignal.timeout(5000) };
}

describe('the log connector', () => {
  it('writes one JSON line per call with the key, level, message and fields', async () => {
    const { lines, connector } = setup();
    const result = await connector.invoke(
      call('write', { message: 'blocked 203.0.113.0/24', level: 'warn', fields: { case: 4 } }),
    );
    expect(result).toEqual({ output: { written: true, time: NOW.toISOString() } });
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        time: NOW.toISOString(),
        connector: 'log',
        action: 'write',
        idempotencyKey: 'run-1:notify',
        level: 'warn',
        message: 'blocked 203.0.113.0/24',
        fields: { case: 4 },
      },
    ]);
  });

  it('serves notify steps: message and recipient', async () => {
    const { lines, connector } = setup();
    expect(connector.actions[NOTIFY_ACTION]?.effect).toBe('write');
    await connector.invoke(
      call(NOTIFY_ACTION, { message: 'case #4 contained', to: 'ml-retail@bank.example' }),
    );
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      action: 'notify',
      level: 'info',
      message: 'case #4 contained',
      to: 'ml-retail@bank.example',
    });
  });

  it('writes a repeated key once and returns the first result', async () => {
    const { lines, connector } = setup();
    const first = await connector.invoke(call('write', { message: 'once' }, 'k'));
    const again = await connector.invoke({
      ...call('write', { message: 'once' }, 'k'),
      attempt: 2,
    });
    await Promise.all([
      connector.invoke(call('write', { message: 'concurrent' }, 'c')),
      connector.invoke(call('write', { message: 'concurrent' }, 'c')),
    ]);
    expect(again).toEqual(first);
    expect(lines).toHaveLength(2);
  });

  it('rejects input its schema does not allow, writing nothing', async () => {
    const { lines, connector } = setup();
    const inputs: JsonValue[] = [
      {},
      { message: '' },
      { message: 'x', level: 'debug' },
      { message: 'x', extra: 1 },
    ];
    for (const input of inputs) {
      await expect(connector.invoke(call('write', input))).rejects.toMatchObject({
        code: 'invalid_input',
      });
    }
    expect(lines).toHaveLength(0);
  });

  it('reports a failing sink as unavailable and does not remember the key', async () => {
    let fail = true;
    const lines: string[] = [];
    const { connector } = setup({
      write: (line) => {
        if (fail) throw new Error('disk full');
        lines.push(line);
      },
    });
    const error = await connector
      .invoke(call('write', { message: 'x' }, 'k'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    fail = false;
    await connector.invoke(call('write', { message: 'x' }, 'k'));
    expect(lines).toHaveLength(1);
  });

  it('reconciles: a key written in this process is done, any other not done', async () => {
    const { connector } = setup();
    const result = await connector.invoke(call('write', { message: 'x' }, 'seen'));
    expect(await connector.reconcile?.(call('write', { message: 'x' }, 'seen'))).toEqual({
      state: 'done',
      result,
    });
    expect(await connector.reconcile?.(call('write', { message: 'x' }, 'unseen'))).toEqual({
      state: 'not_done',
    });
  });

  it('forgets the oldest keys beyond its memory', async () => {
    const lines: string[] = [];
    const connector = createLogConnector({
      sink: { write: (line) => void lines.push(line) },
      rememberKeys: 2,
    });
    for (const key of ['a', 'b', 'c', 'a'])
      await connector.invoke(call('write', { message: key }, key));
    expect(lines).toHaveLength(4);
  });
});

describe('streamLogSink', () => {
  it('writes each line with a newline', async () => {
    const stream = new PassThrough();
    const connector = createLogConnector({ sink: streamLogSink(stream), now: () => NOW });
    await connector.invoke(call('write', { message: 'x' }));
    expect(String(stream.read())).toMatch(
      /^\{"time":"2025-03-01T12:00:00.000Z",.*"message":"x"\}\n$/,
    );
  });
});
