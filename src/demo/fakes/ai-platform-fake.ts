import { createHash } from 'node:crypto';
import type { FakeReply, FakeRequest, VendorFakeFactory } from '../vendor-fake.js';

/**
 * The company's own AI platform for the demo, under `/platform`, following
 * the HTTP preset contracts in docs/connectors/presets.md:
 *
 * | preset | base_url |
 * |---|---|
 * | `ai_gateway` | `http://127.0.0.1:8089/platform/gateway` |
 * | `feature_store` | `http://127.0.0.1:8089/platform/feature-store` |
 * | `ai_application` | `http://127.0.0.1:8089/platform/app` |
 * | `identity` | `http://127.0.0.1:8089/platform/identity` |
 *
 * (`/platform` keeps clear of the older demo routes `/gateway`,
 * `/feature-store` and `/identity`.) State is kept in memory: key states,
 * circuit breakers, quarantined datasets and their evidence copies,
 * blocked users, ended sessions. Writes are deduplicated by
 * `Idempotency-Key`, as the presets require. The identity service grants
 * write on datasets only to `etl-svc` and `ml-pipeline`.
 */

export const AI_PLATFORM_FAKE_PREFIX = '/platform';

/** Service accounts allowed to write datasets. */
export const DATASET_WRITERS = ['etl-svc', 'ml-pipeline'] as const;

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

interface Dataset {
  readonly owner: string;
  readonly consumers: readonly string[];
  /** The current content's hash and size (the fake has no content, only its version). */
  version: number;
  quarantine: { copyRef: string; sha256: string; sizeBytes: number } | undefined;
}

/** Datasets the demo's inventory knows; any other name is created on first use. */
const KNOWN_DATASETS: Record<string, { owner: string; consumers: string[] }> = {
  'transactions-2024': { owner: 'data-eng', consumers: ['fraud-scorer', 'credit-risk'] },
  'support-tickets': { owner: 'cx-data', consumers: ['support-bot'] },
};

/** API keys the identity service knows; others belong to a generic application. */
const KNOWN_KEYS: Record<string, { owner: string; scopes: string[]; lastUsedAt: string }> = {
  'sk-live-ml-pipeline': {
    owner: 'ml-pipeline',
    scopes: ['inference:invoke', 'models:read'],
    lastUsedAt: '2025-03-01T11:58:12.000Z',
  },
  'sk-live-support-bot': {
    owner: 'support-bot',
    scopes: ['inference:invoke'],
    lastUsedAt: '2025-03-01T11:59:40.000Z',
  },
};
const KEY_CREATED_AT = '2025-01-15T09:00:00.000Z';

type Json = Record<string, unknown>;

export const aiPlatformFake: VendorFakeFactory = (record) => {
  const keys = new Map<string, 'active' | 'disabled' | 'revoked'>();
  const endpoints = new Map<
    string,
    { state: 'closed' | 'open' | 'fallback'; fallback: string | null }
  >();
  const datasets = new Map<string, Dataset>();
  const users = new Map<string, { blockedUntil: number | null }>();
  const endedSessions = new Set<string>();
  /** Idempotency-Key → the first request's fingerprint and reply. */
  const replies = new Map<string, { fingerprint: string; reply: Reply }>();
  let copies = 0;

  const dataset = (name: string): Dataset => {
    let found = datasets.get(name);
    if (found === undefined) {
      const known = KNOWN_DATASETS[name];
      found = {
        owner: known?.owner ?? 'data-platform',
        consumers: known?.consumers ?? [],
        version: 1,
        quarantine: undefined,
      };
      datasets.set(name, found);
    }
    return found;
  };
  const blocked = (user: string): { blocked: boolean; blocked_until: string | null } => {
    const entry = users.get(user);
    if (entry === undefined) return { blocked: false, blocked_until: null };
    if (entry.blockedUntil !== null && entry.blockedUntil <= Date.now()) {
      users.delete(user);
      return { blocked: false, blocked_until: null };
    }
    return {
      blocked: true,
      blocked_until:
        entry.blockedUntil === null ? null : new Date(entry.blockedUntil).toISOString(),
    };
  };
  const endpoint = (name: string) =>
    endpoints.get(name) ?? { state: 'closed' as const, fallback: null };
  const endpointBody = (name: string): Json => {
    const found = endpoint(name);
    return { endpoint: name, state: found.state, fallback_model: found.fallback };
  };

  const gateway = (method: string, path: string, body: Json): Reply => {
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/keys\/([^/]+)\/(disable|revoke)$/.exec(path))) {
      const key = decode(m[1]);
      const problem = need(body, ['reason']);
      if (problem) return problem;
      const current = keys.get(key) ?? 'active';
      const wanted = m[2] === 'revoke' ? 'revoked' : 'disabled';
      if (current === 'revoked' && wanted === 'disabled') {
        return { status: 409, body: { error: `key ${key} is revoked; it cannot be disabled` } };
      }
      keys.set(key, wanted);
      record('gateway', wanted === 'revoked' ? 'revoked API key' : 'disabled API key', key, body);
      return { status: 200, body: { key, state: wanted } };
    }
    if ((m = /^\/endpoints\/([^/]+)\/circuit-breaker$/.exec(path))) {
      const name = decode(m[1]);
      if (method === 'GET') return { status: 200, body: endpointBody(name) };
      if (method !== 'POST') return notAllowed(method, path);
      if (body.state === 'open') {
        const problem = need(body, ['reason']);
        if (problem) return problem;
        const fallback = typeof body.fallback_model === 'string' ? body.fallback_model : null;
        endpoints.set(name, { state: 'open', fallback });
        record('gateway', 'tripped circuit breaker', name, body);
      } else if (body.state === 'closed') {
        endpoints.set(name, { state: 'closed', fallback: null });
        record('gateway', 'reset circuit breaker', name, body);
      } else {
        return { status: 400, body: { error: 'state must be "open" or "closed"' } };
      }
      return { status: 200, body: endpointBody(name) };
    }
    if (method === 'POST' && (m = /^\/endpoints\/([^/]+)\/route$/.exec(path))) {
      const name = decode(m[1]);
      const problem = need(body, ['fallback_model', 'reason']);
      if (problem) return problem;
      if (body.target !== 'fallback')
        return { status: 400, body: { error: 'target must be "fallback"' } };
      endpoints.set(name, { state: 'fallback', fallback: String(body.fallback_model) });
      record('gateway', 'routed to fallback model', name, body);
      return { status: 200, body: endpointBody(name) };
    }
    return notFound(method, path);
  };

  const featureStore = (method: string, path: string, body: Json): Reply => {
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/datasets\/([^/]+)$/.exec(path))) {
      const name = decode(m[1]);
      const found = dataset(name);
      return {
        status: 200,
        body: {
          dataset: name,
          owner: found.owner,
          sha256: contentHash(name, found.version),
          writers: [...DATASET_WRITERS],
          consumers: [...found.consumers],
          quarantined: found.quarantine !== undefined,
        },
      };
    }
    if (method === 'POST' && (m = /^\/datasets\/([^/]+)\/quarantine$/.exec(path))) {
      const name = decode(m[1]);
      const problem = need(body, ['reason']);
      if (problem) return problem;
      // The alert's hash is optional, bare or `sha256:`-prefixed (the preset's contract).
      const hash = body.sha256;
      if (
        hash !== undefined &&
        (typeof hash !== 'string' || !/^(sha256:)?[A-Fa-f0-9]{64}$/.test(hash))
      ) {
        return { status: 400, body: { error: 'sha256 must be 64 hex digits' } };
      }
      const found = dataset(name);
      // Quarantining twice keeps the first evidence copy.
      if (found.quarantine === undefined) {
        copies += 1;
        const sha256 = contentHash(name, found.version);
        found.quarantine = {
          copyRef: `evidence://feature-store/${encodeURIComponent(name)}/copy-${copies}`,
          sha256,
          sizeBytes: 1024 * (100 + (parseInt(sha256.slice(0, 4), 16) % 900)),
        };
        record('feature-store', 'quarantined dataset', name, {
          ...body,
          copy_ref: found.quarantine.copyRef,
          copy_sha256: sha256,
        });
      }
      const q = found.quarantine;
      return {
        status: 200,
        body: {
          dataset: name,
          quarantined: true,
          sha256: q.sha256,
          copy_ref: q.copyRef,
          size_bytes: q.sizeBytes,
        },
      };
    }
    if (method === 'POST' && (m = /^\/datasets\/([^/]+)\/release$/.exec(path))) {
      const name = decode(m[1]);
      const found = dataset(name);
      if (found.quarantine !== undefined) {
        record('feature-store', 'released dataset', name, { copy_ref: found.quarantine.copyRef });
        found.quarantine = undefined;
      }
      return { status: 200, body: { dataset: name, quarantined: false } };
    }
    return notFound(method, path);
  };

  const app = (method: string, path: string, body: Json): Reply => {
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/sessions\/([^/]+)\/terminate$/.exec(path))) {
      const session = decode(m[1]);
      const problem = need(body, ['reason']);
      if (problem) return problem;
      if (!endedSessions.has(session)) {
        endedSessions.add(session);
        record('app', 'ended session', session, body);
      }
      return { status: 200, body: { session, terminated: true } };
    }
    if ((m = /^\/users\/([^/]+)(\/block|\/unblock)?$/.exec(path))) {
      const user = decode(m[1]);
      if (m[2] === undefined) {
        return method === 'GET'
          ? { status: 200, body: { user, ...blocked(user) } }
          : notAllowed(method, path);
      }
      if (method !== 'POST') return notAllowed(method, path);
      if (m[2] === '/block') {
        const problem = need(body, ['reason']);
        if (problem) return problem;
        const minutes = body.duration_minutes;
        if (minutes !== undefined && !(Number.isInteger(minutes) && (minutes as number) > 0)) {
          return { status: 400, body: { error: 'duration_minutes must be a positive integer' } };
        }
        users.set(user, {
          blockedUntil: typeof minutes === 'number' ? Date.now() + minutes * 60_000 : null,
        });
        record('app', 'blocked user', user, body);
      } else if (users.delete(user)) {
        record('app', 'unblocked user', user, body);
      }
      return { status: 200, body: { user, ...blocked(user) } };
    }
    return notFound(method, path);
  };

  const identity = (method: string, path: string, query: URLSearchParams): Reply => {
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/users\/([^/]+)\/entitlements$/.exec(path))) {
      const user = decode(m[1]);
      const resource = query.get('resource') ?? undefined;
      // Datasets are this fake's only resources: everyone reads them, two accounts write.
      const canWrite = (DATASET_WRITERS as readonly string[]).includes(user);
      const actions = canWrite ? ['read', 'write'] : ['read'];
      return {
        status: 200,
        body: {
          user,
          entitlements: [{ resource: resource ?? 'dataset:*', actions }],
          ...(resource === undefined ? {} : { can_write: canWrite }),
        },
      };
    }
    if (method === 'GET' && (m = /^\/api-keys\/([^/]+)$/.exec(path))) {
      const key = decode(m[1]);
      const known = KNOWN_KEYS[key];
      return {
        status: 200,
        body: {
          key,
          owner: known?.owner ?? 'app-frontend',
          scopes: known?.scopes ?? ['inference:invoke'],
          created_at: KEY_CREATED_AT,
          last_used_at: known?.lastUsedAt ?? null,
        },
      };
    }
    return notFound(method, path);
  };

  const route = (request: FakeRequest, rest: string, body: Json): Reply => {
    const [, service = '', path = '/'] = /^\/([^/]+)(\/.*)?$/.exec(rest) ?? [];
    if (service === 'gateway') return gateway(request.method, path, body);
    if (service === 'feature-store') return featureStore(request.method, path, body);
    if (service === 'app') return app(request.method, path, body);
    if (service === 'identity') return identity(request.method, path, request.query);
    return notFound(request.method, request.path);
  };

  const handle = (request: FakeRequest): FakeReply | undefined => {
    const prefix = AI_PLATFORM_FAKE_PREFIX;
    if (request.path !== prefix && !request.path.startsWith(`${prefix}/`)) return undefined;
    let body: Json = {};
    if (request.text.trim() !== '') {
      try {
        const parsed = JSON.parse(request.text) as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          return { status: 400, body: { error: 'the body must be a JSON object' } };
        }
        body = parsed as Json;
      } catch {
        return { status: 400, body: { error: 'the body is not JSON' } };
      }
    }
    const key = request.headers['idempotency-key'];
    const fingerprint = `${request.method} ${request.path} ${request.text}`;
    if (typeof key === 'string' && request.method !== 'GET') {
      const earlier = replies.get(key);
      if (earlier !== undefined) {
        if (earlier.fingerprint !== fingerprint) {
          return {
            status: 422,
            body: { error: 'Idempotency-Key was already used for a different request' },
          };
        }
        return { ...earlier.reply, headers: { 'idempotent-replayed': 'true' } };
      }
    }
    const reply = route(request, request.path.slice(prefix.length), body);
    if (typeof key === 'string' && request.method !== 'GET' && reply.status < 300) {
      replies.set(key, { fingerprint, reply });
    }
    return reply;
  };

  return {
    prefix: AI_PLATFORM_FAKE_PREFIX,
    description:
      'the AI platform presets: gateway, feature store, application and identity (/platform/…)',
    handle,
  };
};

/** Stands in for the hash of a dataset version's content. */
function contentHash(dataset: string, version: number): string {
  return createHash('sha256').update(`${dataset}@v${version}`).digest('hex');
}

function decode(segment: string | undefined): string {
  return decodeURIComponent(segment ?? '');
}

/** A 400 naming the first required body field that is missing or empty. */
function need(body: Json, fields: readonly string[]): Reply | undefined {
  const missing = fields.find((field) => typeof body[field] !== 'string' || body[field] === '');
  return missing === undefined
    ? undefined
    : { status: 400, body: { error: `${missing} is required (a non-empty string)` } };
}

function notFound(method: string, path: string): Reply {
  return { status: 404, body: { error: `no such API: ${method} ${path}` } };
}

function notAllowed(method: string, path: string): Reply {
  return { status: 405, body: { error: `${method} is not allowed on ${path}` } };
}
