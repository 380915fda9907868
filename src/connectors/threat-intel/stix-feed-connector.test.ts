import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
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
import {
  STIX_FEED_CONNECTOR_TYPE,
  TAXII_ACCEPT,
  createStixFeedConnector,
  type StixFeedConnectorOptions,
} from './stix-feed-connector.js';

const TOKEN = 'taxii-test-token-0d15ea5e77';
const COLLECTION = '/taxii2/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/';
const SHA256 = '4bf27c06c96e7c73bd4a1a3a1d8f5b8d05a2f7c55b4e8f1e0c9f0ad2a4a1a0b1';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-stix-'));
  dirs.push(dir);
  return dir;
}

/** Loads connectors.yaml text; in `dir` when its feed names a file beside it. */
function loadRegistry(
  yaml: string,
  secrets: Record<string, string> = {},
  dir?: string,
): ConnectorRegistry {
  return loadConnectorsFromYaml(yaml, { secrets, types: [STIX_FEED_CONNECTOR_TYPE], dir });
}

function loadFeed(body: string, secrets: Record<string, string> = {}, dir?: string): Connector {
  return loadRegistry(`connectors:\n  feed:\n    type: stix_feed\n${body}`, secrets, dir).get(
    'feed',
  );
}

function loadError(body: string): WardenError {
  return configError(() => loadFeed(body, { TAXII_TOKEN: TOKEN }));
}

const numberedCall = numberedCalls('k');
function call(input: JsonValue, signal = AbortSignal.timeout(10_000)): ConnectorCall {
  return numberedCall('match_observables', input, { signal });
}

function indicator(id: string, pattern: string, fields: Record<string, unknown> = {}): unknown {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${id}`,
    created: '2026-10-01T00:00:00.000Z',
    modified: '2026-10-01T00:00:00.000Z',
    name: `indicator ${id}`,
    indicator_types: ['malicious-activity'],
    pattern,
    pattern_type: 'stix',
    valid_from: '2026-10-01T00:00:00Z',
    ...fields,
  };
}

const RANGE_INDICATOR = indicator(
  '0f6e7a52-5a4b-4d3c-9d1e-2b8f3c4d5e6f',
  "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
  {
    name: 'Model-extraction scraper range',
    confidence: 85,
    labels: ['model-extraction'],
    valid_until: '2099-01-01T00:00:00Z',
    kill_chain_phases: [{ kill_chain_name: 'mitre-atlas', phase_name: 'exfiltration' }],
    external_references: [{ source_name: 'mitre-atlas', external_id: 'AML.T0024' }],
  },
);

const RANGE_MATCH = {
  indicator_id: 'indicator--0f6e7a52-5a4b-4d3c-9d1e-2b8f3c4d5e6f',
  name: 'Model-extraction scraper range',
  pattern: "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
  matched_value: '203.0.113.7',
  indicator_types: ['malicious-activity'],
  confidence: 85,
  labels: ['model-extraction'],
  valid_until: '2099-01-01T00:00:00Z',
  kill_chain_phases: [{ kill_chain_name: 'mitre-atlas', phase_name: 'exfiltration' }],
  atlas_techniques: ['AML.T0024'],
};

function bundle(objects: unknown[]): unknown {
  return { type: 'bundle', id: 'bundle--5d0092c5-5f74-4287-9642-33f4c354e56d', objects };
}

describeHttpConnectorContract('stix_feed (TAXII 2.1 url)', {
  // Read on every call, and never fall back to older indicators: the suite
  // expects every call on the wire and every failure reported as such.
  create: ({ baseUrl, secret, timeoutMs }) =>
    loadFeed(
      `    url: ${baseUrl}${COLLECTION}\n` +
        '    headers: { Authorization: "Bearer ${secret:TAXII_TOKEN}" }\n' +
        `    timeout: ${timeoutMs}ms\n    refresh: 0\n    max_stale: 0\n`,
      { TAXII_TOKEN: secret },
    ),
  read: {
    action: 'match_observables',
    input: { ips: ['203.0.113.7', '192.0.2.1'] },
    response: {
      headers: { 'content-type': TAXII_ACCEPT },
      body: { more: false, objects: [RANGE_INDICATOR] },
    },
    expectRequest: { method: 'GET', path: COLLECTION },
    expectOutput: {
      matched: true,
      matches: [RANGE_MATCH],
      indicators_loaded: 1,
      unsupported_patterns: 0,
      feed_age_seconds: 0,
      stale: false,
    },
  },
  invalidInput: { action: 'match_observables', input: { ips: '203.0.113.7' } },
  expectCredential: (request, secret) => {
    expect(request.headers.authorization).toBe(`Bearer ${secret}`);
    expect(request.headers.accept).toBe(TAXII_ACCEPT);
  },
  idempotencyHeader: undefined,
});

describe('stix_feed from a file', () => {
  it('reads a bundle relative to the config directory and matches observables', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'intel'));
    writeFileSync(
      join(dir, 'intel', 'feed.json'),
      JSON.stringify(
        bundle([
          {
            type: 'identity',
            id: 'identity--1',
            name: 'ACME CERT',
            identity_class: 'organization',
          },
          RANGE_INDICATOR,
          indicator('hash', `[file:hashes.'SHA-256' = '${SHA256}']`),
          indicator('domain', "[domain-name:value = 'exfil.example']"),
          indicator('email', "[email-addr:value = 'ops@exfil.example']"),
          indicator('url', "[url:value = 'https://exfil.example/upload']"),
        ]),
      ),
    );
    const feed = loadFeed('    file: intel/feed.json\n', {}, dir);
    const result = await feed.invoke(
      call({
        ips: ['192.0.2.1', '203.0.113.7'],
        hashes: [SHA256.toUpperCase()],
        domains: ['benign.example'],
        emails: ['OPS@exfil.example'],
        urls: ['https://EXFIL.example:443/upload'],
      }),
    );
    expect(result.exchange).toBeUndefined();
    expect(result.output).toMatchObject({
      matched: true,
      indicators_loaded: 5,
      unsupported_patterns: 0,
      stale: false,
    });
    const matches = (
      result.output as { matches: { indicator_id: string; matched_value: string }[] }
    ).matches;
    expect(matches.map((match) => [match.indicator_id, match.matched_value])).toEqual([
      [RANGE_MATCH.indicator_id, '203.0.113.7'],
      ['indicator--hash', SHA256.toUpperCase()],
      ['indicator--email', 'OPS@exfil.example'],
      ['indicator--url', 'https://EXFIL.example:443/upload'],
    ]);

    const nothing = await feed.invoke(call({ ips: ['192.0.2.1'] }));
    expect(nothing.output).toMatchObject({ matched: false, matches: [] });
  });

  it('accepts an absolute path', async () => {
    const dir = tempDir();
    const path = join(dir, 'abs.json');
    writeFileSync(path, JSON.stringify(bundle([RANGE_INDICATOR])));
    const feed = loadFeed(`    file: ${path}\n`);
    expect((await feed.invoke(call({ ips: ['203.0.113.200'] }))).output).toMatchObject({
      matched: true,
    });
  });

  it('fails misconfigured when the file is missing, invalid_output when it is not a bundle', async () => {
    const dir = tempDir();
    const missing = loadFeed('    file: nowhere.json\n', {}, dir);
    const error = await connectorFailure(missing.invoke(call({ ips: ['203.0.113.7'] })));
    expect(error).toMatchObject({ code: 'misconfigured', retryable: false });
    expect(error.message).toContain(join(dir, 'nowhere.json'));

    writeFileSync(join(dir, 'bad.json'), '{"type": "indicator"}');
    const bad = loadFeed('    file: bad.json\n', {}, dir);
    expect((await connectorFailure(bad.invoke(call({ ips: [] })))).code).toBe('invalid_output');
    writeFileSync(join(dir, 'broken.json'), '{"type": "bundle", ');
    const broken = loadFeed('    file: broken.json\n', {}, dir);
    expect((await connectorFailure(broken.invoke(call({ ips: [] })))).code).toBe('invalid_output');
  });
});

describe('stix_feed indicators over time', () => {
  let dir: string;
  let time: number;
  const path = (): string => join(dir, 'feed.json');
  const write = (objects: unknown[]): void =>
    writeFileSync(path(), JSON.stringify(bundle(objects)));
  const create = (options: Partial<StixFeedConnectorOptions> = {}): Connector =>
    guardConnector(
      createStixFeedConnector({
        name: 'feed',
        source: { kind: 'file', path: path() },
        now: () => time,
        ...options,
      }),
    );

  beforeEach(() => {
    dir = tempDir();
    time = Date.parse('2026-11-26T12:00:00Z');
  });

  it('ignores revoked, expired and not yet valid indicators; counts unsupported patterns', async () => {
    write([
      indicator('live', "[ipv4-addr:value = '198.51.100.7']"),
      indicator('revoked', "[ipv4-addr:value = '198.51.100.7']", { revoked: true }),
      indicator('expired', "[ipv4-addr:value = '198.51.100.7']", {
        valid_until: '2026-11-26T11:00:00Z',
      }),
      indicator('future', "[ipv4-addr:value = '198.51.100.7']", {
        valid_from: '2026-12-01T00:00:00Z',
      }),
      indicator('within', "[ipv4-addr:value = '198.51.100.7'] WITHIN 60 SECONDS"),
      indicator('sigma', 'detection: x', { pattern_type: 'sigma' }),
    ]);
    const result = await create().invoke(call({ ips: ['198.51.100.7'] }));
    expect(result.output).toMatchObject({ indicators_loaded: 3, unsupported_patterns: 2 });
    const matches = (result.output as { matches: { indicator_id: string }[] }).matches;
    expect(matches.map((match) => match.indicator_id)).toEqual(['indicator--live']);
  });

  it('drops an indicator once it expires, without reading the feed again', async () => {
    write([
      indicator('soon', "[ipv4-addr:value = '198.51.100.7']", {
        valid_until: '2026-11-26T12:05:00Z',
      }),
    ]);
    const feed = create();
    expect((await feed.invoke(call({ ips: ['198.51.100.7'] }))).output).toMatchObject({
      matched: true,
    });
    time += 5 * 60 * 1000;
    expect((await feed.invoke(call({ ips: ['198.51.100.7'] }))).output).toMatchObject({
      matched: false,
      indicators_loaded: 0,
    });
  });

  it('uses the latest version of a re-published indicator', async () => {
    write([
      indicator('x', "[ipv4-addr:value = '198.51.100.7']"),
      indicator('x', "[ipv4-addr:value = '198.51.100.7']", {
        modified: '2026-11-20T00:00:00.000Z',
        revoked: true,
      }),
    ]);
    expect((await create().invoke(call({ ips: ['198.51.100.7'] }))).output).toMatchObject({
      matched: false,
      indicators_loaded: 0,
    });
  });

  it('reads the feed again only once refresh has passed, and reports its age', async () => {
    write([indicator('a', "[ipv4-addr:value = '198.51.100.7']")]);
    const feed = create({ refreshMs: 15 * 60 * 1000 });
    expect((await feed.invoke(call({ ips: ['198.51.100.7'] }))).output).toMatchObject({
      matched: true,
      feed_age_seconds: 0,
    });
    write([indicator('b', "[ipv4-addr:value = '198.51.100.8']")]);
    time += 14 * 60 * 1000;
    expect((await feed.invoke(call({ ips: ['198.51.100.7'] }))).output).toMatchObject({
      matched: true,
      feed_age_seconds: 14 * 60,
    });
    time += 60 * 1000;
    expect(
      (await feed.invoke(call({ ips: ['198.51.100.7', '198.51.100.8'] }))).output,
    ).toMatchObject({ matches: [{ indicator_id: 'indicator--b' }], feed_age_seconds: 0 });
  });

  it('keeps the last good indicators when a refresh fails, reporting them stale, up to max_stale past due', async () => {
    write([indicator('a', "[ipv4-addr:value = '198.51.100.7']")]);
    const feed = create({ refreshMs: 60_000, maxStaleMs: 10 * 60_000 });
    await feed.invoke(call({ ips: ['198.51.100.7'] }));

    writeFileSync(path(), 'not json');
    time += 60_000;
    const stale = await feed.invoke(call({ ips: ['198.51.100.7'] }));
    expect(stale.output).toMatchObject({ matched: true, stale: true, feed_age_seconds: 60 });
    expect((stale.output as { stale_reason: string }).stale_reason).toContain(
      'not a STIX 2.1 bundle',
    );

    time += 10 * 60_000; // exactly max_stale past due: still served
    expect((await feed.invoke(call({ ips: ['198.51.100.7'] }))).output).toMatchObject({
      stale: true,
    });
    time += 60_000;
    const error = await connectorFailure(feed.invoke(call({ ips: ['198.51.100.7'] })));
    expect(error.code).toBe('invalid_output');

    write([indicator('a', "[ipv4-addr:value = '198.51.100.7']")]);
    time += 60_000;
    expect((await feed.invoke(call({ ips: ['198.51.100.7'] }))).output).toMatchObject({
      matched: true,
      stale: false,
      feed_age_seconds: 0,
    });
  });

  it('does not ask a failing feed again on every call', async () => {
    const feed = create({ refreshMs: 15 * 60_000 });
    const first = await connectorFailure(feed.invoke(call({ ips: [] })));
    expect(first.code).toBe('misconfigured');
    write([indicator('a', "[ipv4-addr:value = '198.51.100.7']")]);
    time += 30_000;
    const again = await connectorFailure(feed.invoke(call({ ips: [] })));
    expect(again.message).toContain('the last attempt to read the feed, 30s ago');
    time += 30_000;
    expect((await feed.invoke(call({ ips: ['198.51.100.7'] }))).output).toMatchObject({
      matched: true,
    });
  });
});

describe('stix_feed from a TAXII 2.1 collection', () => {
  const fake = fakeHttpServiceForSuite();

  const urlFeed = (extra = ''): Connector =>
    loadFeed(
      `    url: ${fake.url}${COLLECTION}\n` +
        '    headers: { Authorization: "Basic ${secret:TAXII_TOKEN}" }\n' +
        extra,
      { TAXII_TOKEN: TOKEN },
    );

  it('follows next across pages and records the last page exchange, secret as its reference', async () => {
    fake.enqueue(
      { body: { more: true, next: 'page-2', objects: [RANGE_INDICATOR] } },
      {
        body: {
          more: true,
          next: 'page-3',
          objects: [indicator('d', "[domain-name:value = 'exfil.example']")],
        },
      },
      { body: { more: false, objects: [indicator('h', `[file:hashes.'SHA-256' = '${SHA256}']`)] } },
    );
    const feed = urlFeed();
    const result = await feed.invoke(
      call({ ips: ['203.0.113.7'], domains: ['exfil.example'], hashes: [SHA256] }),
    );
    expect(fake.requests.map((request) => request.query.get('next'))).toEqual([
      null,
      'page-2',
      'page-3',
    ]);
    for (const request of fake.requests) {
      expect(request.path).toBe(COLLECTION);
      expect(request.headers.authorization).toBe(`Basic ${TOKEN}`);
      expect(request.headers.accept).toBe(TAXII_ACCEPT);
    }
    expect(result.output).toMatchObject({ matched: true, indicators_loaded: 3 });
    expect((result.output as { matches: unknown[] }).matches).toHaveLength(3);
    expect(result.exchange?.url).toContain('next=page-3');
    expect(result.exchange?.requestHeaders.Authorization).toBe('Basic ${secret:TAXII_TOKEN}');
    expect(JSON.stringify(result)).not.toContain(TOKEN);

    // Within refresh (15m by default): answered from memory, no exchange.
    const again = await feed.invoke(call({ ips: ['203.0.113.7'] }));
    expect(fake.requests).toHaveLength(3);
    expect(again.exchange).toBeUndefined();
  });

  it('pages by added_after when the server gives X-TAXII-Date-Added-Last instead of next', async () => {
    fake.enqueue(
      {
        headers: { 'x-taxii-date-added-last': '2026-11-01T00:00:00.000Z' },
        body: { more: true, objects: [RANGE_INDICATOR] },
      },
      { body: { more: false } },
    );
    await urlFeed().invoke(call({ ips: [] }));
    expect(fake.requests[1]?.query.get('added_after')).toBe('2026-11-01T00:00:00.000Z');
  });

  it('fails a refresh that needs more than max_pages pages', async () => {
    fake.route({}, { body: { more: true, next: 'again', objects: [] } });
    const error = await connectorFailure(urlFeed('    max_pages: 3\n').invoke(call({ ips: [] })));
    expect(error).toMatchObject({ code: 'misconfigured' });
    expect(error.message).toContain('more than 3 pages; raise max_pages');
    expect(fake.requests).toHaveLength(3);
  });

  it('reads a plain bundle served at the URL', async () => {
    fake.enqueue({ body: bundle([RANGE_INDICATOR]) });
    expect((await urlFeed().invoke(call({ ips: ['203.0.113.1'] }))).output).toMatchObject({
      matched: true,
    });
  });

  it('keeps the query of the configured URL when paging', async () => {
    const feed = loadFeed(`    url: "${fake.url}${COLLECTION}?match[type]=indicator"\n`);
    fake.enqueue({ body: { more: true, next: 'n2', objects: [] } }, { body: { more: false } });
    await feed.invoke(call({ ips: [] }));
    expect(fake.requests.map((request) => request.query.toString())).toEqual([
      'match%5Btype%5D=indicator',
      'match%5Btype%5D=indicator&next=n2',
    ]);
  });

  it('makes concurrent calls wait for one refresh', async () => {
    fake.enqueue({ delayMs: 100, body: { more: false, objects: [RANGE_INDICATOR] } });
    const feed = urlFeed();
    const [a, b, c] = await Promise.all([
      feed.invoke(call({ ips: ['203.0.113.7'] })),
      feed.invoke(call({ ips: ['203.0.113.8'] })),
      feed.invoke(call({ ips: ['192.0.2.1'] })),
    ]);
    expect(fake.requests).toHaveLength(1);
    expect([a, b, c].map((result) => (result.output as { matched: boolean }).matched)).toEqual([
      true,
      true,
      false,
    ]);
  });

  it("stops waiting at the call's deadline but lets the refresh finish for the next call", async () => {
    fake.enqueue({ delayMs: 300, body: { more: false, objects: [RANGE_INDICATOR] } });
    const feed = urlFeed();
    const error = await connectorFailure(
      feed.invoke(call({ ips: ['203.0.113.7'] }, AbortSignal.timeout(50))),
    );
    expect(error.code).toBe('timeout');
    await new Promise((resolve) => setTimeout(resolve, 400));
    const result = await feed.invoke(call({ ips: ['203.0.113.7'] }));
    expect(result.output).toMatchObject({ matched: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('serves stale indicators when the server fails after a good read, with the failed exchange', async () => {
    const feed = loadFeed(`    url: ${fake.url}${COLLECTION}\n    refresh: 0s\n`);
    fake.enqueue(
      { body: { objects: [RANGE_INDICATOR] } },
      { status: 503, body: { error: 'down' } },
    );
    await feed.invoke(call({ ips: ['203.0.113.7'] }));
    const stale = await feed.invoke(call({ ips: ['203.0.113.7'] }));
    expect(stale.output).toMatchObject({ matched: true, stale: true });
    expect((stale.output as { stale_reason: string }).stale_reason).toContain('HTTP 503');
    expect(stale.exchange?.status).toBe(503);
  });

  it('fails with invalid_output on a response that is no feed', async () => {
    fake.enqueue({ body: { data: [] } });
    const error = await connectorFailure(urlFeed().invoke(call({ ips: [] })));
    expect(error.code).toBe('invalid_output');
    expect(error.exchange?.status).toBe(200);
  });
});

describe('stix_feed in connectors.yaml', () => {
  it.each([
    ['', 'connectors.feed.file or url is required'],
    [
      '    file: a.json\n    url: https://taxii.example/c/objects/\n',
      'cannot be set together with file',
    ],
    [
      '    file: a.json\n    headers: { Authorization: "Bearer ${secret:TAXII_TOKEN}" }\n',
      'connectors.feed.headers apply only to a url feed',
    ],
    ['    url: ftp://taxii.example/\n', 'connectors.feed.url must be an http or https URL'],
    ['    url: "https://taxii.example/${secret:TAXII_TOKEN}"\n', 'cannot contain ${…} references'],
    [
      '    url: https://taxii.example/\n    headers: { "bad header": x }\n',
      'is not a valid header name',
    ],
    ['    file: a.json\n    refresh: often\n', 'connectors.feed.refresh must be a duration'],
    [
      '    file: a.json\n    max_pages: 0\n',
      'connectors.feed.max_pages must be a positive integer',
    ],
    ['    file: a.json\n    cache_ttl: 1h\n', 'connectors.feed.cache_ttl is not a known key'],
  ])('refuses %j', (body, message) => {
    expect(loadError(body).message).toContain(message);
  });

  it('accepts refresh and max_stale of 0', () => {
    expect(loadFeed('    file: a.json\n    refresh: 0\n    max_stale: 0s\n').type).toBe(
      'stix_feed',
    );
  });

  it('loads the example in docs/connectors/stix-feed.md as written', () => {
    const yaml = docExample(connectorDoc('stix-feed.md'), 'connectors.yaml');
    const registry = loadRegistry(yaml, { TAXII_AUTH: 'dXNlcjpwYXNz' });
    for (const name of registry.names().filter((n) => n !== 'log' && n !== 'inventory')) {
      expect(registry.get(name).type).toBe('stix_feed');
    }
  });
});
