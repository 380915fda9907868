/**
 * Synthetic native alerts for the benchmark: realistic observables (source
 * IPs, users, sessions, API keys, model endpoints, tool calls) plus a padding
 * `description`, about 2 KB of JSON each.
 *
 * Alerts belong to "campaigns": one attacker range hitting one model with a
 * few alert types and a pool of users. A campaign's alerts share correlation
 * keys with each other and with no other campaign, so Warden opens about one
 * case per campaign. Campaign sizes are Zipf-like (a few large cases, a long
 * tail of small ones). Within a campaign every alert is distinct (host octet ×
 * user × type), so dedup only folds the deliberate repeats (`repeatRatio`).
 */

export interface NativeAlertPayload {
  type: string;
  title: string;
  description: string;
  severity: string;
  confidence: number;
  time: string;
  source: { product: string; vendor: string; uid: string };
  atlas_techniques?: string[];
  observables: {
    ips: string[];
    users: string[];
    session_ids: string[];
    api_key_ids?: string[];
    urls: string[];
    model: { id: string; version: string; endpoint: string };
    tool_calls?: { name: string; arguments: Record<string, unknown> }[];
  };
}

export interface AlertGeneratorOptions {
  /** Seed of the deterministic PRNG. */
  seed: number;
  /** How many alerts the caller will draw; sizes the campaigns (~50 alerts per case). */
  expectedAlerts: number;
  /** @default expectedAlerts / 50 */
  campaigns?: number;
  /** Share of alerts that repeat a recent alert (same identity, later time). @default 0.1 */
  repeatRatio?: number;
  /** Length of the padding description. @default 1360 (≈ 2 KB per alert) */
  descriptionChars?: number;
}

type ModelKind = 'llm' | 'predictive';

interface ModelSpec {
  id: string;
  endpoint: string;
  kind: ModelKind;
  weight: number;
}

/** The models of examples/demo/inventory.yaml, plus two the inventory does not know. */
const MODELS: readonly ModelSpec[] = [
  {
    id: 'fraud-detection',
    endpoint: '/v1/models/fraud-detection:predict',
    kind: 'predictive',
    weight: 3,
  },
  {
    id: 'customer-churn',
    endpoint: '/v1/models/customer-churn:predict',
    kind: 'predictive',
    weight: 3,
  },
  {
    id: 'credit-risk-scoring',
    endpoint: '/v1/models/credit-risk-scoring:predict',
    kind: 'predictive',
    weight: 2,
  },
  {
    id: 'fraud-detection-canary',
    endpoint: 'https://inference-staging.bank.example/v1/models/fraud-detection:predict',
    kind: 'predictive',
    weight: 1,
  },
  {
    id: 'exp-churn-v2',
    endpoint: '/v1/models/exp-churn-v2:predict',
    kind: 'predictive',
    weight: 1,
  },
  { id: 'support-chatbot', endpoint: '/v1/chat/support', kind: 'llm', weight: 5 },
  {
    id: 'sentiment-analysis',
    endpoint: '/v1/models/sentiment-analysis:predict',
    kind: 'predictive',
    weight: 1,
  },
  {
    id: 'content-moderation',
    endpoint: '/v1/models/content-moderation:predict',
    kind: 'predictive',
    weight: 1,
  },
  {
    id: 'dev-assistant',
    endpoint: 'https://devtools.bank.example/v1/assistant/chat',
    kind: 'llm',
    weight: 2,
  },
  {
    id: 'exp-rag-search',
    endpoint: 'https://sandbox.bank.example/v1/rag/search',
    kind: 'llm',
    weight: 1,
  },
  {
    id: 'shadow-llm-gateway',
    endpoint: 'https://llm-proxy.bank.example/v1/completions',
    kind: 'llm',
    weight: 1,
  },
  {
    id: 'vendor-ocr-api',
    endpoint: 'https://ocr.vendor.example/v2/extract',
    kind: 'predictive',
    weight: 1,
  },
];

interface TypeSpec {
  type: string;
  title: (model: string) => string;
  atlas: string[];
  severities: readonly string[];
  product: string;
  toolCalls?: boolean;
}

const TYPES: Record<ModelKind, readonly TypeSpec[]> = {
  llm: [
    {
      type: 'prompt_injection',
      title: (m) => `Prompt injection attempt against ${m}`,
      atlas: ['AML.T0051.000'],
      severities: ['medium', 'high'],
      product: 'LLM Guard',
    },
    {
      type: 'jailbreak',
      title: (m) => `Jailbreak pattern in conversation with ${m}`,
      atlas: ['AML.T0054'],
      severities: ['medium', 'high', 'critical'],
      product: 'LLM Guard',
    },
    {
      type: 'output_policy_violation',
      title: (m) => `${m} response blocked by output policy`,
      atlas: [],
      severities: ['low', 'medium'],
      product: 'Output Filter',
    },
    {
      type: 'agent_tool_anomaly',
      title: (m) => `Unusual tool invocation sequence by ${m}`,
      atlas: ['AML.T0053'],
      severities: ['high', 'critical'],
      product: 'Agent Monitor',
      toolCalls: true,
    },
    {
      type: 'data_exfiltration',
      title: (m) => `Possible data leakage in ${m} output`,
      atlas: ['AML.T0057'],
      severities: ['high'],
      product: 'DLP Gateway',
    },
  ],
  predictive: [
    {
      type: 'inference_spike',
      title: (m) => `Request volume above baseline on ${m}`,
      atlas: ['AML.T0040'],
      severities: ['low', 'medium', 'high'],
      product: 'Gateway Monitor',
    },
    {
      type: 'cost_harvesting',
      title: (m) => `Query pattern consistent with cost harvesting on ${m}`,
      atlas: ['AML.T0034.000'],
      severities: ['medium'],
      product: 'Gateway Monitor',
    },
    {
      type: 'data_exfiltration',
      title: (m) => `Systematic probing consistent with model extraction of ${m}`,
      atlas: ['AML.T0024.002'],
      severities: ['high', 'critical'],
      product: 'Model Shield',
    },
    {
      type: 'credential_misuse',
      title: (m) => `API key used from unexpected network against ${m}`,
      atlas: ['AML.T0012'],
      severities: ['medium', 'high'],
      product: 'API Gateway',
    },
  ],
};

const TOOLS = ['sql_query', 'http_get', 'send_email', 'read_file', 'transfer_funds', 'web_search'];

const WORDS = (
  'the model received input containing instructions to ignore previous guidance and reveal ' +
  'system prompt contents request originated from an address outside the expected client ' +
  'population detector confidence exceeded threshold for several consecutive windows token ' +
  'usage per session was well above the rolling baseline tool invocation included parameters ' +
  'that referenced internal resources output filter redacted account numbers and personal data ' +
  'analyst review recommended before any customer impact can be ruled out gateway observed ' +
  'repeated near duplicate queries that systematically vary a single feature value'
).split(' ');

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Campaign {
  model: ModelSpec;
  types: TypeSpec[];
  /** IPv4 `a.b.c` of a /24, or an IPv6 /64 prefix ending in `::`. */
  network: { v6: boolean; prefix: string };
  users: string[];
  apiKey: string;
  vendor: string;
  /** Unique per generator seed and campaign; names its users, sessions and API key. */
  tag: string;
  /** Alerts drawn so far; their index picks the distinct host × user × type. */
  drawn: number;
}

const HOSTS = 254;

export class AlertGenerator {
  private readonly random: () => number;
  private readonly campaigns: Campaign[] = [];
  private readonly cumulative: Float64Array;
  private readonly repeatRatio: number;
  private readonly descriptionChars: number;
  private readonly corpus: string;
  private readonly recent: NativeAlertPayload[] = [];
  private recentNext = 0;
  private sequence = 0;
  private readonly uidPrefix: string;

  constructor(options: AlertGeneratorOptions) {
    this.random = prng(options.seed);
    this.repeatRatio = options.repeatRatio ?? 0.1;
    this.descriptionChars = options.descriptionChars ?? 1360;
    this.uidPrefix = `b${options.seed.toString(36)}`;
    const count = Math.max(1, options.campaigns ?? Math.round(options.expectedAlerts / 50));

    // Zipf-like sizes (s = 0.7): the largest campaign gets ~1.5% of alerts at 20k campaigns.
    this.cumulative = new Float64Array(count);
    let total = 0;
    for (let i = 0; i < count; i += 1) {
      total += 1 / Math.pow(i + 1, 0.7);
      this.cumulative[i] = total;
    }
    const uniqueAlerts = options.expectedAlerts * (1 - this.repeatRatio);
    const modelWeights = MODELS.reduce((sum, m) => sum + m.weight, 0);
    for (let i = 0; i < count; i += 1) {
      const expected = (uniqueAlerts / Math.pow(i + 1, 0.7)) * (1 / total);
      this.campaigns.push(this.newCampaign(i, options.seed, expected, modelWeights));
    }

    const words: string[] = [];
    for (let n = 0; n < 12_000; n += 1) words.push(this.pick(WORDS));
    this.corpus = words.join(' ');
  }

  /** The next alert payload (a new alert, or ~repeatRatio of the time a repeat of a recent one). */
  next(): NativeAlertPayload {
    this.sequence += 1;
    const uid = `${this.uidPrefix}-${this.sequence}`;
    const time = new Date(Date.now() - Math.floor(this.random() * 600_000)).toISOString();
    if (this.recent.length > 0 && this.random() < this.repeatRatio) {
      const original = this.pick(this.recent);
      return { ...original, time, source: { ...original.source, uid } };
    }
    const alert = this.fresh(uid, time);
    if (this.recent.length < 4096) this.recent.push(alert);
    else this.recent[this.recentNext++ % 4096] = alert;
    return alert;
  }

  nextJson(): string {
    return JSON.stringify(this.next());
  }

  /** `count` alerts as one NDJSON body. */
  ndjson(count: number): string {
    const lines: string[] = [];
    for (let i = 0; i < count; i += 1) lines.push(this.nextJson());
    return `${lines.join('\n')}\n`;
  }

  get campaignCount(): number {
    return this.campaigns.length;
  }

  private fresh(uid: string, time: string): NativeAlertPayload {
    const c = this.campaigns[this.sampleCampaign()] as Campaign;
    const j = c.drawn++;
    const host = (j % HOSTS) + 1;
    const userIndex = Math.floor(j / HOSTS) % c.users.length;
    const spec = c.types[Math.floor(j / (HOSTS * c.users.length)) % c.types.length] as TypeSpec;
    const user = c.users[userIndex] as string;
    const ip = c.network.v6
      ? `${c.network.prefix}${host.toString(16)}`
      : `${c.network.prefix}.${host}`;
    const model = c.model;
    const url = model.endpoint.startsWith('http')
      ? model.endpoint
      : `https://inference.bank.example${model.endpoint}`;
    const start = Math.floor(this.random() * (this.corpus.length - this.descriptionChars));
    const alert: NativeAlertPayload = {
      type: spec.type,
      title: spec.title(model.id),
      description: `${spec.product} flagged traffic from ${ip} (user ${user}). Detector notes: ${this.corpus.slice(start, start + this.descriptionChars)}`,
      severity: this.pick(spec.severities),
      confidence: 50 + Math.floor(this.random() * 50),
      time,
      source: { product: spec.product, vendor: c.vendor, uid },
      observables: {
        ips: [ip],
        users: [user],
        session_ids: [`sess-${c.tag}-${userIndex}`],
        urls: [url],
        model: { id: model.id, version: `v${1 + (userIndex % 4)}`, endpoint: model.endpoint },
      },
    };
    if (spec.atlas.length > 0) alert.atlas_techniques = spec.atlas;
    if (spec.type === 'credential_misuse' || spec.type === 'cost_harvesting') {
      alert.observables.api_key_ids = [c.apiKey];
    }
    if (spec.toolCalls) {
      alert.observables.tool_calls = [
        { name: this.pick(TOOLS), arguments: { target: `internal-${host}`, rows: 1000 + host } },
        { name: 'web_search', arguments: { q: 'site:bank.example customer export' } },
      ];
    }
    return alert;
  }

  private newCampaign(
    index: number,
    seed: number,
    expected: number,
    modelWeights: number,
  ): Campaign {
    let w = this.random() * modelWeights;
    let model = MODELS[0] as ModelSpec;
    for (const m of MODELS) {
      w -= m.weight;
      if (w < 0) {
        model = m;
        break;
      }
    }
    const all = TYPES[model.kind];
    const first = Math.floor(this.random() * all.length);
    const typeCount = 2 + Math.floor(this.random() * 2);
    const types = Array.from(
      { length: typeCount },
      (_, k) => all[(first + k) % all.length] as TypeSpec,
    );
    // Enough users that every alert of the campaign is a distinct host × user × type.
    const userCount = Math.max(2, Math.ceil((expected * 1.3) / (HOSTS * types.length)));
    const tag = `${seed.toString(36)}${index.toString(36)}`;
    const users = Array.from({ length: userCount }, (_, k) => `user-${tag}-${k}@customers.example`);
    // A multiplicative hash spreads campaigns over distinct-looking /24s; a few
    // come from the demo allow-listed scanner range, a few over IPv6.
    const h = Math.imul(index + seed * 7919, 0x9e3779b1) >>> 8;
    let network: Campaign['network'];
    if (index % 97 === 5) network = { v6: false, prefix: '10.20.30' };
    else if (index % 20 === 7) {
      network = {
        v6: true,
        prefix: `2001:db8:${(h >> 12).toString(16)}:${(h & 0xfff).toString(16)}::`,
      };
    } else {
      network = { v6: false, prefix: `${11 + ((h >>> 16) % 180)}.${(h >>> 8) & 255}.${h & 255}` };
    }
    return {
      model,
      types,
      network,
      users,
      apiKey: `ak_${tag}`,
      tag,
      vendor: this.random() < 0.5 ? 'Protect AI' : 'In-house',
      drawn: 0,
    };
  }

  private sampleCampaign(): number {
    const target = this.random() * (this.cumulative[this.cumulative.length - 1] as number);
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }
}
