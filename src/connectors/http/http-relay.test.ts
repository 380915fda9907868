import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeHttpConnectorContract } from '../connector.contract.js';
import {
  nodeHttpTransport,
  useHttpTransport,
  type HttpTransport,
  type WireRequest,
} from './http-exchange.js';
import { contractSetup } from './http-connector.test-support.js';
import { relayedHttpTransport, serveHttpRelay } from './http-relay.js';

// The whole HTTP connector contract (timeouts, deadlines, refused connections,
// status mapping, redaction) through a relay, as the writer thread sends it.
describe('through the thread relay', () => {
  const channel = new MessageChannel();
  let relayed = 0;
  const counted: HttpTransport = (request, signal) => {
    relayed += 1;
    return nodeHttpTransport(request, signal);
  };
  beforeAll(() => {
    serveHttpRelay(channel.port1, counted);
    useHttpTransport(relayedHttpTransport(channel.port2));
  });
  afterAll(() => {
    useHttpTransport(nodeHttpTransport);
    channel.port1.close();
  });
  describeHttpConnectorContract('http relayed', contractSetup('Idempotency-Key'));
  it('sent every request of the contract through the relay', () => {
    expect(relayed).toBeGreaterThan(10);
  });
});

describe('the HTTP relay', () => {
  let server: Server;
  let url: string;
  let arrived = 0;
  let closedEarly = 0;
  const channels: MessageChannel[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      arrived += 1;
      request.on('close', () => {
        if (!response.writableEnded) closedEarly += 1;
      });
      if (request.url === '/slow') return; // never answers
      if (request.url === '/big') {
        response.end('x'.repeat(5000));
        return;
      }
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        response.setHeader('content-type', 'application/json');
        response.setHeader('x-request-id', 'r-1');
        response.end(JSON.stringify({ method: request.method, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  afterEach(() => {
    for (const channel of channels.splice(0)) channel.port1.close();
  });

  function relay(): ReturnType<typeof relayedHttpTransport> {
    const channel = new MessageChannel();
    channels.push(channel);
    serveHttpRelay(channel.port1);
    return relayedHttpTransport(channel.port2);
  }

  const request = (path: string, extra: Partial<WireRequest> = {}): WireRequest => ({
    method: 'POST',
    url: `${url}${path}`,
    headers: { 'content-type': 'text/plain' },
    body: 'hello',
    timeoutMs: 5000,
    maxResponseBytes: 1024,
    ...extra,
  });

  it('sends the request and returns status, headers and body', async () => {
    const outcome = await relay()(request('/echo'), new AbortController().signal);
    expect(outcome).toMatchObject({
      kind: 'response',
      status: 200,
      headers: { 'x-request-id': 'r-1' },
    });
    expect(JSON.parse((outcome as { text: string }).text)).toEqual({
      method: 'POST',
      body: 'hello',
    });
  });

  it('carries the deadline across: an abort cuts the request at the socket', async () => {
    const send = relay();
    const deadline = new AbortController();
    const [arrivedBefore, closedBefore] = [arrived, closedEarly];
    const pending = send(request('/slow'), deadline.signal);
    while (arrived === arrivedBefore) await new Promise((r) => setTimeout(r, 5));
    deadline.abort();
    expect(await pending).toMatchObject({ kind: 'no_response', abandoned: 'deadline' });
    // The server sees the connection cut, long before the 5 s timeout.
    while (closedEarly === closedBefore) await new Promise((r) => setTimeout(r, 5));
  });

  it('answers a past deadline without sending anything', async () => {
    const deadline = new AbortController();
    deadline.abort();
    const before = arrived;
    expect(await relay()(request('/echo'), deadline.signal)).toMatchObject({
      kind: 'no_response',
      abandoned: 'deadline',
    });
    expect(arrived).toBe(before);
  });

  it('applies the timeout and the body limit where the socket is', async () => {
    const send = relay();
    expect(
      await send(request('/slow', { timeoutMs: 50 }), new AbortController().signal),
    ).toMatchObject({ kind: 'no_response', abandoned: 'timeout' });
    expect(await send(request('/big'), new AbortController().signal)).toMatchObject({
      kind: 'broken_body',
      status: 200,
      tooLarge: true,
    });
  });

  it('reports a refused connection with its system code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(
      await relay()(
        request('/', { url: `http://127.0.0.1:${port}/` }),
        new AbortController().signal,
      ),
    ).toMatchObject({ kind: 'no_response', code: 'ECONNREFUSED' });
  });

  it('answers a transport that throws as a failed exchange instead of leaving the caller waiting', async () => {
    const channel = new MessageChannel();
    channels.push(channel);
    serveHttpRelay(channel.port1, () => Promise.reject(new Error('transport bug')));
    expect(
      await relayedHttpTransport(channel.port2)(request('/echo'), new AbortController().signal),
    ).toEqual({ kind: 'no_response', message: 'Error: transport bug' });
  });

  it('fails waiting and later requests when the sending side has gone', async () => {
    const channel = new MessageChannel();
    serveHttpRelay(channel.port1);
    const send = relayedHttpTransport(channel.port2);
    const pending = send(request('/slow'), new AbortController().signal);
    channel.port1.close();
    expect(await pending).toMatchObject({
      kind: 'no_response',
      message: 'the thread that sends HTTP requests has stopped',
    });
    expect(await send(request('/echo'), new AbortController().signal)).toMatchObject({
      kind: 'no_response',
    });
  });
});
