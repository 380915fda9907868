/** Minimal keep-alive HTTP client for the batched-ingest and read-path measurements. */
import { Agent, request } from 'node:http';

export interface HttpResponse {
  status: number;
  body: string;
}

export function send(
  agent: Agent,
  url: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body?: Buffer,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * POST every body over `connections` keep-alive connections, each sending its
 * next body as soon as the previous one is answered. Returns the wall time
 * from the first send to the last answer.
 */
export async function postAll(
  url: string,
  bodies: readonly Buffer[],
  connections: number,
  headers: Record<string, string>,
  check: (response: HttpResponse) => void,
): Promise<{ seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++] as Buffer;
      const response = await send(agent, url, 'POST', headers, body);
      check(response);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { seconds };
}

/** `count` sequential GETs (after `warmup` unmeasured ones); latency of each in ms. */
export async function timeGets(
  url: string,
  count: number,
  warmup: number,
  headers: Record<string, string>,
): Promise<{ latenciesMs: number[]; bytes: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latenciesMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < warmup + count; i += 1) {
    const started = performance.now();
    const response = await send(agent, url, 'GET', headers);
    const ms = performance.now() - started;
    if (response.status !== 200) {
      throw new Error(`GET ${url} → ${response.status}: ${response.body.slice(0, 300)}`);
    }
    if (i >= warmup) latenciesMs.push(ms);
    bytes = Buffer.byteLength(response.body);
  }
  agent.destroy();
  return { latenciesMs, bytes };
}
