import type { MessagePort } from 'node:worker_threads';
import {
  nodeHttpTransport,
  type HttpTransport,
  type WireOutcome,
  type WireRequest,
} from './http-exchange.js';

/**
 * Connector HTTP relayed across threads. The playbook engine runs on the
 * store's writer thread, which is the busy one; its requests are sent by
 * the main thread, whose CPU is mostly idle, at the cost of two messages.
 * Timeouts and body limits apply where the socket is; the caller's deadline
 * travels as an `abort` message.
 */

export type ToHttpRelay =
  { kind: 'send'; id: number; request: WireRequest } | { kind: 'abort'; id: number };

export interface FromHttpRelay {
  id: number;
  outcome: WireOutcome;
}

/** Sends the requests that arrive on `port` through `transport` and answers each on the port. */
export function serveHttpRelay(
  port: MessagePort,
  transport: HttpTransport = nodeHttpTransport,
): void {
  const inFlight = new Map<number, AbortController>();
  port.on('message', (message: ToHttpRelay) => {
    if (message.kind === 'abort') {
      inFlight.get(message.id)?.abort();
      return;
    }
    const controller = new AbortController();
    inFlight.set(message.id, controller);
    void transport(message.request, controller.signal)
      // Transports answer failures as outcomes; a throw is a bug, reported the same way.
      .catch((error: unknown): WireOutcome => ({ kind: 'no_response', message: String(error) }))
      .then((outcome) => {
        inFlight.delete(message.id);
        port.postMessage({ id: message.id, outcome } satisfies FromHttpRelay);
      });
  });
  // The other thread is gone: nobody waits for these answers.
  port.on('close', () => {
    for (const controller of inFlight.values()) controller.abort();
    inFlight.clear();
  });
  // The requests in flight keep the process alive through their sockets; the port need not.
  port.unref();
}

/** A transport that hands each request to the `serveHttpRelay` at the other end of `port`. */
export function relayedHttpTransport(port: MessagePort): HttpTransport {
  const waiting = new Map<number, (outcome: WireOutcome) => void>();
  let nextId = 1;
  let closed = false;
  const gone = (): WireOutcome => ({
    kind: 'no_response',
    message: 'the thread that sends HTTP requests has stopped',
  });
  port.on('message', ({ id, outcome }: FromHttpRelay) => {
    const settle = waiting.get(id);
    waiting.delete(id);
    settle?.(outcome);
  });
  port.on('close', () => {
    closed = true;
    for (const settle of waiting.values()) settle(gone());
    waiting.clear();
  });
  // Waiting requests do not keep the thread alive on their own; its other work does.
  port.unref();
  return (request, signal) =>
    new Promise<WireOutcome>((resolve) => {
      if (closed) {
        resolve(gone());
        return;
      }
      if (signal.aborted) {
        resolve({ kind: 'no_response', abandoned: 'deadline', aborted: true, message: 'aborted' });
        return;
      }
      const id = nextId++;
      const onDeadline = (): void => port.postMessage({ kind: 'abort', id } satisfies ToHttpRelay);
      signal.addEventListener('abort', onDeadline, { once: true });
      waiting.set(id, (outcome) => {
        signal.removeEventListener('abort', onDeadline);
        resolve(outcome);
      });
      port.postMessage({ kind: 'send', id, request } satisfies ToHttpRelay);
    });
}
