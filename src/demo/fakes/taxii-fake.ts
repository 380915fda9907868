import { randomUUID } from 'node:crypto';
import { cidrContains, parseCidr, type CidrRange } from '../../core/ip-range.js';
import type { FakeReply, FakeRequest, VendorFakeFactory } from '../vendor-fake.js';

/**
 * A demo TAXII 2.1 server under `/taxii` with one read-write collection of
 * STIX 2.1 indicators about the threats the demo plays out: the
 * documentation ranges 203.0.113.0/24 and 198.51.100.0/24 (hostile in the
 * whole demo), a backdoored model file and an exfiltration domain, tagged
 * with MITRE ATLAS kill-chain phases. It serves discovery, the API root,
 * collections and objects with TAXII pagination (`limit`, `next`,
 * `added_after`, `match[type]`), and takes new objects by POST, so a demo
 * user can publish an indicator and watch the `stix_feed` connector match
 * it after its next refresh. Point the connector's `url` at
 * `http://127.0.0.1:8089/taxii/api1/collections/<TAXII_FAKE_COLLECTION_ID>/objects/`.
 */

export const TAXII_FAKE_PREFIX = '/taxii';
export const TAXII_FAKE_API_ROOT = `${TAXII_FAKE_PREFIX}/api1`;
export const TAXII_FAKE_COLLECTION_ID = '3f7a1c52-9d0e-4c1b-8a6f-2e5d7b9c0a14';
export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

/** The documentation ranges (RFC 5737) the demo treats as hostile, in every fake. */
export const DEMO_HOSTILE_RANGES: readonly string[] = ['203.0.113.0/24', '198.51.100.0/24'];
/** An exfiltration endpoint (reserved .example name). */
export const DEMO_HOSTILE_DOMAIN = 'model-exfil.example';
/** A backdoored model artifact (made up). */
export const DEMO_HOSTILE_SHA256 =
  '9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e';

const HOSTILE_RANGES: readonly CidrRange[] = DEMO_HOSTILE_RANGES.flatMap(
  (cidr) => parseCidr(cidr) ?? [],
);

/** Whether the demo treats this address as hostile. */
export function isDemoHostileIp(ip: string): boolean {
  return HOSTILE_RANGES.some((range) => cidrContains(range, ip));
}

/** Objects per page when the client does not ask for fewer. */
const PAGE_SIZE = 3;
const DAY_MS = 24 * 60 * 60 * 1000;

interface Stored {
  readonly object: Record<string, unknown>;
  /** TAXII `date_added`, unique and increasing, so pages are stable. */
  readonly added: string;
}

export const taxiiFake: VendorFakeFactory = (record) => {
  const started = Date.now();
  const objects: Stored[] = [];
  let lastAdded = 0;
  const add = (object: Record<string, unknown>): void => {
    lastAdded = Math.max(lastAdded + 1, Date.now());
    objects.push({ object, added: new Date(lastAdded).toISOString() });
  };
  for (const object of demoObjects(started)) add(object);

  const collection = {
    id: TAXII_FAKE_COLLECTION_ID,
    title: 'Warden demo: AI/ML threat indicators',
    description: 'Indicators for the ranges, files and domains the demo treats as hostile',
    can_read: true,
    can_write: true,
    media_types: [STIX_MEDIA_TYPE],
  };

  return {
    prefix: TAXII_FAKE_PREFIX,
    description: 'TAXII 2.1 server with a collection of STIX 2.1 indicators (AI/ML threats)',
    handle(request) {
      if (request.path !== TAXII_FAKE_PREFIX && !request.path.startsWith(`${TAXII_FAKE_PREFIX}/`)) {
        return undefined;
      }
      const path = request.path.endsWith('/') ? request.path : `${request.path}/`;
      const accept = String(request.headers.accept ?? '');
      if (!/application\/taxii\+json/i.test(accept) && !/\*\/\*/.test(accept)) {
        return taxiiError(
          406,
          'The media type in Accept is not supported',
          `Use ${TAXII_MEDIA_TYPE}`,
        );
      }
      if (request.method === 'GET' && path === `${TAXII_FAKE_PREFIX}/taxii2/`) {
        const root = `http://${String(request.headers.host ?? '127.0.0.1:8089')}${TAXII_FAKE_API_ROOT}/`;
        return taxii(200, {
          title: 'Warden demo TAXII server',
          description: 'A stand-in for a threat-intelligence sharing server',
          default: root,
          api_roots: [root],
        });
      }
      if (request.method === 'GET' && path === `${TAXII_FAKE_API_ROOT}/`) {
        return taxii(200, {
          title: 'Demo API root',
          versions: [TAXII_MEDIA_TYPE],
          max_content_length: 10 * 1024 * 1024,
        });
      }
      if (request.method === 'GET' && path === `${TAXII_FAKE_API_ROOT}/collections/`) {
        return taxii(200, { collections: [collection] });
      }
      const match = new RegExp(`^${TAXII_FAKE_API_ROOT}/collections/([^/]+)/(objects/)?$`).exec(
        path,
      );
      if (match === null)
        return taxiiError(404, 'Not found', `No TAXII endpoint at ${request.path}`);
      if (match[1] !== TAXII_FAKE_COLLECTION_ID) {
        return taxiiError(404, 'Unknown collection', `No collection ${match[1] ?? ''}`);
      }
      if (match[2] === undefined) {
        return request.method === 'GET' ? taxii(200, collection) : methodNotAllowed();
      }
      if (request.method === 'GET') return page(objects, request.query);
      if (request.method === 'POST') return addObjects(request);
      return methodNotAllowed();
    },
  };

  function addObjects(request: FakeRequest): FakeReply {
    let envelope: unknown;
    try {
      envelope = JSON.parse(request.text) as unknown;
    } catch {
      return taxiiError(400, 'The body is not JSON', 'POST an envelope: {"objects": [...]}');
    }
    const posted = (envelope as { objects?: unknown }).objects;
    if (!Array.isArray(posted)) {
      return taxiiError(422, 'No objects', 'POST an envelope: {"objects": [...]}');
    }
    const successes: string[] = [];
    const failures: { id: string; message: string }[] = [];
    for (const object of posted as unknown[]) {
      const item = object as Record<string, unknown> | null;
      if (typeof item?.id !== 'string' || typeof item.type !== 'string') {
        failures.push({
          id: typeof item?.id === 'string' ? item.id : '?',
          message: 'a STIX object needs type and id',
        });
        continue;
      }
      add(item);
      successes.push(item.id);
    }
    if (successes.length > 0) {
      record('taxii', 'published objects', TAXII_FAKE_COLLECTION_ID, { ids: successes });
    }
    return taxii(202, {
      id: randomUUID(),
      status: 'complete',
      request_timestamp: new Date().toISOString(),
      total_count: posted.length,
      success_count: successes.length,
      successes: successes.map((id) => ({ id })),
      failure_count: failures.length,
      failures,
      pending_count: 0,
    });
  }
};

/** One page of the collection, filtered as TAXII 2.1 section 3.4 describes. */
function page(stored: readonly Stored[], query: URLSearchParams): FakeReply {
  const types = query.get('match[type]')?.split(',');
  const addedAfter = query.get('added_after');
  const afterMs = addedAfter === null ? undefined : Date.parse(addedAfter);
  if (afterMs !== undefined && Number.isNaN(afterMs)) {
    return taxiiError(400, 'Bad added_after', 'added_after must be a timestamp');
  }
  const limitText = query.get('limit');
  const limit = limitText === null ? PAGE_SIZE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1) {
    return taxiiError(400, 'Bad limit', 'limit must be a positive integer');
  }
  const nextText = query.get('next');
  const offset = nextText === null ? 0 : Number(nextText);
  if (!Number.isInteger(offset) || offset < 0) {
    return taxiiError(400, 'Bad next', 'next must be a value from a previous page');
  }
  const selected = stored.filter(
    ({ object, added }) =>
      (types === undefined || types.includes(String(object.type))) &&
      (afterMs === undefined || Date.parse(added) > afterMs),
  );
  const slice = selected.slice(offset, offset + Math.min(limit, PAGE_SIZE));
  const more = offset + slice.length < selected.length;
  const first = slice[0];
  const last = slice[slice.length - 1];
  return taxii(
    200,
    {
      more,
      ...(more ? { next: String(offset + slice.length) } : {}),
      ...(slice.length > 0 ? { objects: slice.map(({ object }) => object) } : {}),
    },
    first === undefined || last === undefined
      ? {}
      : { 'X-TAXII-Date-Added-First': first.added, 'X-TAXII-Date-Added-Last': last.added },
  );
}

function taxii(status: number, body: unknown, headers: Record<string, string> = {}): FakeReply {
  return { status, body: JSON.stringify(body), contentType: TAXII_MEDIA_TYPE, headers };
}

function taxiiError(status: number, title: string, description: string): FakeReply {
  return taxii(status, { title, description, http_status: String(status) });
}

function methodNotAllowed(): FakeReply {
  return taxiiError(405, 'Method not allowed', 'This endpoint does not take that method');
}

/** The collection's objects, valid from a day before the demo started until a year after. */
function demoObjects(started: number): Record<string, unknown>[] {
  const creator = 'identity--6b0c4f2e-8d1a-4e3b-9c5f-7a2d1e0b3c4d';
  const created = new Date(started - DAY_MS).toISOString();
  const validUntil = new Date(started + 365 * DAY_MS).toISOString();
  const indicator = (
    id: string,
    fields: Record<string, unknown> & { pattern: string; name: string },
  ): Record<string, unknown> => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${id}`,
    created_by_ref: creator,
    created,
    modified: created,
    indicator_types: ['malicious-activity'],
    pattern_type: 'stix',
    valid_from: created,
    valid_until: validUntil,
    ...fields,
  });
  const atlas = (phase: string, technique: string) => ({
    kill_chain_phases: [{ kill_chain_name: 'mitre-atlas', phase_name: phase }],
    external_references: [
      {
        source_name: 'mitre-atlas',
        external_id: technique,
        url: `https://atlas.mitre.org/techniques/${technique}`,
      },
    ],
  });
  return [
    {
      type: 'identity',
      spec_version: '2.1',
      id: creator,
      created,
      modified: created,
      name: 'Warden demo threat-intelligence team',
      identity_class: 'organization',
    },
    indicator('1d7f3b2a-5c4e-4a9b-8f6d-0e2c1b3a5d7f', {
      name: 'Model-extraction scraper range',
      description: 'Sustained inference-API scraping consistent with model extraction',
      pattern: "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
      confidence: 85,
      labels: ['model-extraction', 'scraping'],
      ...atlas('exfiltration', 'AML.T0024'),
    }),
    indicator('2e8a4c3b-6d5f-4b0c-9a7e-1f3d2c4b6e8a', {
      name: 'Prompt-injection campaign infrastructure',
      description: 'Sources of automated prompt-injection attempts against LLM endpoints',
      pattern: "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
      confidence: 75,
      labels: ['prompt-injection'],
      ...atlas('initial-access', 'AML.T0051'),
    }),
    indicator('3f9b5d4c-7e6a-4c1d-8b8f-2a4e3d5c7f9b', {
      name: 'Backdoored model weights (pickle payload)',
      description: 'A model artifact whose pickled weights run code when loaded',
      indicator_types: ['malicious-activity', 'compromised'],
      pattern: `[file:hashes.'SHA-256' = '${DEMO_HOSTILE_SHA256}']`,
      confidence: 95,
      labels: ['model-backdoor', 'supply-chain'],
      ...atlas('persistence', 'AML.T0018'),
    }),
    indicator('4a0c6e5d-8f7b-4d2e-9c9a-3b5f4e6d8a0c', {
      name: 'Training-data exfiltration endpoint',
      pattern: `[domain-name:value = '${DEMO_HOSTILE_DOMAIN}']`,
      confidence: 70,
      labels: ['data-exfiltration'],
      ...atlas('exfiltration', 'AML.T0025'),
    }),
    indicator('5b1d7f6e-9a8c-4e3f-8d0b-4c6a5f7e9b1d', {
      name: 'Retired scanner address (revoked)',
      pattern: "[ipv4-addr:value = '192.0.2.10']",
      revoked: true,
      labels: ['scanning'],
    }),
    indicator('6c2e8a7f-0b9d-4f4a-9e1c-5d7b6a8f0c2e', {
      name: 'Staged jailbreak sequence',
      description: 'A pattern with FOLLOWEDBY, which the stix_feed matcher counts as unsupported',
      pattern: `[domain-name:value = '${DEMO_HOSTILE_DOMAIN}'] FOLLOWEDBY [ipv4-addr:value ISSUBSET '198.51.100.0/24']`,
      labels: ['prompt-injection'],
    }),
  ];
}
