import { isIP } from 'node:net';

/**
 * IPv4/IPv6 addresses and CIDR ranges as bigints, so that allow-list checks
 * and "same source range" correlation need no dependency.
 */
export interface CidrRange {
  readonly cidr: string;
  readonly version: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
  readonly mask: bigint;
}

function ipv4ToBigInt(ip: string): bigint {
  const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
  return BigInt(((a * 256 + b) * 256 + c) * 256 + d);
}

function ipv6ToBigInt(ip: string): bigint {
  let address = ip;
  // IPv4-mapped tail, e.g. ::ffff:192.0.2.1
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4Tail?.[1]) {
    const v4 = ipv4ToBigInt(v4Tail[1]);
    address =
      address.slice(0, -v4Tail[1].length) +
      `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [
    ...headParts,
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...tailParts,
  ];
  return parts.reduce((acc, part) => (acc << 16n) + BigInt(parseInt(part || '0', 16)), 0n);
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d, as dual-stack listeners report IPv4 clients) is read as IPv4. */
export function parseIp(ip: string): { version: 4 | 6; value: bigint } | undefined {
  const version = isIP(ip);
  if (version === 4) return { version, value: ipv4ToBigInt(ip) };
  if (version === 6) {
    const value = ipv6ToBigInt(ip);
    if (value >> 32n === 0xffffn) return { version: 4, value: value & 0xffffffffn };
    return { version, value };
  }
  return undefined;
}

/** Text form of an address: dotted quad, or RFC 5952 compressed IPv6. */
export function formatIp(version: 4 | 6, value: bigint): string {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) =>
    Number((value >> BigInt(112 - i * 16)) & 0xffffn),
  );
  // The longest run of two or more zero groups becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

export function parseCidr(cidr: string): CidrRange | undefined {
  const [address = '', prefixText] = cidr.split('/');
  const ip = parseIp(address);
  if (!ip) return undefined;
  const bits = ip.version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  // An IPv4-mapped range (::ffff:a.b.c.d/120) keeps its meaning as the IPv4 /24.
  const mappedOffset = ip.version === 4 && isIP(address) === 6 ? 96 : 0;
  const prefix = prefixText === undefined ? bits : Number(prefixText) - mappedOffset;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { cidr, version: ip.version, network: ip.value & mask, prefix, mask };
}

/** The canonical text of a range: its network address and prefix, e.g. `2001:db8::/64`. */
export function canonicalCidr(range: CidrRange): string {
  return `${formatIp(range.version, range.network)}/${range.prefix}`;
}

/** A CIDR as written in an alert, in canonical form when it parses (else as written). */
export function normalizeCidrText(cidr: string): string {
  const range = parseCidr(cidr);
  return range ? canonicalCidr(range) : cidr;
}

export function cidrContains(range: CidrRange, ip: string): boolean {
  const parsed = parseIp(ip);
  return parsed !== undefined && rangeContains(range, parsed);
}

/** `cidrContains` for an address already parsed (hot path: one parse, many ranges). */
export function rangeContains(
  range: CidrRange,
  parsed: { version: 4 | 6; value: bigint },
): boolean {
  return parsed.version === range.version && (parsed.value & range.mask) === range.network;
}

/**
 * The range an address is grouped into for "same source range" correlation:
 * the /24 of an IPv4 address, the /64 of an IPv6 one.
 */
export function sourceRangeOf(ip: string): string | undefined {
  // Node's isIP refuses leading zeros, so the text of the first three octets is canonical.
  if (isIP(ip) === 4) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  const parsed = parseIp(ip);
  if (!parsed) return undefined;
  if (parsed.version === 4) return `${formatIp(4, parsed.value & 0xffffff00n)}/24`;
  return `${formatIp(6, (parsed.value >> 64n) << 64n)}/64`;
}
