import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Stand-ins for the services the demo playbooks act through, in one local
 * HTTP server: threat intelligence, identity, the inference gateway
 * (firewall, API keys, sessions), the feature store, the model registry, a
 * ticket queue and a pager. They answer like the real ones would and
 * remember what was done, so a new user sees a block, a quarantine and a
 * page happen. Writes are deduplicated by `Idempotency-Key`, as the demo
 * connectors promise. Not for production: nothing here is checked or kept.
 */

/** Documentation ranges (RFC 5737) the demo treats as hostile. */
const HOSTILE = [/^203\.0\.113\./, /^198\.51\.100\./];
/** Service accounts the identity service lets write to datasets. */
const WRITERS = new Set(['etl-svc', 'ml-pipeline']);

export interface DemoAction {
  at: string;
  service: string;
  action: string;
  target: string;
  details: unknown;
}

export interface DemoServices {
  url: string;
  actions: readonly DemoAction[];
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
}

export async function startDemoServices(
  options: { port?: number; host?: string; log?: (line: string) => void } = {},
): Promise<DemoServices> {
  const actions: DemoAction[] = [];
  const replies = new Map<string, Reply>();
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  let counter = 0;

  const act = (service: string, action: string, target: string, details: unknown): void => {
    actions.push({ at: new Date().toISOString(), service, action, target, details });
    log(`demo-services: ${service} ${action} ${target}`);
  };

  const route = (method: string, path: string, query: URLSearchParams, body: unknown): Reply => {
    const input = (body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/') return { status: 200, body: { actions } };
    if (method === 'GET' && (m = /^\/intel\/ip\/([^/]+)$/.exec(path))) {
      const ip = decodeURIComponent(m[1] ?? '');
      const hostile = HOSTILE.some((r) => r.test(ip));
      return { status: 200, body: { ip, malicious: hostile, score: hostile ? 92 : 0 } };
    }
    if (method === 'GET' && (m = /^\/identity\/users\/([^/]+)\/entitlements$/.exec(path))) {
      const user = decodeURIComponent(m[1] ?? '');
      return {
        status: 200,
        body: { user, dataset: query.get('dataset'), write: WRITERS.has(user) },
      };
    }
    if (method === 'POST' && path === '/firewall/rules') {
      const id = `fw-${++counter}`;
      act('firewall', 'blocked', typeof input.cidr === 'string' ? input.cidr : '?', input);
      return { status: 201, body: { id, ...input } };
    }
    if (method === 'POST' && (m = /^\/gateway\/keys\/([^/]+)\/disable$/.exec(path))) {
      act('gateway', 'disabled API key', decodeURIComponent(m[1] ?? ''), input);
      return { status: 200, body: { disabled: true } };
    }
    if (method === 'POST' && (m = /^\/gateway\/sessions\/([^/]+)\/terminate$/.exec(path))) {
      act('gateway', 'ended session', decodeURIComponent(m[1] ?? ''), input);
      return { status: 200, body: { terminated: true } };
    }
    if (method === 'POST' && (m = /^\/feature-store\/datasets\/([^/]+)\/quarantine$/.exec(path))) {
      act('feature-store', 'quarantined', decodeURIComponent(m[1] ?? ''), input);
      return { status: 200, body: { quarantined: true } };
    }
    if (method === 'POST' && (m = /^\/registry\/models\/([^/]+)\/quarantine$/.exec(path))) {
      act('registry', 'quarantined model', decodeURIComponent(m[1] ?? ''), input);
      return { status: 200, body: { quarantined: true } };
    }
    if (method === 'POST' && path === '/tickets') {
      const id = `T-${100 + ++counter}`;
      act('tickets', 'opened', id, input);
      return { status: 201, body: { id } };
    }
    if (method === 'POST' && path === '/pager/events') {
      act('pager', 'paged', typeof input.to === 'string' ? input.to : 'on-call', input);
      return { status: 202, body: { status: 'success' } };
    }
    return { status: 404, body: { error: `no demo service at ${method} ${path}` } };
  };

  const handle = (request: IncomingMessage, response: ServerResponse, text: string): void => {
    const url = new URL(request.url ?? '/', 'http://demo');
    const key = request.headers['idempotency-key'];
    const known = typeof key === 'string' ? replies.get(key) : undefined;
    let reply: Reply;
    if (known) reply = known;
    else {
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        reply = { status: 400, body: { error: 'body is not JSON' } };
        send(response, reply);
        return;
      }
      reply = route(request.method ?? 'GET', url.pathname, url.searchParams, body);
      if (typeof key === 'string' && reply.status < 300) replies.set(key, reply);
    }
    send(response, reply);
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8089, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    actions,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function send(response: ServerResponse, reply: Reply): void {
  response.writeHead(reply.status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(reply.body));
}
