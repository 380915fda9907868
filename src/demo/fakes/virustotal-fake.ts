import { isIP } from 'node:net';
import { formatIp, parseIp } from '../../core/ip-range.js';
import type { FakeReply, VendorFakeFactory } from '../vendor-fake.js';
import { DEMO_HOSTILE_DOMAIN, DEMO_HOSTILE_SHA256, isDemoHostileIp } from './taxii-fake.js';

/**
 * A demo VirusTotal API v3 under `/virustotal`: IP address, domain and file
 * reports (`GET /api/v3/ip_addresses/{ip}`, `/domains/{domain}`,
 * `/files/{hash}`) in VirusTotal's object shape, with its error bodies
 * (`{"error": {"code": "…", "message": "…"}}`). The documentation ranges
 * 203.0.113.0/24 and 198.51.100.0/24, the demo's exfiltration domain and
 * backdoored model file are malicious; other addresses and domains are
 * harmless; other files are unknown (NotFoundError). A request without
 * `x-apikey` gets 401, and each key has the public API's daily quota, after
 * which QuotaExceededError (429). Nothing here writes, so nothing is
 * recorded. Point the `virustotal` connector's `base_url` at
 * `http://127.0.0.1:8089/virustotal`.
 */

export const VIRUSTOTAL_FAKE_PREFIX = '/virustotal';
/** Lookups per key per day, as on the public API. */
export const VIRUSTOTAL_FAKE_DAILY_QUOTA = 500;

const DAY_MS = 24 * 60 * 60 * 1000;
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

type Stats = { malicious: number; suspicious: number; harmless: number; undetected: number };
const MALICIOUS: Stats = { malicious: 14, suspicious: 2, harmless: 51, undetected: 27 };
const HARMLESS: Stats = { malicious: 0, suspicious: 0, harmless: 66, undetected: 28 };

export const virustotalFake: VendorFakeFactory = () => {
  /** Lookups so far today, per API key. */
  const usage = new Map<string, { day: number; count: number }>();

  return {
    prefix: VIRUSTOTAL_FAKE_PREFIX,
    description: 'VirusTotal API v3 (IP, domain and file reports)',
    handle(request) {
      if (!request.path.startsWith(`${VIRUSTOTAL_FAKE_PREFIX}/`)) return undefined;
      const path = request.path.slice(VIRUSTOTAL_FAKE_PREFIX.length);
      const key = request.headers['x-apikey'];
      if (typeof key !== 'string' || key.trim() === '') {
        return vtError(401, 'AuthenticationRequiredError', 'X-Apikey header is missing');
      }
      if (request.method !== 'GET') {
        return vtError(405, 'MethodNotAllowedError', `${request.method} is not allowed here`);
      }
      const day = Math.floor(Date.now() / DAY_MS);
      const used = usage.get(key);
      const count = used?.day === day ? used.count : 0;
      if (count >= VIRUSTOTAL_FAKE_DAILY_QUOTA) {
        return vtError(429, 'QuotaExceededError', 'Quota exceeded for this API key');
      }
      usage.set(key, { day, count: count + 1 });

      const [, collection, rawId, ...rest] =
        /^\/api\/v3\/([a-z_]+)\/([^/]+)(\/.*)?$/.exec(path) ?? [];
      if (
        collection === undefined ||
        rawId === undefined ||
        rest.some((part) => part !== undefined)
      ) {
        return vtError(404, 'NotFoundError', `Resource "${path}" not found`);
      }
      let id: string;
      try {
        id = decodeURIComponent(rawId);
      } catch {
        return vtError(400, 'BadRequestError', 'The request path is not valid');
      }
      if (collection === 'ip_addresses') return ipReport(id);
      if (collection === 'domains') return domainReport(id);
      if (collection === 'files') return fileReport(id);
      return vtError(404, 'NotFoundError', `Resource "${path}" not found`);
    },
  };
};

function ipReport(text: string): FakeReply {
  const parsed = isIP(text) === 0 ? undefined : parseIp(text);
  if (parsed === undefined) {
    return vtError(400, 'InvalidArgumentError', `"${text}" is not a valid IP address`);
  }
  const ip = formatIp(parsed.version, parsed.value);
  const hostile = isDemoHostileIp(ip);
  return report('ip_address', ip, `/api/v3/ip_addresses/${ip}`, hostile, {
    as_owner: hostile ? 'EXAMPLE-BULLETPROOF-HOSTING' : 'EXAMPLE-ISP',
    asn: hostile ? 64511 : 64500,
    country: hostile ? 'NL' : 'US',
    continent: hostile ? 'EU' : 'NA',
    network: hostile ? `${ip.split('.').slice(0, 3).join('.')}.0/24` : undefined,
    regional_internet_registry: hostile ? 'RIPE NCC' : 'ARIN',
    tags: hostile ? ['proxy', 'scanner'] : [],
  });
}

function domainReport(text: string): FakeReply {
  const domain = text.toLowerCase().replace(/\.$/, '');
  if (!HOSTNAME.test(domain)) {
    return vtError(400, 'InvalidArgumentError', `"${text}" is not a valid domain`);
  }
  const hostile = domain === DEMO_HOSTILE_DOMAIN || domain.endsWith(`.${DEMO_HOSTILE_DOMAIN}`);
  return report('domain', domain, `/api/v3/domains/${domain}`, hostile, {
    registrar: 'Example Registrar, Inc.',
    creation_date: Math.floor(Date.now() / 1000) - (hostile ? 9 : 3000) * 86_400,
    categories: hostile
      ? { 'Forcepoint ThreatSeeker': 'malicious web sites', Webroot: 'Malware Sites' }
      : { 'Forcepoint ThreatSeeker': 'information technology' },
    tld: domain.split('.').pop(),
    tags: [],
  });
}

function fileReport(text: string): FakeReply {
  const hash = text.toLowerCase();
  if (!/^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/.test(hash)) {
    return vtError(400, 'InvalidArgumentError', `"${text}" is not a valid file hash`);
  }
  if (hash !== DEMO_HOSTILE_SHA256) {
    return vtError(404, 'NotFoundError', `File "${text}" not found`);
  }
  return report('file', hash, `/api/v3/files/${hash}`, true, {
    sha256: hash,
    meaningful_name: 'fraud-scorer-v7.pkl',
    type_description: 'Python Pickle',
    size: 48_211_337,
    first_submission_date: Math.floor(Date.now() / 1000) - 5 * 86_400,
    times_submitted: 3,
    popular_threat_classification: {
      suggested_threat_label: 'trojan.pickle/modelbackdoor',
      popular_threat_category: [{ value: 'trojan', count: 11 }],
    },
    tags: ['pickle', 'ml-model'],
  });
}

function report(
  type: string,
  id: string,
  self: string,
  hostile: boolean,
  attributes: Record<string, unknown>,
): FakeReply {
  return {
    status: 200,
    body: {
      data: {
        id,
        type,
        links: { self: `https://www.virustotal.com${self}` },
        attributes: {
          ...attributes,
          reputation: hostile ? -42 : 0,
          last_analysis_date: Math.floor(Date.now() / 1000) - 3600,
          last_analysis_stats: { ...(hostile ? MALICIOUS : HARMLESS), timeout: 0 },
          total_votes: { harmless: hostile ? 0 : 3, malicious: hostile ? 7 : 0 },
        },
      },
    },
  };
}

function vtError(status: number, code: string, message: string): FakeReply {
  return { status, body: { error: { code, message } } };
}
