import { describe, expect, it } from 'vitest';
import {
  collectIndicators,
  isActive,
  matchIndicators,
  readFeedPage,
  type FeedIndicator,
} from './stix-indicators.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');

function indicator(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
    created: '2026-11-01T00:00:00.000Z',
    modified: '2026-11-01T00:00:00.000Z',
    pattern_type: 'stix',
    pattern: "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
    valid_from: '2026-11-01T00:00:00Z',
    ...fields,
  };
}

function only(objects: unknown[]): FeedIndicator {
  const [first] = collectIndicators(objects);
  if (first === undefined) throw new Error('no indicator');
  return first;
}

describe('readFeedPage', () => {
  it('reads a bundle, a TAXII envelope and an empty envelope', () => {
    expect(readFeedPage({ type: 'bundle', id: 'bundle--1', objects: [1, 2] })).toEqual({
      objects: [1, 2],
      more: false,
      next: undefined,
    });
    expect(readFeedPage({ more: true, next: 'p2', objects: [1] })).toEqual({
      objects: [1],
      more: true,
      next: 'p2',
    });
    expect(readFeedPage({})).toEqual({ objects: [], more: false, next: undefined });
    expect(readFeedPage({ more: false })).toEqual({ objects: [], more: false, next: undefined });
  });

  it('refuses anything else', () => {
    expect(readFeedPage([])).toBeUndefined();
    expect(readFeedPage('bundle')).toBeUndefined();
    expect(readFeedPage({ objects: 'x' })).toBeUndefined();
    expect(readFeedPage({ type: 'indicator', objects: [] })).toBeUndefined();
    expect(readFeedPage({ headers: {}, url: '/x' })).toBeUndefined();
    expect(readFeedPage({ more: 'yes', objects: [] })).toBeUndefined();
  });
});

describe('collectIndicators', () => {
  it('keeps indicators only, reading their fields', () => {
    const read = only([
      { type: 'identity', id: 'identity--1', name: 'ACME CERT' },
      { type: 'malware', id: 'malware--1', name: 'x' },
      indicator({
        name: 'Scraper range',
        indicator_types: ['malicious-activity', 7],
        confidence: 80,
        labels: ['model-extraction'],
        valid_until: '2027-01-01T00:00:00Z',
        kill_chain_phases: [
          { kill_chain_name: 'mitre-atlas', phase_name: 'exfiltration' },
          { kill_chain_name: 'broken' },
        ],
        external_references: [
          { source_name: 'mitre-atlas', external_id: 'AML.T0024' },
          { source_name: 'mitre-atlas', external_id: 'AML.T0024' },
          { source_name: 'capec', external_id: 'CAPEC-1' },
        ],
      }),
    ]);
    expect(read).toMatchObject({
      name: 'Scraper range',
      indicatorTypes: ['malicious-activity'],
      confidence: 80,
      labels: ['model-extraction'],
      validUntilText: '2027-01-01T00:00:00Z',
      killChainPhases: [{ kill_chain_name: 'mitre-atlas', phase_name: 'exfiltration' }],
      atlasTechniques: ['AML.T0024'],
      revoked: false,
    });
    expect(read.parse.ok).toBe(true);
  });

  it('keeps the latest version of each indicator', () => {
    const versions = collectIndicators([
      indicator({ modified: '2026-11-02T00:00:00Z', name: 'second' }),
      indicator({ modified: '2026-11-03T00:00:00Z', name: 'third', revoked: true }),
      indicator({ modified: '2026-11-01T00:00:00Z', name: 'first' }),
    ]);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ name: 'third', revoked: true });
  });

  it('leaves out indicators without an id or a pattern, and marks other pattern languages unsupported', () => {
    const read = collectIndicators([
      { type: 'indicator', pattern: "[ipv4-addr:value = '203.0.113.7']" },
      { type: 'indicator', id: 'indicator--2' },
      indicator({ id: 'indicator--sigma', pattern_type: 'sigma', pattern: 'title: x' }),
    ]);
    expect(read).toHaveLength(1);
    expect(read[0]?.parse).toMatchObject({ ok: false, kind: 'unsupported' });
  });
});

describe('isActive', () => {
  it('ignores revoked, expired and not yet valid indicators', () => {
    expect(isActive(only([indicator({})]), NOW)).toBe(true);
    expect(isActive(only([indicator({ revoked: true })]), NOW)).toBe(false);
    expect(isActive(only([indicator({ valid_until: '2026-11-26T11:59:59Z' })]), NOW)).toBe(false);
    expect(isActive(only([indicator({ valid_until: '2026-11-26T12:00:01Z' })]), NOW)).toBe(true);
    expect(isActive(only([indicator({ valid_from: '2026-11-27T00:00:00Z' })]), NOW)).toBe(false);
  });
});

describe('matchIndicators', () => {
  const feed = collectIndicators([
    indicator({
      id: 'indicator--range',
      name: 'Hostile range',
      confidence: 90,
      kill_chain_phases: [{ kill_chain_name: 'mitre-atlas', phase_name: 'reconnaissance' }],
    }),
    indicator({
      id: 'indicator--domain',
      name: null,
      pattern: "[domain-name:value = 'exfil.example'] OR [ipv4-addr:value = '203.0.113.7']",
    }),
    indicator({ id: 'indicator--expired', valid_until: '2026-01-01T00:00:00Z' }),
    indicator({ id: 'indicator--odd', pattern: "[file:name = 'x'] FOLLOWEDBY [file:name = 'y']" }),
    indicator({ id: 'indicator--broken', pattern: '[ipv4-addr:value =' }),
  ]);

  it('reports one match per indicator and observable, with the indicator fields', () => {
    const summary = matchIndicators(
      feed,
      { ips: ['203.0.113.7', '203.0.113.9', '192.0.2.1'], domains: ['exfil.example'] },
      NOW,
    );
    expect(summary.active).toBe(4);
    expect(summary.unsupported).toBe(2);
    expect(summary.matches.map((match) => [match.indicator_id, match.matched_value])).toEqual([
      ['indicator--range', '203.0.113.7'],
      ['indicator--range', '203.0.113.9'],
      // In the order of the pattern's observations.
      ['indicator--domain', 'exfil.example'],
      ['indicator--domain', '203.0.113.7'],
    ]);
    expect(summary.matches[0]).toEqual({
      indicator_id: 'indicator--range',
      name: 'Hostile range',
      pattern: "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
      matched_value: '203.0.113.7',
      indicator_types: [],
      confidence: 90,
      labels: [],
      valid_until: null,
      kill_chain_phases: [{ kill_chain_name: 'mitre-atlas', phase_name: 'reconnaissance' }],
      atlas_techniques: [],
    });
  });

  it('matches nothing for no observables', () => {
    expect(matchIndicators(feed, {}, NOW).matches).toEqual([]);
  });
});
