import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scriptable HTTP service on 127.0.0.1 for connector tests: it records
 * every request and answers from a script, so a test can assert exactly
 * what a connector sent and make the "vendor" fail in any way.
 *
 * @example
 * const fake = await FakeHttpService.start();
 * fake.enqueue({ status: 429, headers: { 'retry-after': '2' } }, { body: { ok: true } });
 * // … point the connector at fake.url, call it twice …
 * expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
 * await fake.close();
 *
 * Answers are chosen in this order: the first queued response whose `match`
 * fits (queued responses are used once), then the first route that fits
 * (used for every matching request), then `fallback` (404 by default).
 */

export interface RecordedRequest {
  readonly method: string;
  /** The path without the query, e.g. `/api/v3/ip_addresses/203.0.113.7`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case names, as Node gives them. */
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The body parsed as JSON; undefined when empty or not JSON. */
  readonly json: unknown;
  /** The status the fake answered with; undefined until it answers. */
  status: number | undefined;
  /** True when the client gave up (closed the connection) before the answer was sent. */
  aborted: boolean;
}

export interface ScriptedResponse {
  /** @default 200 */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A string is sent as is; anything else as JSON (with a JSON content type). */
  readonly body?: unknown;
  /** Wait this long before answering (to provoke client timeouts). */
  readonly delayMs?: number;
}

/** A fixed answer, or one computed from the request (e.g. echoing a header back). */
export type Responder =
  ScriptedResponse | ((request: RecordedRequest) => ScriptedResponse | Promise<ScriptedResponse>);

/** Which requests a queued response or route answers; absent parts match anything. */
export interface RequestMatch {
  readonly method?: string;
  /** An exact path, or a pattern tested against the path. */
  readonly path?: string | RegExp;
}

export class FakeHttpService {
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  private readonly queue: { match: RequestMatch; responder: Responder }[] = [];
  private readonly routes: { match: RequestMatch; responder: Responder }[] = [];
  private fallback: Responder = { status: 404, body: { error: 'no scripted response' } };

  private address: string | undefined;

  private constructor(private readonly server: Server) {
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = new URL(request.url ?? '/', this.url);
        const body = Buffer.concat(chunks).toString('utf8');
        const recorded: RecordedRequest = {
          method: request.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: request.headers,
          body,
          json: parseJson(body),
          status: undefined,
          aborted: false,
        };
        this.requests.push(recorded);
        this.answer(recorded, response).catch((error: unknown) => {
          if (!response.headersSent) response.writeHead(500);
          response.end(String(error));
        });
      });
    });
  }

  /** `http://127.0.0.1:<port>`, no trailing slash; known once it listens. */
  get url(): string {
    if (this.address === undefined) {
      throw new Error('FakeHttpService is not listening yet: await start() or listen() first');
    }
    return this.address;
  }

  /** A service listening on a free port of 127.0.0.1. */
  static async start(): Promise<FakeHttpService> {
    const fake = FakeHttpService.create();
    await fake.listen();
    return fake;
  }

  /**
   * A service that listens only once `listen()` is awaited, so a suite can
   * hold it in a `const` and start it from a `beforeAll` hook (see
   * `fakeHttpServiceForSuite` in connector-test-kit.ts).
   */
  static create(): FakeHttpService {
    return new FakeHttpService(createServer());
  }

  /** Listens on a free port of 127.0.0.1; `url` is known from then on. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.address = `http://127.0.0.1:${port}`;
  }

  /** Queues one-shot responses, used in order by the requests they match. */
  enqueue(...responses: Responder[]): this {
    for (const responder of responses) this.queue.push({ match: {}, responder });
    return this;
  }

  /** Queues a one-shot response for requests matching `match` only. */
  enqueueFor(match: RequestMatch, responder: Responder): this {
    this.queue.push({ match, responder });
    return this;
  }

  /** Answers every matching request (after queued responses) with `responder`. */
  route(match: RequestMatch, responder: Responder): this {
    this.routes.push({ match, responder });
    return this;
  }

  /** The answer when nothing queued or routed matches. @default 404 */
  otherwise(responder: Responder): this {
    this.fallback = responder;
    return this;
  }

  /** Forgets requests, queued responses and routes; the fallback returns to 404. */
  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.routes.length = 0;
    this.fallback = { status: 404, body: { error: 'no scripted response' } };
  }

  /** How many queued responses are still unused (a test can assert the script ran out). */
  get pending(): number {
    return this.queue.length;
  }

  /** Stops listening and drops open connections (nothing to do if it never listened). */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      this.server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  private async answer(request: RecordedRequest, response: ServerResponse): Promise<void> {
    const queued = this.queue.findIndex((entry) => matches(entry.match, request));
    const [entry] = queued >= 0 ? this.queue.splice(queued, 1) : [];
    const responder =
      entry?.responder ??
      this.routes.find((route) => matches(route.match, request))?.responder ??
      this.fallback;
    const scripted = typeof responder === 'function' ? await responder(request) : responder;

    response.on('close', () => {
      if (!response.writableFinished) request.aborted = true;
    });
    if (scripted.delayMs) {
      const closed = await delayUnlessClosed(scripted.delayMs, response);
      if (closed) return;
    }
    const status = scripted.status ?? 200;
    const headers: Record<string, string> = { ...scripted.headers };
    let payload = '';
    if (typeof scripted.body === 'string') payload = scripted.body;
    else if (scripted.body !== undefined) {
      payload = JSON.stringify(scripted.body);
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
    }
    request.status = status;
    response.writeHead(status, headers);
    response.end(payload);
  }
}

function matches(match: RequestMatch, request: RecordedRequest): boolean {
  if (match.method !== undefined && match.method.toUpperCase() !== request.method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string'
    ? match.path === request.path
    : match.path.test(request.path);
}

function parseJson(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** Resolves true if the client closed the connection before the delay ended. */
function delayUnlessClosed(ms: number, response: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      response.off('close', onClose);
      resolve(false);
    }, ms);
    response.once('close', onClose);
  });
}
