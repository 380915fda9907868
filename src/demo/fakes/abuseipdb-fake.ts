import { isIP } from 'node:net';
import { formatIp, parseIp } from '../../core/ip-range.js';
import type { FakeReply, FakeRequest, VendorFakeFactory } from '../vendor-fake.js';
import { isDemoHostileIp } from './taxii-fake.js';

/**
 * A demo AbuseIPDB API v2 under `/abuseipdb`: `GET /api/v2/check` answers
 * in AbuseIPDB's shape (`{"data": {...}}`, errors as
 * `{"errors": [{"detail", "status"}]}`) and `POST /api/v2/report` files a
 * report, which later checks count. The documentation ranges
 * 203.0.113.0/24 and 198.51.100.0/24 are heavily reported (score 100);
 * anything else is clean unless reported here. A request without the `Key`
 * header gets 401; each key has the free plan's 1000 checks a day, with
 * X-RateLimit-* headers on every answer and Retry-After on the 429. Point
 * the `abuseipdb` connector's `base_url` at `http://127.0.0.1:8089/abuseipdb`.
 */

export const ABUSEIPDB_FAKE_PREFIX = '/abuseipdb';
/** Checks per key per day, as on the free plan. */
export const ABUSEIPDB_FAKE_DAILY_LIMIT = 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

interface Report {
  readonly at: string;
  readonly categories: readonly number[];
  readonly comment: string;
}

export const abuseipdbFake: VendorFakeFactory = (record) => {
  const usage = new Map<string, { day: number; count: number }>();
  const reports = new Map<string, Report[]>();

  return {
    prefix: ABUSEIPDB_FAKE_PREFIX,
    description: 'AbuseIPDB API v2 (check and report IP addresses)',
    handle(request) {
      if (!request.path.startsWith(`${ABUSEIPDB_FAKE_PREFIX}/`)) return undefined;
      const path = request.path.slice(ABUSEIPDB_FAKE_PREFIX.length);
      const key = request.headers.key;
      if (typeof key !== 'string' || key.trim() === '') {
        return abuseError(
          401,
          'Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.',
        );
      }
      if (path === '/api/v2/check' && request.method === 'GET')
        return limited(key, () => check(request));
      if (path === '/api/v2/report' && request.method === 'POST')
        return limited(key, () => report(request));
      return abuseError(404, `No such endpoint: ${request.method} ${path}`);
    },
  };

  /** Counts the call against the key's daily limit and adds the X-RateLimit-* headers. */
  function limited(key: string, answer: () => FakeReply): FakeReply {
    const now = Date.now();
    const day = Math.floor(now / DAY_MS);
    const used = usage.get(key);
    const count = used?.day === day ? used.count : 0;
    const resetSeconds = Math.ceil(((day + 1) * DAY_MS) / 1000);
    const rateHeaders = (remaining: number): Record<string, string> => ({
      'X-RateLimit-Limit': String(ABUSEIPDB_FAKE_DAILY_LIMIT),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': String(resetSeconds),
    });
    if (count >= ABUSEIPDB_FAKE_DAILY_LIMIT) {
      const reply = abuseError(
        429,
        `Daily rate limit of ${ABUSEIPDB_FAKE_DAILY_LIMIT} requests exceeded for this endpoint. See headers for additional details.`,
      );
      return {
        ...reply,
        headers: {
          ...rateHeaders(0),
          'Retry-After': String(resetSeconds - Math.floor(now / 1000)),
        },
      };
    }
    usage.set(key, { day, count: count + 1 });
    const reply = answer();
    return {
      ...reply,
      headers: { ...reply.headers, ...rateHeaders(ABUSEIPDB_FAKE_DAILY_LIMIT - count - 1) },
    };
  }

  function check(request: FakeRequest): FakeReply {
    const ip = canonicalIp(request.query.get('ipAddress'));
    if (ip === undefined) {
      return abuseError(
        422,
        'The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).',
        'ipAddress',
      );
    }
    const maxAgeText = request.query.get('maxAgeInDays') ?? '30';
    const maxAgeDays = Number(maxAgeText);
    if (!Number.isInteger(maxAgeDays) || maxAgeDays < 1 || maxAgeDays > 365) {
      return abuseError(422, 'The max age in days must be between 1 and 365.', 'maxAgeInDays');
    }
    const since = Date.now() - maxAgeDays * DAY_MS;
    const filed = (reports.get(ip) ?? []).filter((item) => Date.parse(item.at) >= since);
    const hostile = isDemoHostileIp(ip);
    const totalReports = (hostile ? 1287 : 0) + filed.length;
    const lastReported =
      filed.at(-1)?.at ?? (hostile ? new Date(Date.now() - 3_600_000).toISOString() : null);
    const score = hostile ? 100 : Math.min(100, filed.length * 25);
    return {
      status: 200,
      body: {
        data: {
          ipAddress: ip,
          isPublic: true,
          ipVersion: isIP(ip),
          isWhitelisted: false,
          abuseConfidenceScore: score,
          countryCode: hostile ? 'NL' : 'US',
          countryName: hostile ? 'Netherlands' : 'United States of America',
          usageType: hostile ? 'Data Center/Web Hosting/Transit' : 'Fixed Line ISP',
          isp: hostile ? 'Example Bulletproof Hosting' : 'Example Broadband',
          domain: hostile ? 'bulletproof.example' : 'broadband.example',
          hostnames: [],
          isTor: false,
          totalReports,
          numDistinctUsers: (hostile ? 212 : 0) + filed.length,
          lastReportedAt: lastReported,
        },
      },
    };
  }

  /** POST /api/v2/report: ip, categories (comma-separated ids), comment; form or JSON. */
  function report(request: FakeRequest): FakeReply {
    const fields = formFields(request);
    const ip = canonicalIp(fields.get('ip'));
    if (ip === undefined) {
      return abuseError(
        422,
        'The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).',
        'ip',
      );
    }
    const categories = (fields.get('categories') ?? '')
      .split(',')
      .map((item) => Number(item.trim()))
      .filter((item) => Number.isInteger(item) && item > 0);
    if (categories.length === 0) {
      return abuseError(422, 'The categories field is required.', 'categories');
    }
    const filed: Report = {
      at: new Date().toISOString(),
      categories,
      comment: fields.get('comment') ?? '',
    };
    reports.set(ip, [...(reports.get(ip) ?? []), filed]);
    record('abuseipdb', 'reported', ip, { categories, comment: filed.comment });
    const score = isDemoHostileIp(ip) ? 100 : Math.min(100, (reports.get(ip)?.length ?? 0) * 25);
    return { status: 200, body: { data: { ipAddress: ip, abuseConfidenceScore: score } } };
  }
};

function canonicalIp(text: string | null | undefined): string | undefined {
  if (text === null || text === undefined || isIP(text.trim()) === 0) return undefined;
  const parsed = parseIp(text.trim());
  return parsed === undefined ? undefined : formatIp(parsed.version, parsed.value);
}

function formFields(request: FakeRequest): Map<string, string> {
  const fields = new Map<string, string>(request.query);
  const type = String(request.headers['content-type'] ?? '');
  if (type.includes('application/json')) {
    try {
      const body = JSON.parse(request.text) as Record<string, unknown>;
      for (const [name, value] of Object.entries(body)) {
        fields.set(name, Array.isArray(value) ? value.join(',') : String(value));
      }
    } catch {
      // An unreadable body adds no fields; the checks below say what is missing.
    }
  } else {
    for (const [name, value] of new URLSearchParams(request.text)) fields.set(name, value);
  }
  return fields;
}

function abuseError(status: number, detail: string, parameter?: string): FakeReply {
  return {
    status,
    body: {
      errors: [{ detail, status, ...(parameter === undefined ? {} : { source: { parameter } }) }],
    },
  };
}
