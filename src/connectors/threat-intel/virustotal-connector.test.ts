import { beforeEach, describe, expect, it } from 'vitest';
import {
  configError,
  connectorFailure,
  fakeHttpServiceForSuite,
  loadConnectorsFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import { connectorDoc, docExample } from '../../../test/support/doc-examples.js';
import type { WardenError } from '../../core/errors.js';
import type { Connector } from '../connector.js';
import { describeHttpConnectorContract } from '../connector.contract.js';
import type { ConnectorRegistry } from '../connector-config.js';
import { guardConnector } from '../guarded-connector.js';
import {
  VIRUSTOTAL_CONNECTOR_TYPE,
  createVirusTotalConnector,
  verdict,
} from './virustotal-connector.js';

const KEY = 'vt-test-key-8a1f33c0d2e4';
const SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';

function loadRegistry(yaml: string, secrets: Record<string, string>): ConnectorRegistry {
  return loadConnectorsFromYaml(yaml, { secrets, types: [VIRUSTOTAL_CONNECTOR_TYPE] });
}

/** A virustotal instance named `vt`, loaded from connectors.yaml as in production. */
function loadVt(extra: string, secret = KEY): Connector {
  return loadRegistry(
    `
connectors:
  vt:
    type: virustotal
    api_key: "\${secret:VT_API_KEY}"
${extra}`,
    { VT_API_KEY: secret },
  ).get('vt');
}

function loadError(extra: string): WardenError {
  return configError(() => loadVt(extra));
}

const call = numberedCalls('run-1/0/intel/');

/** An IP address object as VirusTotal API v3 documents it (values made up). */
function ipReport(stats: Record<string, number>, extra: Record<string, unknown> = {}): unknown {
  return {
    data: {
      id: '203.0.113.7',
      type: 'ip_address',
      links: { self: 'https://www.virustotal.com/api/v3/ip_addresses/203.0.113.7' },
      attributes: {
        as_owner: 'EXAMPLE-NET',
        asn: 64496,
        country: 'NL',
        continent: 'EU',
        network: '203.0.113.0/24',
        regional_internet_registry: 'RIPE NCC',
        reputation: -25,
        tags: ['proxy'],
        last_analysis_date: 1767225600,
        last_analysis_stats: { timeout: 0, ...stats },
        last_analysis_results: {},
        ...extra,
      },
    },
  };
}

const MALICIOUS_IP_OUTPUT = {
  found: true,
  cached: false,
  ip: '203.0.113.7',
  verdict: 'malicious',
  malicious: 9,
  suspicious: 1,
  harmless: 60,
  undetected: 24,
  reputation: -25,
  last_analysis_date: '2026-01-01T00:00:00.000Z',
  tags: ['proxy'],
  link: 'https://www.virustotal.com/gui/ip-address/203.0.113.7',
  as_owner: 'EXAMPLE-NET',
  asn: 64496,
  country: 'NL',
  continent: 'EU',
  network: '203.0.113.0/24',
};

describeHttpConnectorContract('virustotal', {
  // The cache is off: the suite sends the same lookup many times and expects each on the wire.
  create: ({ baseUrl, secret, timeoutMs }) =>
    loadVt(`    base_url: ${baseUrl}\n    timeout: ${timeoutMs}ms\n    cache_ttl: 0\n`, secret),
  read: {
    action: 'lookup_ip',
    input: { ip: '203.0.113.7' },
    response: { body: ipReport({ malicious: 9, suspicious: 1, harmless: 60, undetected: 24 }) },
    expectRequest: { method: 'GET', path: '/api/v3/ip_addresses/203.0.113.7' },
    expectOutput: MALICIOUS_IP_OUTPUT,
  },
  invalidInput: { action: 'lookup_ip', input: { ip: 42 } },
  expectCredential: (request, secret) => {
    expect(request.headers['x-apikey']).toBe(secret);
  },
  idempotencyHeader: undefined,
});

describe('the virustotal connector', () => {
  const fake = fakeHttpServiceForSuite();
  let vt: Connector;
  beforeEach(() => {
    vt = loadVt(`    base_url: ${fake.url}\n    cache_ttl: 0\n`);
  });

  it('declares three read actions with strict input schemas', () => {
    expect(Object.keys(vt.actions).sort()).toEqual(['lookup_domain', 'lookup_file', 'lookup_ip']);
    for (const spec of Object.values(vt.actions)) {
      expect(spec.effect).toBe('read');
      expect(spec.inputSchema).toMatchObject({ additionalProperties: false });
    }
    expect(vt.type).toBe('virustotal');
  });

  it('sends the key in x-apikey and records it as its secret reference', async () => {
    fake.enqueue({ body: ipReport({ harmless: 80 }) });
    const result = await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(fake.requests[0]?.headers['x-apikey']).toBe(KEY);
    expect(fake.requests[0]?.headers.accept).toBe('application/json');
    expect(result.exchange?.requestHeaders['x-apikey']).toBe('${secret:VT_API_KEY}');
    expect(JSON.stringify(result)).not.toContain(KEY);
  });

  it('derives the verdict from the most severe category any engine reported', async () => {
    expect(verdict({ malicious: 1, suspicious: 5, harmless: 50, undetected: 3 })).toBe('malicious');
    expect(verdict({ malicious: 0, suspicious: 2, harmless: 50, undetected: 3 })).toBe(
      'suspicious',
    );
    expect(verdict({ malicious: 0, suspicious: 0, harmless: 50, undetected: 3 })).toBe('harmless');
    expect(verdict({ malicious: 0, suspicious: 0, harmless: 0, undetected: 3 })).toBe('undetected');
    expect(verdict({ malicious: 0, suspicious: 0, harmless: 0, undetected: 0 })).toBe('unknown');

    fake.enqueue({ body: ipReport({ malicious: 0, suspicious: 0, harmless: 70, undetected: 20 }) });
    const result = await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(result.output).toMatchObject({ found: true, verdict: 'harmless', malicious: 0 });
  });

  it('reads a report without an analysis or optional attributes as nulls and unknown', async () => {
    fake.enqueue({ body: { data: { id: '192.0.2.1', type: 'ip_address', attributes: {} } } });
    const result = await vt.invoke(call('lookup_ip', { ip: '192.0.2.1' }));
    expect(result.output).toEqual({
      found: true,
      cached: false,
      ip: '192.0.2.1',
      verdict: 'unknown',
      malicious: 0,
      suspicious: 0,
      harmless: 0,
      undetected: 0,
      reputation: null,
      last_analysis_date: null,
      tags: [],
      link: 'https://www.virustotal.com/gui/ip-address/192.0.2.1',
      as_owner: null,
      asn: null,
      country: null,
      continent: null,
      network: null,
    });
  });

  it('looks up an IPv6 address in its canonical form', async () => {
    fake.enqueue({ body: ipReport({ harmless: 1 }) });
    const result = await vt.invoke(call('lookup_ip', { ip: '2001:DB8:0:0::0001' }));
    expect(fake.requests[0]?.path).toBe('/api/v3/ip_addresses/2001:db8::1');
    expect(result.output).toMatchObject({
      ip: '2001:db8::1',
      link: 'https://www.virustotal.com/gui/ip-address/2001:db8::1',
    });
  });

  it('looks up a domain, normalised, with its registrar and categories', async () => {
    fake.enqueue({
      body: {
        data: {
          id: 'evil.example',
          type: 'domain',
          attributes: {
            registrar: 'Example Registrar, Inc.',
            creation_date: 1700000000,
            categories: {
              'Forcepoint ThreatSeeker': 'phishing',
              Webroot: 'Phishing and Other Frauds',
              'alphaMountain.ai': 'phishing',
            },
            reputation: -3,
            tags: [],
            last_analysis_date: 1767225600,
            last_analysis_stats: { malicious: 0, suspicious: 3, harmless: 60, undetected: 30 },
          },
        },
      },
    });
    const result = await vt.invoke(call('lookup_domain', { domain: 'Evil.Example.' }));
    expect(fake.requests[0]?.path).toBe('/api/v3/domains/evil.example');
    expect(result.output).toEqual({
      found: true,
      cached: false,
      domain: 'evil.example',
      verdict: 'suspicious',
      malicious: 0,
      suspicious: 3,
      harmless: 60,
      undetected: 30,
      reputation: -3,
      last_analysis_date: '2026-01-01T00:00:00.000Z',
      tags: [],
      link: 'https://www.virustotal.com/gui/domain/evil.example',
      registrar: 'Example Registrar, Inc.',
      creation_date: '2023-11-14T22:13:20.000Z',
      categories: ['phishing', 'Phishing and Other Frauds'],
    });
  });

  it('looks up an international domain by its ASCII form', async () => {
    fake.enqueue({ body: { data: { attributes: {} } } });
    await vt.invoke(call('lookup_domain', { domain: 'bücher.example' }));
    expect(fake.requests[0]?.path).toBe('/api/v3/domains/xn--bcher-kva.example');
  });

  it('looks up a file by any of its hashes, lower case', async () => {
    fake.enqueue({
      body: {
        data: {
          id: SHA256,
          type: 'file',
          attributes: {
            sha256: SHA256,
            sha1: 'a'.repeat(40),
            md5: 'b'.repeat(32),
            meaningful_name: 'invoice.pdf.exe',
            type_description: 'Win32 EXE',
            size: 73802,
            first_submission_date: 1767225600,
            times_submitted: 12,
            popular_threat_classification: { suggested_threat_label: 'trojan.emotet/x' },
            reputation: -80,
            tags: ['peexe', 'signed', 'peexe'],
            last_analysis_stats: {
              malicious: 58,
              suspicious: 0,
              harmless: 0,
              undetected: 10,
              'type-unsupported': 4,
            },
          },
        },
      },
    });
    const result = await vt.invoke(call('lookup_file', { hash: SHA256.toUpperCase() }));
    expect(fake.requests[0]?.path).toBe(`/api/v3/files/${SHA256}`);
    expect(result.output).toMatchObject({
      found: true,
      hash: SHA256,
      verdict: 'malicious',
      malicious: 58,
      sha256: SHA256,
      meaningful_name: 'invoice.pdf.exe',
      size: 73802,
      first_submission_date: '2026-01-01T00:00:00.000Z',
      times_submitted: 12,
      threat_label: 'trojan.emotet/x',
      tags: ['peexe', 'signed'],
      link: `https://www.virustotal.com/gui/file/${SHA256}`,
    });
  });

  it('answers a NotFoundError as found: false, not as an error', async () => {
    fake.enqueue({
      status: 404,
      body: { error: { code: 'NotFoundError', message: `File "${SHA256}" not found` } },
    });
    const result = await vt.invoke(call('lookup_file', { hash: SHA256 }));
    expect(result.output).toEqual({
      found: false,
      cached: false,
      hash: SHA256,
      verdict: 'unknown',
      malicious: 0,
      suspicious: 0,
      harmless: 0,
      undetected: 0,
      reputation: null,
      last_analysis_date: null,
      tags: [],
      link: `https://www.virustotal.com/gui/file/${SHA256}`,
      sha256: null,
      sha1: null,
      md5: null,
      meaningful_name: null,
      type_description: null,
      size: null,
      first_submission_date: null,
      times_submitted: null,
      threat_label: null,
    });
    expect(result.exchange?.status).toBe(404);
  });

  it('treats a 404 that is not VirusTotal speaking (a wrong base_url) as rejected', async () => {
    fake.enqueue({ status: 404, body: '<html>Not Found</html>' });
    const error = await connectorFailure(vt.invoke(call('lookup_ip', { ip: '203.0.113.7' })));
    expect(error).toMatchObject({ code: 'rejected', status: 404 });
  });

  it.each([
    [429, 'QuotaExceededError', 'rate_limited', true],
    [429, 'TooManyRequestsError', 'rate_limited', true],
    [401, 'WrongCredentialsError', 'unauthorized', false],
    [401, 'AuthenticationRequiredError', 'unauthorized', false],
    [403, 'ForbiddenError', 'unauthorized', false],
    [400, 'InvalidArgumentError', 'rejected', false],
    [400, 'NotAvailableYet', 'unavailable', true],
    [503, 'TransientError', 'unavailable', true],
    [504, 'DeadlineExceededError', 'timeout', true],
    [409, 'SomethingNewError', 'rejected', false],
  ])('maps HTTP %i %s to %s', async (status, code, expected, retryable) => {
    fake.enqueue({ status, body: { error: { code, message: `the ${code} message` } } });
    const error = await connectorFailure(vt.invoke(call('lookup_ip', { ip: '203.0.113.7' })));
    expect(error).toMatchObject({ code: expected, retryable, status });
    expect(error.message).toBe(`vt.lookup_ip: HTTP ${status} ${code}: the ${code} message`);
    expect(error.exchange?.status).toBe(status);
  });

  it('maps the VirusTotal code even when the status says otherwise', async () => {
    fake.enqueue({
      status: 400,
      body: { error: { code: 'QuotaExceededError', message: 'quota' } },
    });
    expect((await connectorFailure(vt.invoke(call('lookup_ip', { ip: '203.0.113.7' })))).code).toBe(
      'rate_limited',
    );
  });

  it('keeps Retry-After on a quota error and the key out of an echoed message', async () => {
    fake.enqueue({
      status: 429,
      headers: { 'retry-after': '30' },
      body: { error: { code: 'QuotaExceededError', message: `quota for key ${KEY} exceeded` } },
    });
    const error = await connectorFailure(vt.invoke(call('lookup_ip', { ip: '203.0.113.7' })));
    expect(error.retryAfterMs).toBe(30_000);
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toContain(KEY);
    expect(JSON.stringify(error.exchange)).not.toContain(KEY);
  });

  it('fails with invalid_output when a 200 carries no report', async () => {
    fake.enqueue({ body: { data: [] } });
    const error = await connectorFailure(vt.invoke(call('lookup_ip', { ip: '203.0.113.7' })));
    expect(error).toMatchObject({ code: 'invalid_output' });
    expect(error.exchange).toBeDefined();
    fake.enqueue({ body: 'not json' });
    expect((await connectorFailure(vt.invoke(call('lookup_ip', { ip: '203.0.113.7' })))).code).toBe(
      'invalid_output',
    );
  });

  it.each([
    ['lookup_ip', { ip: '999.1.1.1' }],
    ['lookup_ip', { ip: 'evil.example' }],
    ['lookup_ip', { ip: '203.0.113.7', extra: true }],
    ['lookup_domain', { domain: 'evil.example/path' }],
    ['lookup_domain', { domain: 'http:evil' }],
    ['lookup_domain', { domain: '-bad-.example' }],
    ['lookup_domain', { domain: 'a..example' }],
    ['lookup_file', { hash: 'abc123' }],
    ['lookup_file', { hash: 'z'.repeat(64) }],
    ['lookup_file', { hash: 'a'.repeat(63) }],
  ])('rejects %s %j before sending anything', async (action, input) => {
    const error = await connectorFailure(vt.invoke(call(action, input)));
    expect(error.code).toBe('invalid_input');
    expect(fake.requests).toHaveLength(0);
  });

  it('appends the API path to a base_url with a path prefix', async () => {
    const prefixed = loadVt(`    base_url: ${fake.url}/virustotal/\n`);
    fake.enqueue({ body: ipReport({ harmless: 1 }) });
    await prefixed.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(fake.requests[0]?.path).toBe('/virustotal/api/v3/ip_addresses/203.0.113.7');
  });

  it('answers reconcile with not_done: lookups change nothing', async () => {
    const unguarded = createVirusTotalConnector({
      name: 'vt',
      apiKey: { value: KEY, recorded: '${secret:VT_API_KEY}' },
    });
    expect(await unguarded.reconcile?.(call('lookup_ip', { ip: '203.0.113.7' }))).toEqual({
      state: 'not_done',
    });
  });
});

describe('the virustotal cache', () => {
  const fake = fakeHttpServiceForSuite();
  let time = 0;
  let vt: Connector;
  beforeEach(() => {
    time = 1_000_000;
    vt = guardConnector(
      createVirusTotalConnector({
        name: 'vt',
        baseUrl: fake.url,
        apiKey: { value: KEY, recorded: '${secret:VT_API_KEY}' },
        cache: { ttlMs: 60_000, maxEntries: 100, now: () => time },
      }),
    );
  });

  it('answers a repeated lookup from the cache: same output, cached: true, no exchange', async () => {
    fake.route(
      { path: '/api/v3/ip_addresses/203.0.113.7' },
      {
        body: ipReport({ malicious: 9, suspicious: 1, harmless: 60, undetected: 24 }),
      },
    );
    const live = await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    const cached = await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(fake.requests).toHaveLength(1);
    expect(live.output).toEqual(MALICIOUS_IP_OUTPUT);
    expect(live.exchange).toBeDefined();
    expect(cached.output).toEqual({ ...MALICIOUS_IP_OUTPUT, cached: true });
    expect(cached.exchange).toBeUndefined();
  });

  it('keys the cache on the normalised value and the action', async () => {
    fake.route({}, { body: { data: { attributes: { last_analysis_stats: { harmless: 1 } } } } });
    await vt.invoke(call('lookup_domain', { domain: 'evil.example' }));
    await vt.invoke(call('lookup_domain', { domain: 'EVIL.example.' }));
    await vt.invoke(call('lookup_ip', { ip: '2001:db8::1' }));
    await vt.invoke(call('lookup_ip', { ip: '2001:DB8::0:1' }));
    await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(fake.requests.map((request) => request.path)).toEqual([
      '/api/v3/domains/evil.example',
      '/api/v3/ip_addresses/2001:db8::1',
      '/api/v3/ip_addresses/203.0.113.7',
    ]);
  });

  it('asks again once the entry has expired', async () => {
    fake.route({}, { body: ipReport({ harmless: 1 }) });
    await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    time += 59_999;
    expect((await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }))).output).toMatchObject({
      cached: true,
    });
    time += 1;
    expect((await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }))).output).toMatchObject({
      cached: false,
    });
    expect(fake.requests).toHaveLength(2);
  });

  it('caches a not-found answer, since it is a result', async () => {
    fake.route({}, { status: 404, body: { error: { code: 'NotFoundError', message: 'x' } } });
    await vt.invoke(call('lookup_file', { hash: SHA256 }));
    const again = await vt.invoke(call('lookup_file', { hash: SHA256 }));
    expect(again.output).toMatchObject({ found: false, cached: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('never caches an error', async () => {
    fake.enqueue(
      { status: 503, body: { error: { code: 'TransientError', message: 'try again' } } },
      { status: 429, body: { error: { code: 'QuotaExceededError', message: 'quota' } } },
      { body: ipReport({ harmless: 1 }) },
    );
    expect((await connectorFailure(vt.invoke(call('lookup_ip', { ip: '203.0.113.7' })))).code).toBe(
      'unavailable',
    );
    expect((await connectorFailure(vt.invoke(call('lookup_ip', { ip: '203.0.113.7' })))).code).toBe(
      'rate_limited',
    );
    const result = await vt.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(result.output).toMatchObject({ found: true, cached: false });
    expect(fake.requests).toHaveLength(3);
  });

  it('is off with cache_ttl: 0', async () => {
    const uncached = loadVt(`    base_url: ${fake.url}\n    cache_ttl: 0s\n`);
    fake.route({}, { body: ipReport({ harmless: 1 }) });
    await uncached.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    const again = await uncached.invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(again.output).toMatchObject({ cached: false });
    expect(fake.requests).toHaveLength(2);
  });
});

describe('virustotal in connectors.yaml', () => {
  it('defaults to the public API, 10s, 4 in flight, no rate limit', () => {
    const vt = loadVt('');
    expect(vt.concurrency).toBe(4);
    expect(vt.rateLimit).toBeUndefined();
  });

  it('reads rate_limit, concurrency, cache_ttl and cache_size', () => {
    const vt = loadVt(
      '    rate_limit: 4/m\n    concurrency: 2\n    cache_ttl: 6h\n    cache_size: 500\n    timeout: 5s\n',
    );
    expect(vt.rateLimit).toEqual({ requests: 4, intervalMs: 60_000 });
    expect(vt.concurrency).toBe(2);
  });

  it.each([
    ['    api_key_typo: x\n', 'connectors.vt.api_key_typo is not a known key'],
    ['    base_url: ftp://vt.example\n', 'connectors.vt.base_url must be an http or https URL'],
    ['    base_url: https://vt.example/?x=1\n', 'connectors.vt.base_url must not have a query'],
    [
      '    base_url: https://user:pw@vt.example\n',
      'connectors.vt.base_url must not contain credentials',
    ],
    ['    base_url: "${secret:VT_API_KEY}"\n', 'cannot contain ${…} references'],
    ['    cache_ttl: soon\n', 'connectors.vt.cache_ttl must be a duration'],
    ['    cache_size: 0\n', 'connectors.vt.cache_size must be a positive integer'],
    ['    rate_limit: fast\n', 'connectors.vt.rate_limit must be a rate'],
  ])('refuses %j', (extra, message) => {
    expect(loadError(extra).message).toContain(message);
  });

  it('requires the key, and only as a ${secret:…} reference', () => {
    const missing = (): Connector =>
      loadRegistry('connectors:\n  vt:\n    type: virustotal\n', {}).get('vt');
    expect(missing).toThrow('connectors.vt.api_key is required');
    const literal = (): Connector =>
      loadRegistry('connectors:\n  vt:\n    type: virustotal\n    api_key: abc123\n', {}).get('vt');
    expect(literal).toThrow('connectors.vt.api_key must be a ${secret:NAME} reference');
    const unset = (): Connector =>
      loadRegistry(
        'connectors:\n  vt:\n    type: virustotal\n    api_key: "${secret:NOPE}"\n',
        {},
      ).get('vt');
    expect(unset).toThrow('references secret NOPE, which is not set');
  });

  it('loads the example in docs/connectors/virustotal.md as written', () => {
    const yaml = docExample(connectorDoc('virustotal.md'), 'connectors.yaml');
    const registry = loadRegistry(yaml, { VT_API_KEY: KEY });
    const vt = registry.get('virustotal');
    expect(vt.type).toBe('virustotal');
    expect(vt.rateLimit).toEqual({ requests: 4, intervalMs: 60_000 });
  });
});
