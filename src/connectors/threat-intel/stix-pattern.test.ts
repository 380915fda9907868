import { describe, expect, it } from 'vitest';
import {
  MAX_PATTERN_LENGTH,
  matchStixPattern,
  normalizeDomain,
  normalizeUrl,
  parseStixPattern,
  prepareObservables,
  type Observables,
  type ParsedPattern,
} from './stix-pattern.js';

const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

function parsed(pattern: string): ParsedPattern {
  const result = parseStixPattern(pattern);
  if (!result.ok) throw new Error(`${pattern}: ${result.kind}: ${result.reason}`);
  return result.pattern;
}

/** The matched observables of `pattern` against `observables`. */
function match(pattern: string, observables: Observables): string[] {
  return matchStixPattern(parsed(pattern), prepareObservables(observables));
}

describe('parseStixPattern: supported patterns', () => {
  it.each([
    "[ipv4-addr:value = '203.0.113.7']",
    "[ipv4-addr:value = '203.0.113.0/24']",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    "[ipv6-addr:value = '2001:db8::1']",
    "[ipv6-addr:value ISSUBSET '2001:db8::/32']",
    "[ipv4-addr:value IN ('203.0.113.7', '203.0.113.8')]",
    "[domain-name:value = 'evil.example']",
    "[url:value = 'http://evil.example/payload']",
    "[email-addr:value = 'attacker@evil.example']",
    `[file:hashes.'SHA-256' = '${SHA256}']`,
    `[file:hashes.MD5 = '${MD5}']`,
    `[file:hashes.'SHA-1' = '${SHA1}']`,
    `[file:hashes.'SHA-256' IN ('${SHA256}', '${'a'.repeat(64)}')]`,
    "[ipv4-addr:value = '203.0.113.7' OR domain-name:value = 'evil.example']",
    "[ipv4-addr:value = '203.0.113.7' AND domain-name:value = 'evil.example']",
    "[(ipv4-addr:value = '203.0.113.7' OR ipv4-addr:value = '203.0.113.8') AND domain-name:value = 'evil.example']",
    "[ipv4-addr:value = '203.0.113.7'] OR [domain-name:value = 'evil.example']",
    "([ipv4-addr:value = '203.0.113.7'] OR [domain-name:value = 'evil.example']) OR [url:value = 'http://x.example/']",
    "[ipv4-addr:value='203.0.113.7']",
    "  [ ipv4-addr:value  =  '203.0.113.7' ]  ",
    "[ipv4-addr:value = '203.0.113.7' or domain-name:value = 'evil.example']",
  ])('parses %s', (pattern) => {
    expect(parseStixPattern(pattern).ok).toBe(true);
  });

  it('keeps each observation of an OR between observations', () => {
    const pattern = parsed(
      "[ipv4-addr:value = '203.0.113.7'] OR ([domain-name:value = 'a.example'] OR [url:value = 'http://b.example/'])",
    );
    expect(pattern.observations).toHaveLength(3);
  });

  it('gives AND a tighter binding than OR inside an observation', () => {
    const pattern = parsed(
      "[domain-name:value = 'a.example' OR ipv4-addr:value = '203.0.113.7' AND url:value = 'http://u.example/']",
    );
    const [root] = pattern.observations;
    expect(root?.kind).toBe('or');
    if (root?.kind === 'or')
      expect(root.children.map((child) => child.kind)).toEqual(['test', 'and']);
  });

  it('reads escaped quotes and backslashes in string literals', () => {
    expect(
      match("[url:value = 'http://x.example/it\\'s\\\\here']", {
        urls: ["http://x.example/it's\\here"],
      }),
    ).toHaveLength(1);
  });
});

describe('parseStixPattern: unsupported patterns', () => {
  it.each([
    ["[ipv4-addr:value = '203.0.113.7'] WITHIN 300 SECONDS", 'WITHIN'],
    [
      "[ipv4-addr:value = '203.0.113.7'] START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z'",
      'START',
    ],
    ["[ipv4-addr:value = '203.0.113.7'] REPEATS 5 TIMES", 'REPEATS'],
    [
      "[ipv4-addr:value = '203.0.113.7'] FOLLOWEDBY [domain-name:value = 'evil.example']",
      'FOLLOWEDBY',
    ],
    [
      "([ipv4-addr:value = '203.0.113.7'] FOLLOWEDBY [domain-name:value = 'x.example'])",
      'FOLLOWEDBY',
    ],
    [
      "[ipv4-addr:value = '203.0.113.7'] AND [domain-name:value = 'evil.example']",
      'AND between observations',
    ],
    ["[domain-name:value MATCHES '^evil']", 'MATCHES'],
    ["[domain-name:value LIKE '%.evil.example']", 'LIKE'],
    ["[ipv4-addr:value ISSUPERSET '203.0.113.7']", 'ISSUPERSET'],
    ["[ipv4-addr:value != '203.0.113.7']", '!='],
    ['[file:size > 1000]', '>'],
    ["[ipv4-addr:value NOT = '203.0.113.7']", 'NOT'],
    ['[EXISTS windows-registry-key:key]', 'EXISTS'],
    ["[file:name = 'evil.exe']", 'file:name'],
    ["[network-traffic:dst_ref.value = '203.0.113.7']", 'network-traffic:dst_ref.value'],
    ["[x-custom:value = 'a']", 'x-custom:value'],
    ["[file:hashes.'SSDEEP' = '3:a:b']", "file:hashes.'SSDEEP'"],
    ["[domain-name:value ISSUBSET 'evil.example']", 'ISSUBSET on domain-name:value'],
    ["[ipv4-addr:value = '203.0.113.7' OR file:name = 'evil.exe']", 'file:name'],
  ])('%s is unsupported (%s)', (pattern, reason) => {
    const result = parseStixPattern(pattern);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.kind).toBe('unsupported');
      expect(result.reason).toContain(reason);
    }
  });
});

describe('parseStixPattern: invalid patterns', () => {
  it.each([
    '',
    '   ',
    "ipv4-addr:value = '203.0.113.7'",
    "[ipv4-addr:value = '203.0.113.7'",
    "[ipv4-addr:value = '203.0.113.7']]",
    "[ipv4-addr:value = '203.0.113.7]",
    '[ipv4-addr:value = 203]',
    "[ipv4-addr:value = 'not an address']",
    "[ipv4-addr:value = '2001:db8::1']",
    "[ipv6-addr:value = '203.0.113.7']",
    "[ipv4-addr:value ISSUBSET '203.0.113.0/33']",
    "[ipv4-addr:value = '203.0.113.7' AND]",
    "[ipv4-addr:value '203.0.113.7']",
    "[ipv4-addr: = '203.0.113.7']",
    "[file:hashes.'SHA-256' = 'abc']",
    `[file:hashes.MD5 = '${SHA256}']`,
    "[url:value = 'a\\b']",
    "[ipv4-addr:value IN ('203.0.113.7',)]",
    '[]',
    "[ipv4-addr:value = '203.0.113.7'] OR",
    "[ipv4-addr:value = '203.0.113.7'] bogus",
    "[ipv4-addr:value = '203.0.113.7'] ; DROP TABLE",
    "[ipv4-addr:value ! '203.0.113.7']",
  ])('%j is invalid', (pattern) => {
    const result = parseStixPattern(pattern);
    expect(result).toMatchObject({ ok: false, kind: 'invalid' });
  });

  it('refuses overlong and deeply nested patterns without a crash', () => {
    expect(parseStixPattern('['.repeat(MAX_PATTERN_LENGTH + 1))).toMatchObject({
      ok: false,
      kind: 'invalid',
    });
    const deep = `[${'('.repeat(200)}ipv4-addr:value = '203.0.113.7'${')'.repeat(200)}]`;
    expect(parseStixPattern(deep)).toMatchObject({ ok: false, kind: 'invalid' });
    const deepObservations = `${'('.repeat(200)}[ipv4-addr:value = '203.0.113.7']${')'.repeat(200)}`;
    expect(parseStixPattern(deepObservations)).toMatchObject({ ok: false, kind: 'invalid' });
  });

  it('never throws on arbitrary text', () => {
    const samples = [
      "'",
      '[',
      '(',
      ')',
      't',
      "t'",
      'AND',
      '!=',
      '1e',
      'ipv4-addr:',
      "[a:b = '",
      '\\',
    ];
    for (const a of samples) {
      for (const b of samples) {
        expect(() => parseStixPattern(`${a}${b}`)).not.toThrow();
        expect(() => parseStixPattern(`[${a} ${b}]`)).not.toThrow();
      }
    }
  });
});

describe('matchStixPattern: IP addresses', () => {
  it('matches an address by equality, in any notation', () => {
    expect(match("[ipv4-addr:value = '203.0.113.7']", { ips: ['203.0.113.7'] })).toEqual([
      '203.0.113.7',
    ]);
    expect(match("[ipv4-addr:value = '203.0.113.7']", { ips: ['203.0.113.8'] })).toEqual([]);
    expect(match("[ipv4-addr:value = '203.0.113.7/32']", { ips: ['203.0.113.7'] })).toEqual([
      '203.0.113.7',
    ]);
    expect(match("[ipv6-addr:value = '2001:db8::1']", { ips: ['2001:DB8:0:0::0001'] })).toEqual([
      '2001:DB8:0:0::0001',
    ]);
    // An IPv4-mapped IPv6 address is the IPv4 address.
    expect(match("[ipv4-addr:value = '203.0.113.7']", { ips: ['::ffff:203.0.113.7'] })).toEqual([
      '::ffff:203.0.113.7',
    ]);
  });

  it('treats = with a CIDR as that exact range, and ISSUBSET as inside it', () => {
    expect(match("[ipv4-addr:value = '203.0.113.0/24']", { ips: ['203.0.113.7'] })).toEqual([]);
    expect(match("[ipv4-addr:value = '203.0.113.0/24']", { ips: ['203.0.113.0/24'] })).toEqual([
      '203.0.113.0/24',
    ]);
    const subset = "[ipv4-addr:value ISSUBSET '203.0.113.0/24']";
    expect(match(subset, { ips: ['203.0.113.7', '203.0.114.1', '198.51.100.1'] })).toEqual([
      '203.0.113.7',
    ]);
    expect(match(subset, { ips: ['203.0.113.128/25'] })).toEqual(['203.0.113.128/25']);
    expect(match(subset, { ips: ['203.0.112.0/23'] })).toEqual([]);
    expect(match(subset, { ips: ['203.0.113.0/24'] })).toEqual(['203.0.113.0/24']);
    expect(match("[ipv6-addr:value ISSUBSET '2001:db8::/32']", { ips: ['2001:db8:1::5'] })).toEqual(
      ['2001:db8:1::5'],
    );
    expect(match("[ipv4-addr:value ISSUBSET '0.0.0.0/0']", { ips: ['2001:db8::1'] })).toEqual([]);
  });

  it('matches IN against each listed address', () => {
    const pattern = "[ipv4-addr:value IN ('203.0.113.7', '198.51.100.9')]";
    expect(match(pattern, { ips: ['198.51.100.9', '192.0.2.1'] })).toEqual(['198.51.100.9']);
  });

  it('skips observables that are not addresses', () => {
    expect(
      match("[ipv4-addr:value = '203.0.113.7']", { ips: ['not-an-ip', '203.0.113.7'] }),
    ).toEqual(['203.0.113.7']);
  });
});

describe('matchStixPattern: other observables', () => {
  it('matches domains case-insensitively, ignoring a trailing dot, IDNs by their ASCII form', () => {
    const pattern = "[domain-name:value = 'Evil.Example']";
    expect(match(pattern, { domains: ['evil.example.'] })).toEqual(['evil.example.']);
    expect(match(pattern, { domains: ['sub.evil.example'] })).toEqual([]);
    expect(
      match("[domain-name:value = 'xn--bcher-kva.example']", { domains: ['bücher.example'] }),
    ).toEqual(['bücher.example']);
  });

  it('matches URLs after normalising scheme, host and default port', () => {
    const pattern = "[url:value = 'http://evil.example/payload?x=1']";
    expect(match(pattern, { urls: ['HTTP://EVIL.example:80/payload?x=1'] })).toHaveLength(1);
    expect(match(pattern, { urls: ['http://evil.example/PAYLOAD?x=1'] })).toEqual([]);
    expect(
      match("[url:value = 'http://evil.example']", { urls: ['http://evil.example/'] }),
    ).toHaveLength(1);
  });

  it('matches e-mail addresses case-insensitively', () => {
    expect(
      match("[email-addr:value = 'Attacker@Evil.example']", { emails: ['attacker@evil.example'] }),
    ).toEqual(['attacker@evil.example']);
  });

  it('matches file hashes of each algorithm, case-insensitively', () => {
    expect(
      match(`[file:hashes.'SHA-256' = '${SHA256.toUpperCase()}']`, { hashes: [SHA256] }),
    ).toEqual([SHA256]);
    expect(match(`[file:hashes.MD5 = '${MD5}']`, { hashes: [MD5.toUpperCase()] })).toEqual([
      MD5.toUpperCase(),
    ]);
    expect(match(`[file:hashes.'SHA-1' = '${SHA1}']`, { hashes: [SHA1] })).toEqual([SHA1]);
    expect(match(`[file:hashes.SHA256 = '${SHA256}']`, { hashes: [SHA256] })).toEqual([SHA256]);
    expect(
      match(`[file:hashes.'SHA-256' IN ('${'0'.repeat(64)}', '${SHA256}')]`, {
        hashes: [MD5, SHA256],
      }),
    ).toEqual([SHA256]);
  });

  it('does not compare one kind of observable with another', () => {
    expect(match("[domain-name:value = 'evil.example']", { urls: ['evil.example'] })).toEqual([]);
    expect(match("[email-addr:value = 'a@evil.example']", { domains: ['a@evil.example'] })).toEqual(
      [],
    );
  });
});

describe('matchStixPattern: AND and OR', () => {
  it('matches an OR when either side does, reporting what matched', () => {
    const pattern = "[ipv4-addr:value = '203.0.113.7' OR domain-name:value = 'evil.example']";
    expect(match(pattern, { domains: ['evil.example'] })).toEqual(['evil.example']);
    expect(match(pattern, { ips: ['203.0.113.7'], domains: ['evil.example'] })).toEqual([
      '203.0.113.7',
      'evil.example',
    ]);
    expect(match(pattern, { ips: ['192.0.2.1'] })).toEqual([]);
  });

  it('needs both sides of an AND across object types, each from its own list', () => {
    const pattern = "[ipv4-addr:value = '203.0.113.7' AND domain-name:value = 'evil.example']";
    expect(match(pattern, { ips: ['203.0.113.7'] })).toEqual([]);
    expect(match(pattern, { ips: ['203.0.113.7'], domains: ['evil.example'] })).toEqual([
      '203.0.113.7',
      'evil.example',
    ]);
  });

  it('needs one value to satisfy every side of an AND on the same object type', () => {
    const pattern =
      "[ipv4-addr:value ISSUBSET '203.0.113.0/24' AND ipv4-addr:value ISSUBSET '203.0.113.128/25']";
    expect(match(pattern, { ips: ['203.0.113.200'] })).toEqual(['203.0.113.200']);
    // Each side holds for a different address: no single address is in both.
    expect(match(pattern, { ips: ['203.0.113.1', '198.51.100.200'] })).toEqual([]);
    const disjoint = "[ipv4-addr:value = '203.0.113.1' AND ipv4-addr:value = '203.0.113.2']";
    expect(match(disjoint, { ips: ['203.0.113.1', '203.0.113.2'] })).toEqual([]);
  });

  it('evaluates nested groups inside a same-type AND for the one value', () => {
    const pattern =
      "[(ipv4-addr:value = '203.0.113.7' OR ipv4-addr:value = '198.51.100.7') AND ipv4-addr:value ISSUBSET '198.51.100.0/24']";
    expect(match(pattern, { ips: ['203.0.113.7', '198.51.100.7'] })).toEqual(['198.51.100.7']);
    expect(match(pattern, { ips: ['203.0.113.7'] })).toEqual([]);
  });

  it('satisfies hash comparisons joined by AND from the flat list of hashes', () => {
    const pattern = `[file:hashes.MD5 = '${MD5}' AND file:hashes.'SHA-256' = '${SHA256}']`;
    expect(match(pattern, { hashes: [MD5, SHA256] })).toEqual([MD5, SHA256]);
    expect(match(pattern, { hashes: [MD5] })).toEqual([]);
  });

  it('matches an OR between observations when any observation does', () => {
    const pattern =
      "[ipv4-addr:value = '203.0.113.7'] OR [domain-name:value = 'evil.example' AND url:value = 'http://evil.example/x']";
    expect(match(pattern, { domains: ['evil.example'] })).toEqual([]);
    expect(match(pattern, { domains: ['evil.example'], urls: ['http://evil.example/x'] })).toEqual([
      'evil.example',
      'http://evil.example/x',
    ]);
    expect(match(pattern, { ips: ['203.0.113.7'] })).toEqual(['203.0.113.7']);
  });

  it('reports each matched observable once, and nothing for no observables', () => {
    const pattern =
      "[ipv4-addr:value ISSUBSET '203.0.113.0/24'] OR [ipv4-addr:value = '203.0.113.7']";
    expect(match(pattern, { ips: ['203.0.113.7', '203.0.113.7'] })).toEqual(['203.0.113.7']);
    expect(match(pattern, {})).toEqual([]);
  });
});

describe('normalisers', () => {
  it('normalise domains and URLs, keeping what does not parse', () => {
    expect(normalizeDomain(' Evil.Example. ')).toBe('evil.example');
    expect(normalizeUrl('not a url')).toBe('not a url');
    expect(normalizeUrl('HTTPS://Evil.Example:443/a')).toBe('https://evil.example/a');
  });
});
