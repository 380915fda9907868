import type { FakeReply, FakeRequest, VendorFakeFactory } from '../vendor-fake.js';

/**
 * A demo OpenC2 consumer under `/openc2`: a stateless packet filter (SLPF)
 * that keeps a rule table and an endpoint-response (ER) actuator that
 * disables accounts and denies files. It takes commands over the HTTPS
 * transfer specification in either form — the v1.1 message envelope
 * (`application/openc2+json`) or the v1.0 bare command
 * (`application/openc2-cmd+json`) — and answers in the same form with real
 * OpenC2 responses (status, status_text, results). A repeated request id
 * gets the first answer again. Point the `openc2` connector's `base_url` at
 * `http://127.0.0.1:8089/openc2`.
 */

export const OPENC2_FAKE_PREFIX = '/openc2';

const ENDPOINTS = new Set([
  OPENC2_FAKE_PREFIX,
  `${OPENC2_FAKE_PREFIX}/`,
  `${OPENC2_FAKE_PREFIX}/.well-known/openc2`,
]);

const MEDIA = {
  envelope: 'application/openc2+json;version=1.0',
  content: 'application/openc2-rsp+json;version=1.0',
} as const;

const PAIRS: Record<string, string[]> = {
  deny: ['ipv4_net', 'ipv6_net', 'file'],
  allow: ['ipv4_net', 'ipv6_net'],
  delete: ['slpf:rule_number'],
  set: ['er:account'],
  query: ['features'],
};
const FEATURES: Record<string, unknown> = {
  versions: ['1.0'],
  profiles: ['slpf', 'er'],
  pairs: PAIRS,
  rate_limit: 60,
};

interface Rule {
  readonly number: number;
  readonly action: 'deny' | 'allow';
  readonly target: string;
  readonly direction: string;
  readonly expiresAt: number | undefined;
}

interface OpenC2Answer {
  readonly status: number;
  readonly status_text?: string;
  readonly results?: Record<string, unknown>;
}

type Json = Record<string, unknown>;

export const openc2Fake: VendorFakeFactory = (record) => {
  const rules = new Map<number, Rule>();
  let nextRule = 1000;
  const accounts = new Map<string, string>();
  const deniedFiles = new Set<string>();
  /** request id → the reply it got, so a repeated command is not applied twice. */
  const answered = new Map<string, FakeReply>();

  const expireRules = (now: number): void => {
    for (const [number, rule] of rules) {
      if (rule.expiresAt !== undefined && rule.expiresAt <= now) rules.delete(number);
    }
  };

  const rangeRule = (verb: 'deny' | 'allow', command: Json, kind: string): OpenC2Answer => {
    const target = (command.target as Json)[kind];
    if (typeof target !== 'string' || !/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(target)) {
      return { status: 400, status_text: `${kind} must be an address or CIDR range` };
    }
    const args = asObject(command.args);
    const slpf = asObject(args.slpf);
    const direction = slpf.direction ?? 'both';
    if (typeof direction !== 'string' || !['ingress', 'egress', 'both'].includes(direction)) {
      return { status: 400, status_text: 'args.slpf.direction must be ingress, egress or both' };
    }
    if (slpf.drop_process !== undefined) {
      if (verb === 'allow') return { status: 400, status_text: 'drop_process applies to deny' };
      const drop = slpf.drop_process;
      if (typeof drop !== 'string' || !['none', 'reject', 'false_ack'].includes(drop)) {
        return {
          status: 400,
          status_text: 'args.slpf.drop_process must be none, reject or false_ack',
        };
      }
    }
    let number: number;
    if (slpf.insert_rule !== undefined) {
      if (!Number.isInteger(slpf.insert_rule)) {
        return { status: 400, status_text: 'args.slpf.insert_rule must be an integer' };
      }
      number = slpf.insert_rule as number;
      if (rules.has(number)) return { status: 400, status_text: `rule ${number} is in use` };
    } else {
      do nextRule += 1;
      while (rules.has(nextRule));
      number = nextRule;
    }
    const duration = typeof args.duration === 'number' ? args.duration : undefined;
    const rule: Rule = {
      number,
      action: verb,
      target,
      direction,
      expiresAt: duration === undefined ? undefined : Date.now() + duration,
    };
    rules.set(number, rule);
    record('openc2', verb === 'deny' ? 'denied address range' : 'allowed address range', target, {
      rule_number: number,
      direction: rule.direction,
      ...(duration === undefined
        ? {}
        : { expires_at: new Date(Date.now() + duration).toISOString() }),
    });
    return { status: 200, results: { slpf: { rule_number: number } } };
  };

  const execute = (command: Json): OpenC2Answer => {
    const action = command.action;
    const target = asObject(command.target);
    const [kind, more] = Object.keys(target);
    if (typeof action !== 'string' || kind === undefined || more !== undefined) {
      return { status: 400, status_text: 'a command needs an action and exactly one target' };
    }
    // A profile target is written er: { account: … } (nested) or er:account (prefixed).
    const nested = kind === 'er' ? Object.keys(asObject(target.er))[0] : undefined;
    const pair = nested === undefined ? kind : `er:${nested}`;
    if (!(PAIRS[action] ?? []).includes(pair)) {
      return { status: 501, status_text: `${action} ${pair} is not supported by this consumer` };
    }
    if (action === 'query') {
      const wanted = target.features;
      if (!Array.isArray(wanted)) return { status: 400, status_text: 'features must be a list' };
      const results: Record<string, unknown> = {};
      for (const feature of wanted) {
        if (typeof feature === 'string' && feature in FEATURES)
          results[feature] = FEATURES[feature];
      }
      // An empty list is a heartbeat: just the status.
      return Object.keys(results).length === 0 ? { status: 200 } : { status: 200, results };
    }
    if ((action === 'deny' || action === 'allow') && (kind === 'ipv4_net' || kind === 'ipv6_net')) {
      return rangeRule(action, command, kind);
    }
    if (action === 'delete') {
      const number = target['slpf:rule_number'];
      const rule = typeof number === 'number' ? rules.get(number) : undefined;
      if (rule === undefined)
        return { status: 404, status_text: `rule ${String(number)} does not exist` };
      rules.delete(rule.number);
      record('openc2', 'deleted rule', `#${rule.number}`, { [rule.action]: rule.target });
      return { status: 200 };
    }
    if (action === 'set') {
      const account = asObject(asObject(target.er).account ?? target['er:account']);
      const id = account.uid ?? account.account_name;
      const status = asObject(asObject(asObject(command.args).er)).account_status;
      if (typeof id !== 'string')
        return { status: 400, status_text: 'the account needs a uid or account_name' };
      if (status !== 'disabled' && status !== 'enabled') {
        return { status: 400, status_text: 'args.er.account_status must be enabled or disabled' };
      }
      accounts.set(id, status);
      record('openc2', status === 'disabled' ? 'disabled account' : 'enabled account', id, account);
      return { status: 200 };
    }
    // deny file
    const sha256 = asObject(asObject(target.file).hashes).sha256;
    if (typeof sha256 !== 'string' || !/^[A-Fa-f0-9]{64}$/.test(sha256)) {
      return { status: 400, status_text: 'file.hashes.sha256 must be a SHA-256 hex digest' };
    }
    deniedFiles.add(sha256.toLowerCase());
    record('openc2', 'denied file', sha256.toLowerCase(), { denied_files: deniedFiles.size });
    return { status: 200 };
  };

  const handle = (request: FakeRequest): FakeReply | undefined => {
    if (request.path !== OPENC2_FAKE_PREFIX && !request.path.startsWith(`${OPENC2_FAKE_PREFIX}/`)) {
      return undefined;
    }
    if (!ENDPOINTS.has(request.path)) {
      return { status: 404, body: { error: `the OpenC2 endpoint is POST ${OPENC2_FAKE_PREFIX}` } };
    }
    if (request.method !== 'POST') {
      return {
        status: 405,
        body: { error: 'OpenC2 commands are POSTed' },
        headers: { allow: 'POST' },
      };
    }
    const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
    let message: Json;
    try {
      message = asObject(JSON.parse(request.text) as unknown);
    } catch {
      return answer('content', undefined, { status: 400, status_text: 'the body is not JSON' });
    }
    const openc2 = asObject(asObject(message.body).openc2);
    const envelope = contentType.startsWith('application/openc2+json') || 'request' in openc2;
    const form = envelope ? 'envelope' : 'content';
    if (
      !contentType.startsWith('application/openc2') &&
      !contentType.startsWith('application/json')
    ) {
      return answer(form, undefined, {
        status: 400,
        status_text: `Content-Type must be ${envelope ? MEDIA.envelope : 'application/openc2-cmd+json;version=1.0'}`,
      });
    }
    const headerId = request.headers['x-request-id'];
    const requestId =
      (envelope ? stringOrUndefined(asObject(message.headers).request_id) : undefined) ??
      (typeof headerId === 'string' ? headerId : undefined);
    const command = envelope ? asObject(openc2.request) : message;
    if (requestId !== undefined) {
      const earlier = answered.get(requestId);
      if (earlier !== undefined) return earlier;
    }
    expireRules(Date.now());
    const responseRequested = asObject(command.args).response_requested;
    const result = execute(command);
    // "ack" asks only for receipt: 102 Processing, the command carries on.
    const sent: OpenC2Answer =
      responseRequested === 'ack' && result.status === 200 ? { status: 102 } : result;
    const reply = answer(form, requestId, sent);
    if (requestId !== undefined && result.status < 300) answered.set(requestId, reply);
    return reply;
  };

  return {
    prefix: OPENC2_FAKE_PREFIX,
    description:
      'an OpenC2 consumer (SLPF rule table, ER accounts and file denies) over the HTTPS transfer spec',
    handle,
  };
};

/** The response in the request's form; HTTP mirrors the OpenC2 status (102 travels as 200). */
function answer(
  form: 'envelope' | 'content',
  requestId: string | undefined,
  response: OpenC2Answer,
): FakeReply {
  const body =
    form === 'content'
      ? response
      : {
          headers: {
            ...(requestId === undefined ? {} : { request_id: requestId }),
            created: Date.now(),
            from: 'openc2-fake',
          },
          body: { openc2: { response } },
        };
  return {
    status: response.status === 102 ? 200 : response.status,
    body: JSON.stringify(body),
    contentType: MEDIA[form],
    headers: requestId === undefined ? {} : { 'x-request-id': requestId },
  };
}

function asObject(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
