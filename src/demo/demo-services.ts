import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { abuseipdbFake } from './fakes/abuseipdb-fake.js';
import { aiPlatformFake } from './fakes/ai-platform-fake.js';
import { createAwsFake } from './fakes/aws-fake.js';
import { createJiraFake } from './fakes/jira-fake.js';
import { createMlflowFake } from './fakes/mlflow-fake.js';
import { openc2Fake } from './fakes/openc2-fake.js';
import { createPagerDutyFake } from './fakes/pagerduty-fake.js';
import { createServiceNowFake } from './fakes/servicenow-fake.js';
import { createSlackFake } from './fakes/slack-fake.js';
import { taxiiFake } from './fakes/taxii-fake.js';
import { virustotalFake } from './fakes/virustotal-fake.js';
import {
  sendFakeReply,
  type FakeReply,
  type VendorFake,
  type VendorFakeFactory,
} from './vendor-fake.js';

/** The vendor APIs the demo serves, each under its own path prefix. */
export const DEMO_VENDOR_FAKES: readonly VendorFakeFactory[] = [
  virustotalFake,
  abuseipdbFake,
  taxiiFake,
  createMlflowFake,
  createAwsFake,
  openc2Fake,
  aiPlatformFake,
  createSlackFake,
  createPagerDutyFake,
  createJiraFake,
  createServiceNowFake,
];

/**
 * Stand-ins for the vendor APIs the demo playbooks act through, in one
 * local HTTP server: each vendor fake (src/demo/fakes/) answers under its
 * own path prefix with that vendor's request and response shapes, and
 * remembers what was done, so a new user sees a block, a rollback and a
 * page happen (`GET /` lists the actions and the services). A write repeated
 * with the same `Idempotency-Key` gets the first answer again. Not for
 * production: nothing here is kept.
 */

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

type Reply = FakeReply;

export async function startDemoServices(
  options: { port?: number; host?: string; log?: (line: string) => void } = {},
): Promise<DemoServices> {
  const actions: DemoAction[] = [];
  const replies = new Map<string, Reply>();
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));

  const act = (service: string, action: string, target: string, details: unknown): void => {
    actions.push({ at: new Date().toISOString(), service, action, target, details });
    log(`demo-services: ${service} ${action} ${target}`);
  };

  const record = (service: string, action: string, target: string, details: unknown): void =>
    act(service, action, target, details);
  const fakes: VendorFake[] = DEMO_VENDOR_FAKES.map((create) => create(record));

  const handle = async (
    request: IncomingMessage,
    response: ServerResponse,
    text: string,
  ): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://demo');
    const key = request.headers['idempotency-key'];
    const known = typeof key === 'string' ? replies.get(key) : undefined;
    if (known) {
      sendFakeReply(response, known);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/') {
      sendFakeReply(response, {
        status: 200,
        body: {
          actions,
          services: fakes.map((fake) => ({ prefix: fake.prefix, description: fake.description })),
        },
      });
      return;
    }
    const fake = fakes.find(
      (f) => url.pathname === f.prefix || url.pathname.startsWith(`${f.prefix}/`),
    );
    if (fake) {
      const reply = (await fake.handle({
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        text,
      })) ?? {
        status: 404,
        body: { error: `no demo service at ${request.method} ${url.pathname}` },
      };
      if (typeof key === 'string' && reply.status < 300) replies.set(key, reply);
      sendFakeReply(response, reply);
      return;
    }
    sendFakeReply(response, {
      status: 404,
      body: { error: `no demo service at ${request.method} ${url.pathname}` },
    });
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      handle(request, response, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
        sendFakeReply(response, { status: 500, body: { error: String(error) } });
      });
    });
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
