import { formatIp, parseIp } from '../../core/ip-range.js';
import { ConnectorError, type JsonSchema } from '../connector.js';

/** The `ip` input of the IP lookups (VirusTotal, AbuseIPDB): an IPv4 or IPv6 address. */
export const IP_INPUT_SCHEMA: JsonSchema = {
  type: 'string',
  minLength: 2,
  maxLength: 45,
  pattern: '^[0-9A-Fa-f.:]+$',
  description: 'an IPv4 or IPv6 address',
};

/**
 * `input.ip` in canonical form (IPv6 compressed and lower case), so one
 * address is one cache entry and one request whatever way it was written.
 */
export function canonicalIp(value: unknown, where: string): string {
  const parsed = typeof value === 'string' ? parseIp(value.trim()) : undefined;
  if (parsed === undefined) {
    throw new ConnectorError('invalid_input', `${where}: input.ip is not an IP address`);
  }
  return formatIp(parsed.version, parsed.value);
}
