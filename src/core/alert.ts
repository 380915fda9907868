/**
 * The normalised alert: Warden's one shape for every source format.
 * Modelled on the OCSF Detection Finding (class 2004) with AI extensions
 * (model, dataset, agent tool call observables; MITRE ATLAS technique ids).
 */

export const ALERT_TYPES = [
  'prompt_injection',
  'jailbreak',
  'output_policy_violation',
  'agent_tool_anomaly',
  'model_drift',
  'model_integrity',
  'training_pipeline_anomaly',
  'inference_spike',
  'data_poisoning',
  'data_exfiltration',
  'cost_harvesting',
  'credential_misuse',
  'other',
] as const;

export type AlertType = (typeof ALERT_TYPES)[number];

export function isAlertType(value: unknown): value is AlertType {
  return typeof value === 'string' && (ALERT_TYPES as readonly string[]).includes(value);
}

/** OCSF `severity_id` values 0–6, index = id. */
export const SEVERITY_LABELS = [
  'Unknown',
  'Informational',
  'Low',
  'Medium',
  'High',
  'Critical',
  'Fatal',
] as const;

export type SeverityId = 0 | 1 | 2 | 3 | 4 | 5 | 6;
export type SeverityLabel = (typeof SEVERITY_LABELS)[number];

export function severityLabel(id: SeverityId): SeverityLabel {
  return SEVERITY_LABELS[id];
}

export function isSeverityId(value: unknown): value is SeverityId {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 6;
}

/** Accepts an OCSF label ("High") or a lower-case one ("high"); undefined when unknown. */
export function severityIdFromLabel(label: string): SeverityId | undefined {
  const index = SEVERITY_LABELS.findIndex((l) => l.toLowerCase() === label.toLowerCase());
  return index >= 0 ? (index as SeverityId) : undefined;
}

export interface AlertSource {
  /** Source format that parsed the payload, e.g. `native`, `ocsf`. */
  format: string;
  product: string;
  vendor: string;
  /** The emitting tool's own id for this finding, when it has one. */
  uid?: string;
}

export interface ModelObservable {
  id: string;
  version?: string;
  endpoint?: string;
  /** SHA-256 of the deployed artifact, as the integrity monitor measured it. */
  hash?: string;
}

export interface DatasetObservable {
  id: string;
  hash?: string;
  featureStore?: string;
}

export interface ToolCallObservable {
  name: string;
  arguments?: unknown;
}

/** Everything in an alert a case can be correlated on or a responder can act on. */
export interface AlertObservables {
  ips: string[];
  cidrs: string[];
  users: string[];
  apiKeyIds: string[];
  sessionIds: string[];
  urls: string[];
  model?: ModelObservable;
  dataset?: DatasetObservable;
  toolCalls: ToolCallObservable[];
}

export function emptyObservables(): AlertObservables {
  return { ips: [], cidrs: [], users: [], apiKeyIds: [], sessionIds: [], urls: [], toolCalls: [] };
}

/** What a source format produces: a normalised alert before Warden assigns identity. */
export interface AlertDraft {
  source: AlertSource;
  type: AlertType;
  title: string;
  description?: string;
  severityId: SeverityId;
  /** 0–100 */
  confidence?: number;
  /** ISO-8601 */
  firstSeen: string;
  /** ISO-8601 */
  lastSeen: string;
  /** How many occurrences the source itself folded into this one payload. */
  count: number;
  /**
   * `count` is the source's running total for this finding (it resends the
   * finding, updated, with the new total), not new occurrences: a repeat
   * adds only the difference.
   */
  countIsTotal?: boolean;
  /**
   * The business unit the sender says the alert belongs to (sender context);
   * enrichment uses it, when the inventory knows the unit, for an alert it
   * attributes to no model.
   */
  businessUnit?: string;
  observables: AlertObservables;
  atlasTechniques: string[];
  /** Set by formats that carry an explicit deduplication key. */
  dedupKey?: string;
  /** The payload exactly as received (parsed JSON). */
  raw: unknown;
}

export interface AlertEnrichment {
  modelId?: string;
  modelName?: string;
  businessUnit?: string;
  tier?: 1 | 2 | 3;
  owner?: string;
  environment?: string;
  /** Other models reading a dataset or feature store this alert's model reads. */
  blastRadius: string[];
  /** Allow-list entries that matched one of the alert's addresses. */
  allowlisted: AllowlistMatch[];
}

export interface AllowlistMatch {
  list: string;
  cidr: string;
  ip: string;
  reason?: string;
}

export interface NormalizedAlert extends Omit<AlertDraft, 'dedupKey'> {
  id: string;
  dedupKey: string;
  severity: SeverityLabel;
  receivedAt: string;
  enrichment: AlertEnrichment;
  caseId?: string;
}

/** Everything Warden derived from an alert, without the raw payload. */
export type AlertFacts = Omit<NormalizedAlert, 'raw'>;

/**
 * An alert ready to store, its JSON already written: serialising is the
 * costly part of storing an alert, and it can happen away from the writer.
 */
export interface EncodedAlert {
  /** May be parsed from `doc` on each read (an alert handed across threads): read it once. */
  alert: AlertFacts;
  /**
   * JSON of `alert`. Case id, count and last-seen change after the alert is
   * stored, so a store keeps those in its own fields and they win over `doc`.
   */
  doc: string;
  /** The payload as received, as JSON text (verbatim when the caller has the text). */
  raw: string;
}

/** Descriptions shorter than this are kept in the document even when the payload has them. */
const DESCRIPTION_REFERENCE_MIN = 200;

/**
 * Where in the stored payload text an alert's description is, as the
 * document keeps it instead of the text itself: `[start, end)` of its JSON
 * string literal.
 */
interface DescriptionReference {
  descriptionAt?: [number, number];
}

export function encodeAlert(alert: NormalizedAlert, rawText?: string): EncodedAlert {
  const { raw, ...facts } = alert;
  return encodeFacts(facts, raw, rawText);
}

/** `encodeAlert` for an alert already apart from its payload. */
export function encodeFacts(facts: AlertFacts, raw: unknown, rawText?: string): EncodedAlert {
  return {
    alert: facts,
    doc: rawText === undefined ? JSON.stringify(facts) : documentOf(facts, rawText),
    raw: rawText ?? JSON.stringify(raw) ?? 'null',
  };
}

/**
 * The alert's JSON. A long description that the payload carries (as a JSON
 * string literal, however it escapes it) is stored once, in the payload: the
 * document points at it. That is a third of a typical alert's stored bytes.
 */
function documentOf(facts: AlertFacts, rawText: string): string {
  const { description } = facts;
  if (description === undefined || description.length < DESCRIPTION_REFERENCE_MIN) {
    return JSON.stringify(facts);
  }
  const at = stringLiteralIn(rawText, description);
  if (at === undefined) return JSON.stringify(facts);
  const { description: _inPayload, ...rest } = facts;
  const reference: DescriptionReference = { descriptionAt: at };
  return JSON.stringify({ ...rest, ...reference });
}

/** Characters of a string whose JSON spelling is searched for before the whole literal is checked. */
const LITERAL_PROBE = 48;

/**
 * Where `text` (JSON) holds a string literal whose value is `value`: its
 * `[start, end)`, quotes included. Found by the literal's first characters
 * and then checked whole: writing out a long literal to search for costs
 * several times the search.
 */
export function stringLiteralIn(text: string, value: string): [number, number] | undefined {
  // A probe that ended between a surrogate pair would be written as an escape.
  const cut = isHighSurrogate(value.charCodeAt(LITERAL_PROBE - 1))
    ? LITERAL_PROBE - 1
    : LITERAL_PROBE;
  const probe = JSON.stringify(value.slice(0, cut)).slice(0, -1);
  for (let start = text.indexOf(probe); start >= 0; start = text.indexOf(probe, start + 1)) {
    const close = closingQuote(text, start + probe.length);
    if (close < 0) return undefined;
    // Escapes only lengthen a literal.
    if (close - start - 1 < value.length) continue;
    const inner = text.slice(start + 1, close);
    if (inner.includes('\\') ? parsedString(`"${inner}"`) === value : inner === value) {
      return [start, close + 1];
    }
  }
  return undefined;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The first unescaped `"` at or after `from`, or -1. */
function closingQuote(text: string, from: number): number {
  for (let at = text.indexOf('"', from); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}

function parsedString(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}

/** An alert's document as stored with its payload text: the description put back where it points. */
export function decodeAlertDoc<T extends AlertFacts>(doc: string, rawText: string): T {
  const parsed = JSON.parse(doc) as T & DescriptionReference;
  const at = parsed.descriptionAt;
  if (at === undefined) return parsed;
  const { descriptionAt: _at, ...alert } = parsed;
  (alert as AlertFacts).description = JSON.parse(rawText.slice(at[0], at[1])) as string;
  return alert as unknown as T;
}

class TextOnlyAlert implements EncodedAlert {
  constructor(
    readonly doc: string,
    readonly raw: string,
  ) {}

  get alert(): AlertFacts {
    return decodeAlertDoc(this.doc, this.raw);
  }
}

/**
 * The alert's facts as dedup, correlation and the store's columns read them:
 * a description stored by reference into the payload is left unread (none of
 * them reads it), which spares parsing it and copying the rest. Anything
 * that hands the alert on (a playbook's input) reads `alert` instead.
 */
export function linkingFactsOf(encoded: EncodedAlert): AlertFacts {
  return encoded instanceof TextOnlyAlert ? (JSON.parse(encoded.doc) as AlertFacts) : encoded.alert;
}

/**
 * An encoded alert that keeps only its text and parses `doc` on each read of
 * `alert`, so the parsed object lives only while someone works on it, not
 * while the alert waits for its commit (the garbage collector copies what
 * lives long, and parsing is cheaper than that).
 */
export function textOnlyAlert(doc: string, raw: string): EncodedAlert {
  return new TextOnlyAlert(doc, raw);
}
