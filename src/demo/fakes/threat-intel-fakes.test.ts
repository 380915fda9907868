import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectorFailure, numberedCalls } from '../../../test/support/connector-test-kit.js';
import {
  recordActionsInto,
  serveVendorFakes,
  type RecordedAction,
  type ServedVendorFakes,
} from '../../../test/support/vendor-fake-server.js';
import type { Connector } from '../../connectors/connector.js';
import { guardConnector } from '../../connectors/guarded-connector.js';
import { createAbuseIpdbConnector } from '../../connectors/threat-intel/abuseipdb-connector.js';
import { createStixFeedConnector } from '../../connectors/threat-intel/stix-feed-connector.js';
import { createVirusTotalConnector } from '../../connectors/threat-intel/virustotal-connector.js';
import { ABUSEIPDB_FAKE_PREFIX, abuseipdbFake } from './abuseipdb-fake.js';
import {
  DEMO_HOSTILE_DOMAIN,
  DEMO_HOSTILE_SHA256,
  TAXII_FAKE_API_ROOT,
  TAXII_FAKE_COLLECTION_ID,
  TAXII_MEDIA_TYPE,
  taxiiFake,
} from './taxii-fake.js';
import { VIRUSTOTAL_FAKE_PREFIX, virustotalFake } from './virustotal-fake.js';

const recorded: RecordedAction[] = [];
const record = recordActionsInto(recorded);
let served: ServedVendorFakes;

beforeAll(async () => {
  // All three in one server, as the demo runs them: each answers only under its prefix.
  served = await serveVendorFakes([
    virustotalFake(record),
    abuseipdbFake(record),
    taxiiFake(record),
  ]);
});
afterAll(() => served.close());
beforeEach(() => {
  recorded.length = 0;
});

const call = numberedCalls('run-1/0/intel/');

describe('the VirusTotal fake', () => {
  const vt = (key = 'demo-vt-key'): Connector =>
    guardConnector(
      createVirusTotalConnector({
        name: 'virustotal',
        baseUrl: `${served.url}${VIRUSTOTAL_FAKE_PREFIX}`,
        apiKey: { value: key, recorded: '${secret:VT_API_KEY}' },
        cache: { ttlMs: 0, maxEntries: 1 },
      }),
    );

  it('reports the demo ranges as malicious and other addresses as harmless', async () => {
    const hostile = await vt().invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(hostile.output).toMatchObject({
      found: true,
      verdict: 'malicious',
      network: '203.0.113.0/24',
      link: 'https://www.virustotal.com/gui/ip-address/203.0.113.7',
    });
    expect(hostile.output).toHaveProperty('malicious', 14);
    const other = await vt().invoke(call('lookup_ip', { ip: '198.51.100.250' }));
    expect(other.output).toMatchObject({ verdict: 'malicious' });
    const benign = await vt().invoke(call('lookup_ip', { ip: '192.0.2.1' }));
    expect(benign.output).toMatchObject({ found: true, verdict: 'harmless', malicious: 0 });
    const v6 = await vt().invoke(call('lookup_ip', { ip: '2001:db8::1' }));
    expect(v6.output).toMatchObject({ verdict: 'harmless' });
  });

  it('reports the exfiltration domain as malicious, other domains as harmless', async () => {
    expect(
      (await vt().invoke(call('lookup_domain', { domain: DEMO_HOSTILE_DOMAIN }))).output,
    ).toMatchObject({ verdict: 'malicious', categories: ['malicious web sites', 'Malware Sites'] });
    expect(
      (await vt().invoke(call('lookup_domain', { domain: 'docs.example' }))).output,
    ).toMatchObject({ verdict: 'harmless' });
  });

  it('knows the backdoored model file; any other file is not found', async () => {
    expect(
      (await vt().invoke(call('lookup_file', { hash: DEMO_HOSTILE_SHA256 }))).output,
    ).toMatchObject({
      found: true,
      verdict: 'malicious',
      threat_label: 'trojan.pickle/modelbackdoor',
      meaningful_name: 'fraud-scorer-v7.pkl',
    });
    expect((await vt().invoke(call('lookup_file', { hash: 'a'.repeat(64) }))).output).toMatchObject(
      { found: false, verdict: 'unknown' },
    );
  });

  it('answers 401 AuthenticationRequiredError without x-apikey', async () => {
    const error = await connectorFailure(vt('').invoke(call('lookup_ip', { ip: '203.0.113.7' })));
    expect(error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(error.message).toContain('AuthenticationRequiredError');
  });

  it('records nothing: every lookup is a read', async () => {
    await vt().invoke(call('lookup_ip', { ip: '203.0.113.7' }));
    expect(recorded).toEqual([]);
  });
});

describe('the AbuseIPDB fake', () => {
  const abuse = (key = 'demo-abuseipdb-key'): Connector =>
    guardConnector(
      createAbuseIpdbConnector({
        name: 'abuseipdb',
        baseUrl: `${served.url}${ABUSEIPDB_FAKE_PREFIX}`,
        apiKey: { value: key, recorded: '${secret:ABUSEIPDB_API_KEY}' },
        cache: { ttlMs: 0, maxEntries: 1 },
      }),
    );

  it('scores the demo ranges 100 and clean addresses 0', async () => {
    const hostile = await abuse().invoke(
      call('check_ip', { ip: '198.51.100.23', max_age_days: 30 }),
    );
    expect(hostile.output).toMatchObject({
      malicious: true,
      abuse_confidence_score: 100,
      usage_type: 'Data Center/Web Hosting/Transit',
      max_age_days: 30,
    });
    expect(hostile.exchange?.responseHeaders?.['x-ratelimit-limit']).toBe('1000');
    const clean = await abuse().invoke(call('check_ip', { ip: '192.0.2.44' }));
    expect(clean.output).toMatchObject({
      malicious: false,
      abuse_confidence_score: 0,
      total_reports: 0,
      last_reported_at: null,
    });
  });

  it('remembers reports filed with POST /api/v2/report and records them', async () => {
    const response = await fetch(`${served.url}${ABUSEIPDB_FAKE_PREFIX}/api/v2/report`, {
      method: 'POST',
      headers: { Key: 'demo-abuseipdb-key', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ip: '192.0.2.99', categories: '18,21', comment: 'API abuse' }),
    });
    expect(response.status).toBe(200);
    expect(recorded).toEqual([
      {
        service: 'abuseipdb',
        action: 'reported',
        target: '192.0.2.99',
        details: { categories: [18, 21], comment: 'API abuse' },
      },
    ]);
    const checked = await abuse().invoke(call('check_ip', { ip: '192.0.2.99' }));
    expect(checked.output).toMatchObject({ total_reports: 1, abuse_confidence_score: 25 });
  });

  it('answers 401 without the Key header', async () => {
    const error = await connectorFailure(abuse('').invoke(call('check_ip', { ip: '203.0.113.7' })));
    expect(error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(error.message).toContain('Authentication failed');
  });
});

describe('the TAXII fake', () => {
  const objectsUrl = (): string =>
    `${served.url}${TAXII_FAKE_API_ROOT}/collections/${TAXII_FAKE_COLLECTION_ID}/objects/`;
  const feed = (): Connector =>
    guardConnector(
      createStixFeedConnector({ name: 'intel_feed', source: { kind: 'url', url: objectsUrl() } }),
    );

  it('serves discovery, the API root and the collection list', async () => {
    const get = async (path: string): Promise<unknown> => {
      const response = await fetch(`${served.url}${path}`, {
        headers: { accept: TAXII_MEDIA_TYPE },
      });
      expect(response.headers.get('content-type')).toBe(TAXII_MEDIA_TYPE);
      return response.json();
    };
    expect(await get('/taxii/taxii2/')).toMatchObject({
      api_roots: [`${served.url}${TAXII_FAKE_API_ROOT}/`],
    });
    expect(await get(`${TAXII_FAKE_API_ROOT}/`)).toMatchObject({ versions: [TAXII_MEDIA_TYPE] });
    expect(await get(`${TAXII_FAKE_API_ROOT}/collections/`)).toMatchObject({
      collections: [{ id: TAXII_FAKE_COLLECTION_ID, can_read: true }],
    });
  });

  it('refuses a request that does not accept TAXII', async () => {
    const response = await fetch(objectsUrl(), { headers: { accept: 'application/xml' } });
    expect(response.status).toBe(406);
  });

  it('pages its objects and the stix_feed connector matches the hostile observables', async () => {
    const result = await feed().invoke(
      call('match_observables', {
        ips: ['203.0.113.7', '198.51.100.9', '192.0.2.10', '192.0.2.1'],
        domains: [DEMO_HOSTILE_DOMAIN],
        hashes: [DEMO_HOSTILE_SHA256],
      }),
    );
    const output = result.output as {
      matched: boolean;
      matches: { name: string; matched_value: string; atlas_techniques: string[] }[];
      indicators_loaded: number;
      unsupported_patterns: number;
    };
    expect(output.matched).toBe(true);
    expect(output.matches.map((match) => [match.matched_value, match.atlas_techniques])).toEqual([
      ['203.0.113.7', ['AML.T0024']],
      ['198.51.100.9', ['AML.T0051']],
      [DEMO_HOSTILE_SHA256, ['AML.T0018']],
      [DEMO_HOSTILE_DOMAIN, ['AML.T0025']],
    ]);
    // The revoked indicator (192.0.2.10) is ignored; the FOLLOWEDBY one is counted unsupported.
    expect(output.indicators_loaded).toBe(5);
    expect(output.unsupported_patterns).toBe(1);
    // Seven objects, three a page: the last page's request carries the cursor.
    expect(result.exchange?.url).toContain('next=6');
  });

  it('takes new objects by POST, records them, and the feed matches them after a refresh', async () => {
    const id = 'indicator--7d3f9b8a-1c0e-4a5b-8f2d-6e8c7b9a1d3f';
    const response = await fetch(objectsUrl(), {
      method: 'POST',
      headers: { accept: TAXII_MEDIA_TYPE, 'content-type': TAXII_MEDIA_TYPE },
      body: JSON.stringify({
        objects: [
          {
            type: 'indicator',
            spec_version: '2.1',
            id,
            created: '2026-11-26T00:00:00.000Z',
            modified: '2026-11-26T00:00:00.000Z',
            pattern: "[ipv4-addr:value = '192.0.2.77']",
            pattern_type: 'stix',
            valid_from: '2026-11-26T00:00:00Z',
          },
        ],
      }),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ status: 'complete', success_count: 1 });
    expect(recorded).toEqual([
      {
        service: 'taxii',
        action: 'published objects',
        target: TAXII_FAKE_COLLECTION_ID,
        details: { ids: [id] },
      },
    ]);
    const result = await feed().invoke(call('match_observables', { ips: ['192.0.2.77'] }));
    expect(result.output).toMatchObject({ matched: true, matches: [{ indicator_id: id }] });
  });

  it('filters by match[type] and added_after', async () => {
    const response = await fetch(`${objectsUrl()}?match[type]=identity`, {
      headers: { accept: TAXII_MEDIA_TYPE },
    });
    expect(await response.json()).toMatchObject({
      more: false,
      objects: [{ type: 'identity' }],
    });
    const future = await fetch(`${objectsUrl()}?added_after=2999-01-01T00:00:00Z`, {
      headers: { accept: TAXII_MEDIA_TYPE },
    });
    expect(await future.json()).toEqual({ more: false });
  });
});
