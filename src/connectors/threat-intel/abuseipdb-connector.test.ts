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
import type { Connector, ConnectorCall, JsonValue } from '../connector.js';
import { describeHttpConnectorContract } from '../connector.contract.js';
import type { ConnectorRegistry } from '../connector-config.js';
import { guardConnector } from '../guarded-connector.js';
import { ABUSEIPDB_CONNECTOR_TYPE, createAbuseIpdbConnector } from './abuseipdb-connector.js';

const KEY = 'abuseipdb-test-key-71c0ffee42';

function loadRegistry(yaml: string, secrets: Record<string, string>): ConnectorRegistry {
  return loadConnectorsFromYaml(yaml, { secrets, types: [ABUSEIPDB_CONNECTOR_TYPE] });
}

/** An abuseipdb instance named `abuse`, loaded from connectors.yaml as in production. */
function loadAbuse(extra: string, secret = KEY): Connector {
  return loadRegistry(
    `
connectors:
  abuse:
    type: abuseipdb
    api_key: "\${secret:ABUSEIPDB_API_KEY}"
${extra}`,
    { ABUSEIPDB_API_KEY: secret },
  ).get('abuse');
}

function loadError(extra: string): WardenError {
  return configError(() => loadAbuse(extra));
}

const numberedCall = numberedCalls('run-1/0/abuse/');
function call(input: JsonValue, action = 'check_ip'): ConnectorCall {
  return numberedCall(action, input);
}

/** A CHECK answer as AbuseIPDB API v2 documents it (values made up). */
function checkAnswer(score: number, extra: Record<string, unknown> = {}): unknown {
  return {
    data: {
      ipAddress: '203.0.113.7',
      isPublic: true,
      ipVersion: 4,
      isWhitelisted: false,
      abuseConfidenceScore: score,
      countryCode: 'NL',
      countryName: 'Netherlands',
      usageType: 'Data Center/Web Hosting/Transit',
      isp: 'Example Hosting B.V.',
      domain: 'hosting.example',
      hostnames: [],
      isTor: false,
      totalReports: 214,
      numDistinctUsers: 37,
      lastReportedAt: '2026-11-20T08:15:02+01:00',
      ...extra,
    },
  };
}

const HOSTILE_OUTPUT = {
  ip: '203.0.113.7',
  cached: false,
  malicious: true,
  abuse_confidence_score: 96,
  total_reports: 214,
  distinct_users: 37,
  is_whitelisted: false,
  is_tor: false,
  country_code: 'NL',
  isp: 'Example Hosting B.V.',
  usage_type: 'Data Center/Web Hosting/Transit',
  domain: 'hosting.example',
  last_reported_at: '2026-11-20T07:15:02.000Z',
  max_age_days: 30,
  link: 'https://www.abuseipdb.com/check/203.0.113.7',
};

describeHttpConnectorContract('abuseipdb', {
  // The cache is off: the suite sends the same check many times and expects each on the wire.
  create: ({ baseUrl, secret, timeoutMs }) =>
    loadAbuse(`    base_url: ${baseUrl}\n    timeout: ${timeoutMs}ms\n    cache_ttl: 0\n`, secret),
  read: {
    action: 'check_ip',
    input: { ip: '203.0.113.7', max_age_days: 30 },
    response: { body: checkAnswer(96) },
    expectRequest: {
      method: 'GET',
      path: '/api/v2/check',
      query: { ipAddress: '203.0.113.7', maxAgeInDays: '30' },
    },
    expectOutput: HOSTILE_OUTPUT,
  },
  invalidInput: { action: 'check_ip', input: { ip: '203.0.113.7', max_age_days: 400 } },
  expectCredential: (request, secret) => {
    expect(request.headers.key).toBe(secret);
  },
  idempotencyHeader: undefined,
});

describe('the abuseipdb connector', () => {
  const fake = fakeHttpServiceForSuite();
  let abuse: Connector;
  beforeEach(() => {
    abuse = loadAbuse(`    base_url: ${fake.url}\n    cache_ttl: 0\n`);
  });

  it('sends Key and Accept, defaults maxAgeInDays to 90, records the key as its reference', async () => {
    fake.enqueue({ body: checkAnswer(10) });
    const result = await abuse.invoke(call({ ip: '203.0.113.7' }));
    const request = fake.requests[0];
    expect(request?.headers.key).toBe(KEY);
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.query.get('ipAddress')).toBe('203.0.113.7');
    expect(request?.query.get('maxAgeInDays')).toBe('90');
    expect(result.output).toMatchObject({ malicious: false, max_age_days: 90 });
    expect(result.exchange?.requestHeaders.Key).toBe('${secret:ABUSEIPDB_API_KEY}');
    expect(JSON.stringify(result)).not.toContain(KEY);
  });

  it('calls a score at the threshold malicious, below it not', async () => {
    fake.enqueue({ body: checkAnswer(75) }, { body: checkAnswer(74) });
    expect((await abuse.invoke(call({ ip: '203.0.113.7' }))).output).toMatchObject({
      malicious: true,
    });
    expect((await abuse.invoke(call({ ip: '203.0.113.8' }))).output).toMatchObject({
      malicious: false,
    });
  });

  it("uses the instance's malicious_threshold", async () => {
    const strict = loadAbuse(`    base_url: ${fake.url}\n    malicious_threshold: 25\n`);
    fake.enqueue({ body: checkAnswer(30) });
    expect((await strict.invoke(call({ ip: '203.0.113.7' }))).output).toMatchObject({
      malicious: true,
      abuse_confidence_score: 30,
    });
  });

  it('reads absent and null fields as null, an IPv6 address in canonical form', async () => {
    fake.enqueue({
      body: {
        data: {
          ipAddress: '2001:db8::1',
          abuseConfidenceScore: 0,
          isWhitelisted: null,
          countryCode: null,
          totalReports: 0,
          numDistinctUsers: 0,
          lastReportedAt: null,
        },
      },
    });
    const result = await abuse.invoke(call({ ip: '2001:DB8:0::1' }));
    expect(fake.requests[0]?.query.get('ipAddress')).toBe('2001:db8::1');
    expect(result.output).toEqual({
      ip: '2001:db8::1',
      cached: false,
      malicious: false,
      abuse_confidence_score: 0,
      total_reports: 0,
      distinct_users: 0,
      is_whitelisted: null,
      is_tor: null,
      country_code: null,
      isp: null,
      usage_type: null,
      domain: null,
      last_reported_at: null,
      max_age_days: 90,
      link: 'https://www.abuseipdb.com/check/2001:db8::1',
    });
  });

  it('puts the detail of an AbuseIPDB error in the message', async () => {
    fake.enqueue({
      status: 422,
      body: {
        errors: [
          {
            detail:
              'The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).',
            status: 422,
            source: { parameter: 'ipAddress' },
          },
        ],
      },
    });
    const error = await connectorFailure(abuse.invoke(call({ ip: '203.0.113.7' })));
    expect(error).toMatchObject({ code: 'rejected', status: 422, retryable: false });
    expect(error.message).toBe(
      'abuse.check_ip: HTTP 422: The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).',
    );
  });

  it('reports a 401 as unauthorized without the key, even when it is echoed', async () => {
    fake.enqueue({
      status: 401,
      body: { errors: [{ detail: `Authentication failed for key ${KEY}.`, status: 401 }] },
    });
    const error = await connectorFailure(abuse.invoke(call({ ip: '203.0.113.7' })));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain('Authentication failed for key [redacted]');
    expect(JSON.stringify({ message: error.message, exchange: error.exchange })).not.toContain(KEY);
  });

  it('reads a daily-limit 429 with Retry-After and keeps the rate-limit headers in the exchange', async () => {
    fake.enqueue({
      status: 429,
      headers: {
        'retry-after': '29241',
        'x-ratelimit-limit': '1000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1798761600',
      },
      body: {
        errors: [
          {
            detail:
              'Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.',
            status: 429,
          },
        ],
      },
    });
    const error = await connectorFailure(abuse.invoke(call({ ip: '203.0.113.7' })));
    expect(error).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      retryAfterMs: 29_241_000,
    });
    expect(error.message).toContain('Daily rate limit of 1000 requests exceeded');
    expect(error.exchange?.responseHeaders).toMatchObject({
      'x-ratelimit-limit': '1000',
      'x-ratelimit-remaining': '0',
    });
  });

  it('derives the wait from X-RateLimit-Reset when Retry-After is missing', async () => {
    const now = 1_798_761_000_000;
    const clocked = guardConnector(
      createAbuseIpdbConnector({
        name: 'abuse',
        baseUrl: fake.url,
        apiKey: { value: KEY, recorded: '${secret:ABUSEIPDB_API_KEY}' },
        now: () => now,
      }),
    );
    fake.enqueue({ status: 429, headers: { 'x-ratelimit-reset': '1798761600' }, body: {} });
    const error = await connectorFailure(clocked.invoke(call({ ip: '203.0.113.7' })));
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 600_000 });
  });

  it('fails with invalid_output when a 200 carries no score', async () => {
    fake.enqueue({ body: { data: { ipAddress: '203.0.113.7' } } });
    const error = await connectorFailure(abuse.invoke(call({ ip: '203.0.113.7' })));
    expect(error.code).toBe('invalid_output');
    expect(error.exchange?.status).toBe(200);
  });

  it.each<Record<string, JsonValue>>([
    { ip: 'evil.example' },
    { ip: '300.1.1.1' },
    { ip: '203.0.113.7', max_age_days: 0 },
    { ip: '203.0.113.7', max_age_days: 1.5 },
    { ip: '203.0.113.7', verbose: true },
    {},
  ])('rejects %j before sending anything', async (input) => {
    expect((await connectorFailure(abuse.invoke(call(input)))).code).toBe('invalid_input');
    expect(fake.requests).toHaveLength(0);
  });

  it('appends the API path to a base_url with a path prefix', async () => {
    const prefixed = loadAbuse(`    base_url: ${fake.url}/abuseipdb\n`);
    fake.enqueue({ body: checkAnswer(1) });
    await prefixed.invoke(call({ ip: '203.0.113.7' }));
    expect(fake.requests[0]?.path).toBe('/abuseipdb/api/v2/check');
  });

  it('answers reconcile with not_done', async () => {
    const unguarded = createAbuseIpdbConnector({
      name: 'abuse',
      apiKey: { value: KEY, recorded: '${secret:ABUSEIPDB_API_KEY}' },
    });
    expect(await unguarded.reconcile?.(call({ ip: '203.0.113.7' }))).toEqual({ state: 'not_done' });
  });
});

describe('the abuseipdb cache', () => {
  const fake = fakeHttpServiceForSuite();
  let time = 0;
  let abuse: Connector;
  beforeEach(() => {
    time = 5_000_000;
    abuse = guardConnector(
      createAbuseIpdbConnector({
        name: 'abuse',
        baseUrl: fake.url,
        apiKey: { value: KEY, recorded: '${secret:ABUSEIPDB_API_KEY}' },
        cache: { ttlMs: 3_600_000, maxEntries: 2, now: () => time },
      }),
    );
  });

  it('answers a repeated check from the cache, per address and window', async () => {
    fake.route({}, { body: checkAnswer(96) });
    const live = await abuse.invoke(call({ ip: '203.0.113.7', max_age_days: 30 }));
    const cached = await abuse.invoke(call({ ip: '203.0.113.7', max_age_days: 30 }));
    expect(live.output).toEqual(HOSTILE_OUTPUT);
    expect(cached.output).toEqual({ ...HOSTILE_OUTPUT, cached: true });
    expect(cached.exchange).toBeUndefined();
    await abuse.invoke(call({ ip: '203.0.113.7', max_age_days: 90 }));
    expect(fake.requests).toHaveLength(2);
  });

  it('expires entries after cache_ttl and evicts beyond cache_size', async () => {
    fake.route({}, { body: checkAnswer(5) });
    await abuse.invoke(call({ ip: '192.0.2.1' }));
    await abuse.invoke(call({ ip: '192.0.2.2' }));
    await abuse.invoke(call({ ip: '192.0.2.3' })); // evicts 192.0.2.1
    await abuse.invoke(call({ ip: '192.0.2.3' }));
    await abuse.invoke(call({ ip: '192.0.2.1' }));
    expect(fake.requests).toHaveLength(4);
    time += 3_600_000;
    await abuse.invoke(call({ ip: '192.0.2.3' }));
    expect(fake.requests).toHaveLength(5);
  });

  it('never caches an error', async () => {
    fake.enqueue({ status: 503 }, { body: checkAnswer(96) });
    expect((await connectorFailure(abuse.invoke(call({ ip: '203.0.113.7' })))).code).toBe(
      'unavailable',
    );
    expect((await abuse.invoke(call({ ip: '203.0.113.7' }))).output).toMatchObject({
      cached: false,
    });
    expect(fake.requests).toHaveLength(2);
  });
});

describe('abuseipdb in connectors.yaml', () => {
  it.each([
    ['    malicious_threshold: 0\n', 'malicious_threshold must be a whole number from 1 to 100'],
    ['    malicious_threshold: 101\n', 'malicious_threshold must be a whole number from 1 to 100'],
    ['    malicious_threshold: high\n', 'malicious_threshold must be a whole number from 1 to 100'],
    ['    threshold: 50\n', 'connectors.abuse.threshold is not a known key'],
    ['    base_url: not a url\n', 'connectors.abuse.base_url must be an absolute http(s) URL'],
  ])('refuses %j', (extra, message) => {
    expect(loadError(extra).message).toContain(message);
  });

  it('loads the example in docs/connectors/abuseipdb.md as written', () => {
    const yaml = docExample(connectorDoc('abuseipdb.md'), 'connectors.yaml');
    const registry = loadRegistry(yaml, { ABUSEIPDB_API_KEY: KEY });
    expect(registry.get('abuseipdb').type).toBe('abuseipdb');
  });
});
