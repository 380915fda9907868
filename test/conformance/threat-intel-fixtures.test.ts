import { describe, expect, it } from 'vitest';
import type { Connector, ConnectorCall, JsonValue } from '../../src/connectors/connector.js';
import { guardConnector } from '../../src/connectors/guarded-connector.js';
import { createAbuseIpdbConnector } from '../../src/connectors/threat-intel/abuseipdb-connector.js';
import { createStixFeedConnector } from '../../src/connectors/threat-intel/stix-feed-connector.js';
import { createVirusTotalConnector } from '../../src/connectors/threat-intel/virustotal-connector.js';
import { connectorCall, fakeHttpServiceForSuite } from '../support/connector-test-kit.js';
import { sharedFixtures } from '../support/shared-fixtures.js';

/**
 * Runs the threat-intelligence connectors against the shared vendor
 * payloads when a checkout sits next to ../shared; a user's clone has no
 * such folder, so the suite skips. The payloads are read in place, never
 * copied.
 */
const fixtures = sharedFixtures('threat-intel conformance suite');

function call(action: string, input: JsonValue): ConnectorCall {
  return connectorCall(action, input, `conformance/${action}`);
}

/** The stix_feed connector on fixture `name`, as a file feed, at time `now`. */
function fileFeed(name: string, now?: () => number): Connector {
  return guardConnector(
    createStixFeedConnector({
      name: 'feed',
      source: { kind: 'file', path: fixtures.file(name) },
      now,
    }),
  );
}

describe.skipIf(!fixtures.present)('threat-intel connectors on the shared fixtures', () => {
  const fake = fakeHttpServiceForSuite({ resetBeforeEach: false });

  it('normalises virustotal_ip_report.json', async () => {
    fake.enqueue({ body: fixtures.json('virustotal_ip_report.json') });
    const vt = guardConnector(
      createVirusTotalConnector({
        name: 'virustotal',
        baseUrl: fake.url,
        apiKey: { value: 'conformance-key', recorded: '${secret:VT_API_KEY}' },
      }),
    );
    const result = await vt.invoke(call('lookup_ip', { ip: '203.0.113.45' }));
    expect(result.output).toEqual({
      found: true,
      cached: false,
      ip: '203.0.113.45',
      verdict: 'malicious',
      malicious: 6,
      suspicious: 1,
      harmless: 55,
      undetected: 32,
      reputation: -12,
      last_analysis_date: new Date(1778580000 * 1000).toISOString(),
      tags: [],
      link: 'https://www.virustotal.com/gui/ip-address/203.0.113.45',
      as_owner: 'EXAMPLE-HOSTING',
      asn: 64501,
      country: 'US',
      continent: 'NA',
      network: '203.0.113.0/24',
    });
  });

  it('normalises abuseipdb_check_response.json', async () => {
    fake.enqueue({ body: fixtures.json('abuseipdb_check_response.json') });
    const abuse = guardConnector(
      createAbuseIpdbConnector({
        name: 'abuseipdb',
        baseUrl: fake.url,
        apiKey: { value: 'conformance-key', recorded: '${secret:ABUSEIPDB_API_KEY}' },
      }),
    );
    const result = await abuse.invoke(call('check_ip', { ip: '203.0.113.45' }));
    expect(result.output).toEqual({
      ip: '203.0.113.45',
      cached: false,
      malicious: true,
      abuse_confidence_score: 87,
      total_reports: 112,
      distinct_users: 41,
      is_whitelisted: false,
      is_tor: false,
      country_code: 'US',
      isp: 'Example Hosting',
      usage_type: 'Data Center/Web Hosting/Transit',
      domain: 'example-hosting.net',
      last_reported_at: '2026-05-12T10:58:31.000Z',
      max_age_days: 90,
      link: 'https://www.abuseipdb.com/check/203.0.113.45',
    });
  });

  it('matches stix_indicator_ai_ioc.json while it is valid, with its ATLAS context', async () => {
    // Inside the indicator's validity (2026-05-12 to 2026-06-12).
    const feed = fileFeed('stix_indicator_ai_ioc.json', () => Date.parse('2026-05-20T00:00:00Z'));
    const result = await feed.invoke(
      call('match_observables', { ips: ['203.0.113.45', '203.0.113.46'] }),
    );
    expect(result.output).toMatchObject({
      matched: true,
      indicators_loaded: 1,
      unsupported_patterns: 0,
      stale: false,
      matches: [
        {
          indicator_id: 'indicator--a932fcc6-e032-476c-826f-cb970a5a1ade',
          name: 'Source of repeated prompt-injection attempts',
          matched_value: '203.0.113.45',
          indicator_types: ['malicious-activity'],
          confidence: 70,
          labels: ['prompt-injection'],
          valid_until: '2026-06-12T11:30:00Z',
          kill_chain_phases: [{ kill_chain_name: 'mitre-atlas', phase_name: 'execution' }],
          atlas_techniques: ['AML.T0051'],
        },
      ],
    });
  });

  it('ignores stix_indicator_ai_ioc.json once it has expired', async () => {
    const feed = fileFeed('stix_indicator_ai_ioc.json', () => Date.parse('2026-07-01T00:00:00Z'));
    const result = await feed.invoke(call('match_observables', { ips: ['203.0.113.45'] }));
    expect(result.output).toMatchObject({ matched: false, indicators_loaded: 0 });
  });

  it('matches the OASIS example bundle stix_indicator_bundle_verbatim.json', async () => {
    const feed = fileFeed('stix_indicator_bundle_verbatim.json');
    const result = await feed.invoke(call('match_observables', { ips: ['10.0.0.0', '10.0.0.1'] }));
    expect(result.output).toMatchObject({
      matched: true,
      indicators_loaded: 1,
      matches: [
        {
          indicator_id: 'indicator--33fe3b22-0201-47cf-85d0-97c02164528d',
          name: 'IP Address for known C2 channel',
          matched_value: '10.0.0.0',
        },
      ],
    });
    expect((result.output as { matches: unknown[] }).matches).toHaveLength(1);
  });
});
