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
}

function ipv4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, octet) => (acc << 8n) + BigInt(Number(octet)), 0n);
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

export function parseIp(ip: string): { version: 4 | 6; value: bigint } | undefined {
  const version = isIP(ip);
  if (version === 4) return { version, value: ipv4ToBigInt(ip) };
  if (version === 6) return { version, value: ipv6ToBigInt(ip) };
  return undefined;
}

export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

export function parseCidr(cidr: string): CidrRange | undefined {
  const [address = '', prefixText] = cidr.split('/');
  const ip = parseIp(address);
  if (!ip) return undefined;
  const bits = ip.version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { cidr, version: ip.version, network: ip.value & mask, prefix };
}

export function cidrContains(range: CidrRange, ip: string): boolean {
  const parsed = parseIp(ip);
  if (!parsed || parsed.version !== range.version) return false;
  const bits = range.version === 4 ? 32 : 128;
  const mask =
    range.prefix === 0 ? 0n : ((1n << BigInt(range.prefix)) - 1n) << BigInt(bits - range.prefix);
  return (parsed.value & mask) === range.network;
}

/**
 * The range an address is grouped into for "same source range" correlation:
 * the /24 of an IPv4 address, the /64 of an IPv6 one.
 */
export function sourceRangeOf(ip: string): string | undefined {
  const parsed = parseIp(ip);
  if (!parsed) return undefined;
  if (parsed.version === 4) {
    const network = parsed.value & 0xffffff00n;
    const octets = [24n, 16n, 8n, 0n].map((shift) => Number((network >> shift) & 0xffn));
    return `${octets.join('.')}/24`;
  }
  const network = parsed.value >> 64n;
  const groups = [48n, 32n, 16n, 0n].map((shift) => ((network >> shift) & 0xffffn).toString(16));
  return `${groups.join(':')}::/64`;
}
