import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  sendFakeReply,
  type FakeReply,
  type FakeRequest,
  type RecordAction,
  type VendorFake,
} from '../../src/demo/vendor-fake.js';

/**
 * Demo vendor fakes (src/demo/fakes/) on a local node:http server, for the
 * tests of the fakes and of the connectors that talk to them.
 *
 * @example
 * const recorded: RecordedAction[] = [];
 * const served = await serveVendorFakes([createJiraFake(recordActionsInto(recorded))]);
 * // … point a connector's base_url at `${served.url}/jira` …
 * await served.close();
 */

export interface ServedVendorFakes {
  /** `http://127.0.0.1:<port>`, no trailing slash; each fake answers under its prefix. */
  readonly url: string;
  /**
   * Asked before the fakes while set: a reply it returns is sent instead of
   * asking them (to fail a chosen request); undefined lets the fakes answer.
   */
  intercept: ((request: FakeRequest) => FakeReply | undefined) | undefined;
  /** Stops the server, dropping open connections. */
  close(): Promise<void>;
}

/**
 * Serves `fakes` on a free port of 127.0.0.1 the way the demo services do:
 * the first fake that answers wins (404 when none does), and a reply is sent
 * as the demo sends it (JSON, or a string body as is when it has a
 * `contentType`). Unlike the demo there is no index page and no replay by
 * `Idempotency-Key`, so a test sees what each fake itself does.
 */
export async function serveVendorFakes(fakes: readonly VendorFake[]): Promise<ServedVendorFakes> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://vendor-fakes');
      const fakeRequest: FakeRequest = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        text: Buffer.concat(chunks).toString('utf8'),
      };
      answer(fakeRequest).then(
        (reply) => sendFakeReply(response, reply),
        (error: unknown) =>
          sendFakeReply(response, { status: 500, body: { error: String(error) } }),
      );
    });
  });

  const answer = async (request: FakeRequest): Promise<FakeReply> => {
    const intercepted = served.intercept?.(request);
    if (intercepted !== undefined) return intercepted;
    for (const fake of fakes) {
      const reply = await fake.handle(request);
      if (reply !== undefined) return reply;
    }
    return {
      status: 404,
      body: { error: `no vendor fake answers ${request.method} ${request.path}` },
    };
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const served: ServedVendorFakes = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    intercept: undefined,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
  return served;
}

/** What a vendor fake recorded through its RecordAction. */
export interface RecordedAction {
  service: string;
  action: string;
  target: string;
  details: unknown;
}

/** A RecordAction for a fake's factory that appends each action to `recorded`. */
export function recordActionsInto(recorded: RecordedAction[]): RecordAction {
  return (service, action, target, details) => {
    recorded.push({ service, action, target, details });
  };
}

/** Sends a reply as src/demo/demo-services.ts does. */
