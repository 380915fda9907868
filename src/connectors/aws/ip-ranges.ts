/**
 * IP ranges as AWS stores them: `203.0.113.0/24`, `2001:db8::/32`. Inputs
 * are canonicalised (host bits cleared, IPv6 in RFC 5952 form, a bare
 * address becomes /32 or /128) so a range written two ways is found as one
 * entry, the way EC2 itself canonicalises security group CIDRs.
 */

export interface IpRange {
  readonly family: 4 | 6;
  /** Canonical CIDR text, e.g. `203.0.113.0/24`. */
  readonly cidr: string;
}

/** The canonical range, or undefined when `text` is not an IPv4/IPv6 address or CIDR. */
export function parseIpRange(text: string): IpRange | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const prefixText = slash < 0 ? undefined : trimmed.slice(slash + 1);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;

  if (address.includes(':')) {
    const groups = parseIpv6(address);
    const prefix = prefixText === undefined ? 128 : Number(prefixText);
    if (groups === undefined || prefix > 128) return undefined;
    return { family: 6, cidr: `${formatIpv6(maskGroups(groups, prefix, 16))}/${prefix}` };
  }
  const octets = parseIpv4(address);
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  if (octets === undefined || prefix > 32) return undefined;
  return { family: 4, cidr: `${maskGroups(octets, prefix, 8).join('.')}/${prefix}` };
}

/** True when both texts denote the same range (either may be non-canonical). */
export function sameIpRange(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const left = parseIpRange(a);
  return left !== undefined && left.cidr === parseIpRange(b)?.cidr;
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : NaN));
  return octets.every((octet) => octet >= 0 && octet <= 255) ? octets : undefined;
}

function parseIpv6(text: string): number[] | undefined {
  let head = text;
  const tail: number[] = [];
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) is two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const octets = parseIpv4(text.slice(lastColon + 1));
    if (octets === undefined) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    tail.push((a << 8) | b, (c << 8) | d);
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
    return groups.map((group) => parseInt(group, 16));
  };
  const left = parse(halves[0] ?? '');
  const right = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (left === undefined || right === undefined) return undefined;
  const known = left.length + right.length + tail.length;
  if (halves.length === 2) {
    if (known > 7) return undefined;
    return [...left, ...new Array<number>(8 - known).fill(0), ...right, ...tail];
  }
  return known === 8 ? [...left, ...tail] : undefined;
}

/** Clears every bit after the first `prefix` bits of `groups` (each `bits` wide). */
function maskGroups(groups: readonly number[], prefix: number, bits: number): number[] {
  return groups.map((group, index) => {
    const keep = Math.min(bits, Math.max(0, prefix - index * bits));
    if (keep === bits) return group;
    if (keep === 0) return 0;
    const mask = ((1 << keep) - 1) << (bits - keep);
    return group & mask;
  });
}

/** RFC 5952: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < groups.length;) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
