import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeHttpService } from '../../test/support/fake-http-service.js';
import { WardenError } from '../core/errors.js';
import { InventoryIndex, emptyInventory } from '../core/inventory.js';
import { ConnectorError } from './connector.js';
import { loadConnectors, type ConnectorRegistry } from './connector-config.js';
import { parseRateLimit } from './connector-config-reader.js';
import { staticSecretSource } from './secrets.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const TOKEN = 'tok-9f8e7d6c5b4a';

function load(
  yaml: string | undefined,
  secrets: Record<string, string> = { TI_TOKEN: TOKEN },
): ConnectorRegistry {
  const dir = mkdtempSync(join(tmpdir(), 'warden-connectors-'));
  dirs.push(dir);
  if (yaml !== undefined) writeFileSync(join(dir, 'connectors.yaml'), yaml);
  return loadConnectors(dir, {
    secrets: staticSecretSource(secrets),
    inventory: new InventoryIndex(emptyInventory()),
    logSink: { write: () => undefined },
  });
}

function loadError(yaml: string, secrets?: Record<string, string>): WardenError {
  try {
    load(yaml, secrets);
  } catch (error) {
    if (error instanceof WardenError) return error;
    throw error;
  }
  throw new Error('expected an invalid_config error');
}

/** The example from docs/connectors.md. */
const EXAMPLE = `
connectors:
  threat_intel:
    type: http
    base_url: https://ti.example.com
    headers: { Authorization: "Bearer \${secret:TI_TOKEN}" }
    timeout: 5s
    concurrency: 4
    rate_limit: 10/s
    actions:
      lookup_ip:
        method: GET
        path: /api/v3/ip_addresses/{ip}
        effect: read
        input: { ip: { type: string } }
        output: { malicious: data.attributes.last_analysis_stats.malicious }
  chatops:
    type: http
    base_url: https://hooks.example.com
    idempotency_header: Idempotency-Key
    actions:
      notify:
        method: POST
        path: /services/secops
        input:
          message: string
          to: { type: string, optional: true }
        body: { text: message, channel: to }
`;

describe('loadConnectors', () => {
  it('always has the built-in log and inventory connectors', () => {
    const registry = load(undefined);
    expect(registry.names()).toEqual(['inventory', 'log']);
    expect(registry.get('log').type).toBe('log');
    expect(registry.get('inventory').actions.model?.effect).toBe('read');
  });

  it('builds the configured instances next to the built-ins', () => {
    const registry = load(EXAMPLE);
    expect(registry.names()).toEqual(['chatops', 'inventory', 'log', 'threat_intel']);
    const ti = registry.get('threat_intel');
    expect(ti).toMatchObject({
      type: 'http',
      concurrency: 4,
      rateLimit: { requests: 10, intervalMs: 1000 },
    });
    expect(ti.actions.lookup_ip).toMatchObject({
      effect: 'read',
      inputSchema: {
        type: 'object',
        properties: { ip: { type: 'string' } },
        required: ['ip'],
        additionalProperties: false,
      },
    });
    expect(registry.get('chatops').actions.notify?.inputSchema).toMatchObject({
      required: ['message'],
    });
  });

  it('names the known connectors when asked for an unknown one', () => {
    const registry = load(EXAMPLE);
    expect(() => registry.get('threat_intl')).toThrow(ConnectorError);
    expect(() => registry.get('threat_intl')).toThrow(
      'no connector named "threat_intl" (known: chatops, inventory, log, threat_intel)',
    );
    expect(registry.has('threat_intel')).toBe(true);
  });

  it('reports a missing secret with its position, connector and field, and no value', () => {
    const error = loadError(EXAMPLE, {});
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(
      /connectors\.yaml:6:31: connectors\.threat_intel\.headers\.Authorization references secret TI_TOKEN, which is not set/,
    );
    expect(error.field).toBe('connectors.threat_intel.headers.Authorization');
  });

  it('never prints a secret value in a config error', () => {
    const yaml = EXAMPLE.replace('timeout: 5s', 'timeout: soon');
    const error = loadError(yaml);
    expect(error.message).toContain('connectors.threat_intel.timeout must be a duration');
    expect(error.message).not.toContain(TOKEN);
  });

  it.each([
    [
      'an unknown instance key',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    baseurl: http://y\n',
      /:5:5: connectors\.ti\.baseurl is not a known key \(expected one of: type, base_url/,
    ],
    [
      'an unknown type',
      'connectors:\n  ti:\n    type: smtp\n',
      /:3:11: connectors\.ti\.type "smtp" is not a connector type \(known: http, virustotal, .*, email, jira, servicenow\)/,
    ],
    [
      'a missing type',
      'connectors:\n  ti:\n    base_url: http://x\n',
      /:3:5: connectors\.ti\.type is required/,
    ],
    [
      'a built-in name',
      'connectors:\n  log:\n    type: http\n',
      /:3:5: connectors\.log is a built-in connector/,
    ],
    [
      'a bad instance name',
      'connectors:\n  Threat-Intel:\n    type: http\n',
      /connectors\.Threat-Intel is not a valid connector name/,
    ],
    [
      'an ${env:} reference',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    headers: { X-Key: "${env:KEY}" }\n    actions: { a: { method: GET, path: /a } }\n',
      /:5:23: connectors\.ti\.headers\.X-Key uses \$\{env:KEY\}: only \$\{secret:NAME\} references are supported/,
    ],
    [
      'a secret outside headers',
      'connectors:\n  ti:\n    type: http\n    base_url: "http://x/${secret:TI_TOKEN}"\n',
      /connectors\.ti\.base_url cannot contain \$\{…\} references: secrets go in headers/,
    ],
    [
      'credentials in the URL',
      'connectors:\n  ti:\n    type: http\n    base_url: http://u:p@x\n',
      /connectors\.ti\.base_url must not contain credentials/,
    ],
    [
      'no actions',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n',
      /connectors\.ti\.actions must declare at least one action/,
    ],
    [
      'a placeholder that is not an input field',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    actions:\n      a:\n        method: GET\n        path: /ip/{ip}\n        input: { addr: string }\n',
      /:8:15: connectors\.ti\.actions\.a\.path refers to "ip", which is not an input field \(declared: addr\)/,
    ],
    [
      'a placeholder without any input',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    actions:\n      a: { method: GET, path: "/ip/{ip}" }\n',
      /connectors\.ti\.actions\.a\.path refers to input field "ip": declare it under input/,
    ],
    [
      'a misspelt schema keyword',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    actions:\n      a:\n        method: GET\n        path: /a\n        input: { ip: { tyep: string } }\n',
      /:9:22: connectors\.ti\.actions\.a\.input\.ip is not a valid JSON Schema: strict mode: unknown keyword: "tyep"/,
    ],
    [
      'an unknown shorthand type',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    actions:\n      a: { method: GET, path: /a, input: { ip: str } }\n',
      /connectors\.ti\.actions\.a\.input\.ip must be a JSON Schema or a type name/,
    ],
    [
      'a body on GET',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    actions:\n      a: { method: GET, path: /a, body: input }\n',
      /connectors\.ti\.actions\.a\.body cannot be sent with GET/,
    ],
    [
      'an unknown method',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    actions:\n      a: { method: FETCH, path: /a }\n',
      /connectors\.ti\.actions\.a\.method must be one of GET, HEAD, POST, PUT, PATCH, DELETE/,
    ],
    [
      'a bad rate limit',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    rate_limit: fast\n    actions: { a: { method: GET, path: /a } }\n',
      /:5:17: connectors\.ti\.rate_limit must be a rate such as "10\/s"/,
    ],
    [
      'a zero concurrency',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    concurrency: 0\n    actions: { a: { method: GET, path: /a } }\n',
      /connectors\.ti\.concurrency must be a positive integer/,
    ],
    [
      'an empty output path segment',
      'connectors:\n  ti:\n    type: http\n    base_url: http://x\n    actions: { a: { method: GET, path: /a, output: { x: data..y } } }\n',
      /connectors\.ti\.actions\.a\.output\.x must be a dot path/,
    ],
  ])('rejects %s with its position', (_what, yaml, message) => {
    const error = loadError(yaml);
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(/connectors\.yaml:\d+:\d+: /);
    expect(error.message).toMatch(message);
    expect(error.details).toMatchObject({ line: expect.any(Number) as number });
  });
});

describe('parseRateLimit', () => {
  it.each([
    ['10/s', { requests: 10, intervalMs: 1000 }],
    ['30/m', { requests: 30, intervalMs: 60_000 }],
    ['1000/h', { requests: 1000, intervalMs: 3_600_000 }],
    ['0.5/s', { requests: 1, intervalMs: 2000 }],
    [4, { requests: 4, intervalMs: 1000 }],
  ])('reads %j', (text, expected) => {
    expect(parseRateLimit(text, 'x')).toEqual(expected);
  });

  it.each(['', '10', '10/d', '0/s', '-1/s', 'ten/s'])('rejects %j', (text) => {
    expect(() => parseRateLimit(text, 'x.rate_limit')).toThrow(/^x\.rate_limit must be a rate/);
  });
});

describe('the example in docs/connectors.md', () => {
  const docs = readFileSync(new URL('../../docs/connectors.md', import.meta.url), 'utf8');
  const example =
    /<!-- example: connectors\.yaml -->\n```yaml\n([\s\S]*?)```/.exec(docs)?.[1] ?? '';
  let fake: FakeHttpService;
  beforeAll(async () => {
    fake = await FakeHttpService.start();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('loads and calls the services as documented', async () => {
    const yaml = example
      .replace('base_url: https://www.virustotal.com', `base_url: ${fake.url}/vt`)
      .replace('base_url: https://hooks.example.com', `base_url: ${fake.url}/hooks`);
    expect(yaml).not.toMatch(/base_url: https/);
    expect(yaml).not.toBe(example);
    const registry = load(yaml, { VT_API_KEY: 'vt-key-000', HOOK_TOKEN: 'hook-token-000' });
    expect(registry.names()).toEqual(['inventory', 'log', 'secops_webhook', 'threat_intel']);
    const signal = AbortSignal.timeout(5000);

    fake.enqueue({
      body: { data: { attributes: { last_analysis_stats: { malicious: 7 }, reputation: -12 } } },
    });
    const intel = await registry.get('threat_intel').invoke({
      action: 'lookup_ip',
      input: { ip: '203.0.113.7' },
      idempotencyKey: 'a',
      attempt: 1,
      signal,
    });
    expect(intel.output).toEqual({ malicious: 7, reputation: -12 });
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      path: '/vt/api/v3/ip_addresses/203.0.113.7',
    });
    expect(fake.requests[0]?.headers['x-apikey']).toBe('vt-key-000');

    fake.enqueue({ body: 'ok' }, { status: 201, body: { id: 'SEC-12' } });
    const webhook = registry.get('secops_webhook');
    await webhook.invoke({
      action: 'notify',
      input: { message: 'case #4' },
      idempotencyKey: 'b',
      attempt: 1,
      signal,
    });
    expect(fake.requests[1]).toMatchObject({
      method: 'POST',
      path: '/hooks/services/secops',
      json: { text: 'case #4' },
    });
    expect(fake.requests[1]?.headers['idempotency-key']).toBe('b');
    const ticket = await webhook.invoke({
      action: 'open_ticket',
      input: { title: 'Spike', case: 4, severity: 'high' },
      idempotencyKey: 'c',
      attempt: 1,
      signal,
    });
    expect(ticket.output).toEqual({ ticket: 'SEC-12' });
    expect(fake.requests[2]?.json).toEqual({ title: 'Spike', case: 4, severity: 'high' });
  });
});
