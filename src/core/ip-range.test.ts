import { describe, expect, it } from 'vitest';
import { cidrContains, isIpAddress, parseCidr, parseIp, sourceRangeOf } from './ip-range.js';

function range(cidr: string): NonNullable<ReturnType<typeof parseCidr>> {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`test setup: ${cidr} does not parse`);
  return parsed;
}

describe('parseIp', () => {
  it.each([
    ['0.0.0.0', 0n],
    ['192.0.2.1', 0xc0000201n],
    ['255.255.255.255', 0xffffffffn],
    ['10.1.2.3', 0x0a010203n],
  ])('reads IPv4 %s', (ip, value) => {
    expect(parseIp(ip)).toEqual({ version: 4, value });
  });

  it.each([
    ['::', 0n],
    ['::1', 1n],
    ['1::', 1n << 112n],
    ['2001:db8::1', (0x20010db8n << 96n) + 1n],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', (0x20010db8n << 96n) + 1n],
    ['2001:DB8::1', (0x20010db8n << 96n) + 1n],
    ['2001:db8:1:2:3:4:5:6', 0x20010db8000100020003000400050006n],
    ['fe80::1:0:0:2', (0xfe80n << 112n) + (1n << 48n) + 2n],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', (1n << 128n) - 1n],
  ])('reads IPv6 %s', (ip, value) => {
    expect(parseIp(ip)).toEqual({ version: 6, value });
  });

  it('reads an IPv4-mapped IPv6 address with its dotted tail', () => {
    expect(parseIp('::ffff:192.0.2.1')).toBeDefined();
    expect(parseIp('::ffff:192.0.2.1')).toEqual(parseIp('::ffff:c000:201'));
    expect(parseIp('::ffff:192.0.2.1')).not.toEqual(parseIp('::ffff:c000:202'));
  });

  it.each([
    '',
    'localhost',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '2001:db8::1::2',
    '12345::',
    ' 1.2.3.4',
  ])('rejects %j', (ip) => {
    expect(parseIp(ip)).toBeUndefined();
    expect(isIpAddress(ip)).toBe(false);
  });

  it('recognises addresses', () => {
    expect(isIpAddress('10.0.0.1')).toBe(true);
    expect(isIpAddress('2001:db8::1')).toBe(true);
  });
});

describe('parseCidr', () => {
  it('reads an IPv4 range and masks host bits off the network', () => {
    expect(parseCidr('10.1.2.3/8')).toMatchObject({
      cidr: '10.1.2.3/8',
      version: 4,
      network: 0x0a000000n,
      prefix: 8,
    });
    expect(parseCidr('203.0.113.0/24')?.network).toBe(0xcb007100n);
  });

  it('reads an IPv6 range', () => {
    expect(parseCidr('2001:db8:abcd::/48')).toMatchObject({
      cidr: '2001:db8:abcd::/48',
      version: 6,
      network: 0x20010db8abcdn << 80n,
      prefix: 48,
    });
  });

  it('takes a bare address as a single-host range', () => {
    expect(parseCidr('192.0.2.7')).toMatchObject({ version: 4, prefix: 32, network: 0xc0000207n });
    expect(parseCidr('2001:db8::7')).toMatchObject({ version: 6, prefix: 128 });
  });

  it('accepts /0', () => {
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ prefix: 0, network: 0n });
    expect(parseCidr('::/0')).toMatchObject({ prefix: 0, network: 0n });
  });

  it.each([
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/-1',
    '10.0.0.0/1.5',
    '10.0.0.0/x',
    'x/8',
    '/8',
  ])('rejects %j', (cidr) => {
    expect(parseCidr(cidr)).toBeUndefined();
  });

  // Bug: Number('') is 0, so an empty prefix parses as /0 — a range holding every address.
  it('rejects an empty prefix instead of reading it as /0', () => {
    expect(parseCidr('10.0.0.0/')).toBeUndefined();
  });
});

describe('cidrContains', () => {
  it('checks IPv4 membership up to the range edges', () => {
    const r = range('10.0.0.0/8');
    expect(cidrContains(r, '10.0.0.0')).toBe(true);
    expect(cidrContains(r, '10.255.255.255')).toBe(true);
    expect(cidrContains(r, '11.0.0.0')).toBe(false);
    expect(cidrContains(r, '9.255.255.255')).toBe(false);
    expect(cidrContains(range('192.0.2.7/32'), '192.0.2.7')).toBe(true);
    expect(cidrContains(range('192.0.2.7/32'), '192.0.2.8')).toBe(false);
    expect(cidrContains(range('198.51.100.128/25'), '198.51.100.127')).toBe(false);
    expect(cidrContains(range('198.51.100.128/25'), '198.51.100.200')).toBe(true);
  });

  it('checks IPv6 membership', () => {
    const r = range('2001:db8::/32');
    expect(cidrContains(r, '2001:db8:ffff:ffff::1')).toBe(true);
    expect(cidrContains(r, '2001:0db8::')).toBe(true);
    expect(cidrContains(r, '2001:db9::')).toBe(false);
    expect(cidrContains(range('::/0'), 'fe80::1')).toBe(true);
  });

  it('never matches across versions or on a non-address', () => {
    expect(cidrContains(range('0.0.0.0/0'), '2001:db8::1')).toBe(false);
    expect(cidrContains(range('::/0'), '10.0.0.1')).toBe(false);
    expect(cidrContains(range('0.0.0.0/0'), 'not-an-ip')).toBe(false);
    expect(cidrContains(range('0.0.0.0/0'), '1.2.3.4')).toBe(true);
  });

  // Bug: an IPv4-mapped address (what a dual-stack listener reports for IPv4
  // clients) is compared as IPv6 and never matches an IPv4 allow-list entry.
  it('matches an IPv4-mapped IPv6 address against an IPv4 range', () => {
    expect(cidrContains(range('10.0.0.0/8'), '::ffff:10.1.2.3')).toBe(true);
  });
});

describe('sourceRangeOf', () => {
  it('groups an IPv4 address into its /24', () => {
    expect(sourceRangeOf('203.0.113.7')).toBe('203.0.113.0/24');
    expect(sourceRangeOf('203.0.113.255')).toBe('203.0.113.0/24');
    expect(sourceRangeOf('203.0.114.1')).toBe('203.0.114.0/24');
    expect(sourceRangeOf('0.0.0.1')).toBe('0.0.0.0/24');
  });

  it('groups an IPv6 address into its /64', () => {
    const a = sourceRangeOf('2001:db8:1:2:aaaa::1');
    expect(a).toBe(sourceRangeOf('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(a).toBe(sourceRangeOf('2001:0DB8:0001:0002::9'));
    expect(a).not.toBe(sourceRangeOf('2001:db8:1:3::1'));
    expect(a).not.toBe(sourceRangeOf('2001:db9:1:2::1'));
    expect(a).toMatch(/\/64$/);
    // The range names a real /64 that holds the address.
    const parsed = range(a ?? '');
    expect(parsed.prefix).toBe(64);
    expect(cidrContains(parsed, '2001:db8:1:2:aaaa::1')).toBe(true);
    expect(cidrContains(parsed, '2001:db8:1:3::1')).toBe(false);
  });

  it('answers undefined for a non-address', () => {
    expect(sourceRangeOf('example.com')).toBeUndefined();
    expect(sourceRangeOf('')).toBeUndefined();
  });

  // Bug: every IPv4-mapped address lands in the same "/64" (0:0:0:0::/64), so
  // alerts from unrelated IPv4 clients behind a dual-stack listener all correlate.
  it('groups an IPv4-mapped IPv6 address into the /24 of its IPv4 address', () => {
    expect(sourceRangeOf('::ffff:203.0.113.7')).toBe('203.0.113.0/24');
    expect(sourceRangeOf('::ffff:203.0.113.7')).not.toBe(sourceRangeOf('::ffff:198.18.0.1'));
  });
});
