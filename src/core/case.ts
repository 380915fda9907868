import {
  severityLabel,
  type AlertType,
  type AllowlistMatch,
  type AlertFacts,
  type SeverityId,
  type SeverityLabel,
} from './alert.js';
import { caseSeverityOf } from './case-severity.js';
import { WardenError, invalidField } from './errors.js';
import type { ModelTier } from './inventory.js';
import { normalizeCidrText, sourceRangeOf } from './ip-range.js';

/** NIST SP 800-61 incident-handling phases. */
export const CASE_PHASES = [
  'detection_analysis',
  'containment',
  'eradication',
  'recovery',
  'post_incident',
] as const;
export type CasePhase = (typeof CASE_PHASES)[number];

export const CASE_STATUSES = ['open', 'in_progress', 'closed'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export const CLOSURE_REASONS = [
  'true_positive_contained',
  'true_positive_not_contained',
  'benign',
  'false_positive',
  'duplicate',
] as const;
export type ClosureReason = (typeof CLOSURE_REASONS)[number];

/** How many distinct values of one observable kind a case keeps. */
export const CASE_OBSERVABLE_LIMIT = 100;

/**
 * How many correlation keys the case document remembers (to restore them on
 * reopen). The store's key index holds all of them while the case is open.
 */
export const CASE_CORRELATION_KEY_LIMIT = 1000;

export interface CaseObservables {
  ips: string[];
  sourceRanges: string[];
  users: string[];
  apiKeyIds: string[];
  sessionIds: string[];
  datasets: string[];
  datasetHashes: string[];
  toolCalls: string[];
  urls: string[];
}

export interface Case {
  id: string;
  number: number;
  title: string;
  status: CaseStatus;
  phase: CasePhase;
  severityId: SeverityId;
  severity: SeverityLabel;
  severityReason: string;
  /**
   * Who chose the severity when not the policy (a playbook's `case` step):
   * alerts linked later then leave it as chosen instead of recomputing it.
   */
  severitySetBy?: string;
  tier: ModelTier | null;
  businessUnit: string | null;
  modelIds: string[];
  owner: string | null;
  assignee: string | null;
  alertTypes: AlertType[];
  atlasTechniques: string[];
  observables: CaseObservables;
  blastRadius: string[];
  allowlisted: AllowlistMatch[];
  /** Every linked alert came from an allow-listed source range. */
  allAllowlisted: boolean;
  /** Distinct alerts linked. */
  alertCount: number;
  /** Occurrences, counting repeats folded into an alert. */
  eventCount: number;
  maxAlertSeverityId: SeverityId;
  firstSeen: string;
  lastSeen: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closureReason: ClosureReason | null;
  closureNote: string | null;
  correlationKeys: string[];
}

export type TimelineKind =
  | 'created'
  | 'alerts_linked'
  | 'comment'
  | 'assigned'
  | 'phase_changed'
  | 'status_changed'
  | 'severity_changed'
  | 'closed'
  | 'reopened'
  | 'task'
  | 'task_done'
  | 'task_reopened'
  | 'playbook_queued'
  | 'playbook_finished'
  | 'approval_requested'
  | 'approval_answered'
  | 'action_taken'
  | 'evidence_added';

export interface TimelineEntry {
  id: string;
  caseId: string;
  at: string;
  actor: string;
  kind: TimelineKind;
  message: string;
  data: Record<string, unknown>;
}

/**
 * Sets of the values in a case's longer lists, built once per list and kept
 * up to date by `addBounded`, the only code that adds to a list in place.
 * Searching a case's correlation keys (up to 1,000) for every key of every
 * alert linked to it was a few per cent of the ingest writer's time.
 */
const listMembers = new WeakMap<string[], Set<string>>();
/** Shorter lists are searched: a set costs more to build than a few compares. */
const LIST_SET_FROM = 32;

function listHas(list: string[], value: string): boolean {
  if (list.length < LIST_SET_FROM) return list.includes(value);
  let members = listMembers.get(list);
  if (members === undefined) {
    members = new Set(list);
    listMembers.set(list, members);
  }
  return members.has(value);
}

function addBounded(into: string[], values: Iterable<string>, limit = CASE_OBSERVABLE_LIMIT): void {
  for (const value of values) {
    if (into.length >= limit) return;
    if (listHas(into, value)) continue;
    into.push(value);
    listMembers.get(into)?.add(value);
  }
}

/** Whether the case's document already holds this correlation key. */
export function caseHasCorrelationKey(c: Case, key: string): boolean {
  return listHas(c.correlationKeys, key);
}

function mergeObservables(target: CaseObservables, alert: AlertFacts, ranges: string[]): void {
  const o = alert.observables;
  addBounded(target.ips, o.ips);
  addBounded(target.sourceRanges, ranges);
  addBounded(target.users, o.users);
  addBounded(target.apiKeyIds, o.apiKeyIds);
  addBounded(target.sessionIds, o.sessionIds);
  addBounded(target.urls, o.urls);
  addBounded(
    target.toolCalls,
    o.toolCalls.map((t) => t.name),
  );
  if (o.dataset) {
    addBounded(target.datasets, [o.dataset.id]);
    if (o.dataset.hash) addBounded(target.datasetHashes, [o.dataset.hash]);
  }
}

function titleFor(alert: AlertFacts): string {
  const subject =
    alert.enrichment.modelName ?? alert.observables.model?.id ?? alert.observables.dataset?.id;
  const type = alert.type.replace(/_/g, ' ');
  return subject ? `${type} on ${subject}` : alert.title || type;
}

const minTier = (a: ModelTier | null, b: ModelTier | undefined): ModelTier | null =>
  b === undefined ? a : a === null ? b : (Math.min(a, b) as ModelTier);

function rescore(c: Case): void {
  if (c.severitySetBy !== undefined) return;
  const { severityId, reason } = caseSeverityOf({
    maxAlertSeverity: c.maxAlertSeverityId,
    alertTypes: c.alertTypes,
    tier: c.tier ?? undefined,
    allAllowlisted: c.allAllowlisted,
  });
  c.severityId = severityId;
  c.severity = severityLabel(severityId);
  c.severityReason = reason;
}

/** Every source address of the alert is allow-listed (one forged allow-listed address is not enough). */
function fromAllowlistedSourcesOnly(alert: AlertFacts): boolean {
  const ips = alert.observables.ips;
  const listed = new Set(alert.enrichment.allowlisted.map((m) => m.ip));
  return ips.length > 0 && ips.every((ip) => listed.has(ip));
}

function sourceRangesOf(alert: AlertFacts): string[] {
  const ranges = alert.observables.ips
    .map(sourceRangeOf)
    .filter((r): r is string => r !== undefined);
  return [...ranges, ...alert.observables.cidrs.map(normalizeCidrText)];
}

export interface NewCaseIdentity {
  id: string;
  number: number;
  now: string;
}

export function openCaseFor(
  alert: AlertFacts,
  keys: readonly string[],
  identity: NewCaseIdentity,
): Case {
  const e = alert.enrichment;
  const c: Case = {
    id: identity.id,
    number: identity.number,
    title: titleFor(alert),
    status: 'open',
    phase: 'detection_analysis',
    severityId: alert.severityId,
    severity: alert.severity,
    severityReason: '',
    tier: e.tier ?? null,
    businessUnit: e.businessUnit ?? null,
    modelIds: e.modelId ? [e.modelId] : [],
    owner: e.owner ?? null,
    assignee: null,
    alertTypes: [alert.type],
    atlasTechniques: [...alert.atlasTechniques],
    observables: {
      ips: [],
      sourceRanges: [],
      users: [],
      apiKeyIds: [],
      sessionIds: [],
      datasets: [],
      datasetHashes: [],
      toolCalls: [],
      urls: [],
    },
    blastRadius: [...e.blastRadius],
    allowlisted: [],
    allAllowlisted: fromAllowlistedSourcesOnly(alert),
    alertCount: 1,
    eventCount: alert.count,
    maxAlertSeverityId: alert.severityId,
    firstSeen: alert.firstSeen,
    lastSeen: alert.lastSeen,
    createdAt: identity.now,
    updatedAt: identity.now,
    closedAt: null,
    closureReason: null,
    closureNote: null,
    correlationKeys: [...keys],
  };
  mergeObservables(c.observables, alert, sourceRangesOf(alert));
  addAllowlisted(c, alert.enrichment.allowlisted);
  rescore(c);
  return c;
}

function addAllowlisted(c: Case, matches: readonly AllowlistMatch[]): void {
  for (const m of matches) {
    if (c.allowlisted.length >= CASE_OBSERVABLE_LIMIT) return;
    if (!c.allowlisted.some((x) => x.list === m.list && x.ip === m.ip)) c.allowlisted.push(m);
  }
}

/** Fold one more alert into an open case (mutates and returns it). */
export function linkAlertToCase(
  c: Case,
  alert: AlertFacts,
  keys: readonly string[],
  now: string,
): Case {
  const e = alert.enrichment;
  c.alertCount += 1;
  c.eventCount += alert.count;
  if (alert.severityId > c.maxAlertSeverityId) c.maxAlertSeverityId = alert.severityId;
  if (!c.alertTypes.includes(alert.type)) c.alertTypes.push(alert.type);
  addBounded(c.atlasTechniques, alert.atlasTechniques);
  if (e.modelId && !c.modelIds.includes(e.modelId)) c.modelIds.push(e.modelId);
  const tier = minTier(c.tier, e.tier);
  if (tier !== c.tier && e.tier !== undefined) {
    c.businessUnit = e.businessUnit ?? c.businessUnit;
    c.owner = e.owner ?? c.owner;
  }
  c.tier = tier;
  c.businessUnit ??= e.businessUnit ?? null;
  c.owner ??= e.owner ?? null;
  addBounded(
    c.blastRadius,
    e.blastRadius.filter((m) => !c.modelIds.includes(m)),
  );
  c.blastRadius = c.blastRadius.filter((m) => !c.modelIds.includes(m));
  addAllowlisted(c, e.allowlisted);
  c.allAllowlisted = c.allAllowlisted && fromAllowlistedSourcesOnly(alert);
  mergeObservables(c.observables, alert, sourceRangesOf(alert));
  addBounded(c.correlationKeys, keys, CASE_CORRELATION_KEY_LIMIT);
  if (alert.firstSeen < c.firstSeen) c.firstSeen = alert.firstSeen;
  if (alert.lastSeen > c.lastSeen) c.lastSeen = alert.lastSeen;
  c.updatedAt = now;
  rescore(c);
  return c;
}

/** A repeat of an alert already on the case: more events, later last-seen. */
export function recordRepeatOnCase(c: Case, count: number, lastSeen: string, now: string): Case {
  c.eventCount += count;
  if (lastSeen > c.lastSeen) c.lastSeen = lastSeen;
  c.updatedAt = now;
  return c;
}

export interface CaseUpdate {
  assignee?: string | null;
  phase?: CasePhase;
  status?: Exclude<CaseStatus, 'closed'>;
}

export interface CaseChange {
  kind: TimelineKind;
  message: string;
  data: Record<string, unknown>;
}

function assertOpen(c: Case): void {
  if (c.status === 'closed') {
    throw new WardenError('case_closed', `case ${c.id} is closed; reopen it first`);
  }
}

/**
 * Apply an analyst's update; returns the changes made, one per field that
 * actually changed (so that a no-op update leaves no timeline noise).
 */
export function applyCaseUpdate(c: Case, update: CaseUpdate, now: string): CaseChange[] {
  assertOpen(c);
  // Validate everything before changing anything: a rejected update leaves the case as it was.
  if (update.phase !== undefined && !(CASE_PHASES as readonly string[]).includes(update.phase)) {
    throw invalidField('phase', `must be one of ${CASE_PHASES.join(', ')}`, 'case update');
  }
  if (update.status !== undefined && update.status !== 'open' && update.status !== 'in_progress') {
    throw invalidField(
      'status',
      'must be open or in_progress (close a case with its reason)',
      'case update',
    );
  }
  const changes: CaseChange[] = [];
  if (update.assignee !== undefined && update.assignee !== c.assignee) {
    changes.push({
      kind: 'assigned',
      message: update.assignee ? `assigned to ${update.assignee}` : 'unassigned',
      data: { from: c.assignee, to: update.assignee },
    });
    c.assignee = update.assignee;
    if (update.assignee && c.status === 'open' && update.status === undefined) {
      changes.push({
        kind: 'status_changed',
        message: 'status open → in_progress',
        data: { from: 'open', to: 'in_progress' },
      });
      c.status = 'in_progress';
    }
  }
  if (update.phase !== undefined && update.phase !== c.phase) {
    changes.push({
      kind: 'phase_changed',
      message: `phase ${c.phase} → ${update.phase}`,
      data: { from: c.phase, to: update.phase },
    });
    c.phase = update.phase;
  }
  if (update.status !== undefined && update.status !== c.status) {
    changes.push({
      kind: 'status_changed',
      message: `status ${c.status} → ${update.status}`,
      data: { from: c.status, to: update.status },
    });
    c.status = update.status;
  }
  if (changes.length > 0) c.updatedAt = now;
  return changes;
}

export function closeCase(
  c: Case,
  reason: ClosureReason,
  note: string | null,
  now: string,
): CaseChange {
  assertOpen(c);
  if (!(CLOSURE_REASONS as readonly string[]).includes(reason)) {
    throw invalidField('reason', `must be one of ${CLOSURE_REASONS.join(', ')}`, 'case close');
  }
  c.status = 'closed';
  c.closedAt = now;
  c.closureReason = reason;
  c.closureNote = note;
  c.updatedAt = now;
  return {
    kind: 'closed',
    message: `closed: ${reason}${note ? ` — ${note}` : ''}`,
    data: { reason, note },
  };
}

export function reopenCase(c: Case, note: string | null, now: string): CaseChange {
  if (c.status !== 'closed') throw new WardenError('conflict', `case ${c.id} is not closed`);
  const previous = c.closureReason;
  c.status = 'open';
  c.closedAt = null;
  c.closureReason = null;
  c.closureNote = null;
  c.updatedAt = now;
  return {
    kind: 'reopened',
    message: `reopened${note ? `: ${note}` : ''}`,
    data: { previousReason: previous, note },
  };
}

/**
 * Who changes each field of a case: alerts joining it (`alerts`), or the
 * people and playbooks working it (`workflow`); `severity` is the policy's
 * unless a playbook set it. The ingest pipeline may hold the alert side of a
 * busy case in memory for a moment before writing it; when someone else
 * wrote the case meanwhile, `withWorkflowOf` keeps both sides. Every field
 * must be listed, so a new one cannot be forgotten here.
 */
const CASE_FIELD_SIDES: Readonly<
  Record<keyof Case, 'identity' | 'alerts' | 'workflow' | 'severity'>
> = {
  id: 'identity',
  number: 'identity',
  createdAt: 'identity',
  title: 'alerts',
  tier: 'alerts',
  businessUnit: 'alerts',
  modelIds: 'alerts',
  owner: 'alerts',
  alertTypes: 'alerts',
  atlasTechniques: 'alerts',
  observables: 'alerts',
  blastRadius: 'alerts',
  allowlisted: 'alerts',
  allAllowlisted: 'alerts',
  alertCount: 'alerts',
  eventCount: 'alerts',
  maxAlertSeverityId: 'alerts',
  firstSeen: 'alerts',
  lastSeen: 'alerts',
  correlationKeys: 'alerts',
  status: 'workflow',
  phase: 'workflow',
  assignee: 'workflow',
  closedAt: 'workflow',
  closureReason: 'workflow',
  closureNote: 'workflow',
  updatedAt: 'workflow',
  severityId: 'severity',
  severity: 'severity',
  severityReason: 'severity',
  severitySetBy: 'severity',
};

const WORKFLOW_FIELDS = (Object.keys(CASE_FIELD_SIDES) as (keyof Case)[]).filter(
  (k) => CASE_FIELD_SIDES[k] === 'workflow',
);

/**
 * `current` (a case as alerts changed it, not yet written) with the workflow
 * fields of `stored` (the case as someone else wrote it meanwhile): status,
 * phase, assignee, closure, and a severity a playbook set. The severity is
 * the policy's again otherwise.
 */
export function withWorkflowOf(current: Case, stored: Case): Case {
  const merged: Record<string, unknown> = { ...current };
  for (const key of WORKFLOW_FIELDS) merged[key] = stored[key];
  const c = merged as unknown as Case;
  if (current.updatedAt > c.updatedAt) c.updatedAt = current.updatedAt;
  delete c.severitySetBy;
  if (stored.severitySetBy !== undefined) {
    c.severitySetBy = stored.severitySetBy;
    c.severityId = stored.severityId;
    c.severity = stored.severity;
    c.severityReason = stored.severityReason;
  } else {
    rescore(c);
  }
  return c;
}

/** What the stored alerts of a case add up to. */
export interface CaseAlertTotals {
  alertCount: number;
  eventCount: number;
  firstSeen: string;
  lastSeen: string;
}

/**
 * A case rebuilt from its last written state and the alerts linked to it
 * since (after a crash or a rolled-back transaction lost what was held in
 * memory). Linking an alert twice changes nothing but the counts, which come
 * from `totals`, so `alerts` may include some the written case already had.
 */
export function rebuildCaseFromAlerts(
  written: Case,
  alerts: Iterable<{ alert: AlertFacts; keys: readonly string[] }>,
  totals: CaseAlertTotals,
): Case {
  const c = structuredClone(written);
  for (const { alert, keys } of alerts) {
    const updatedAt = c.updatedAt > alert.receivedAt ? c.updatedAt : alert.receivedAt;
    linkAlertToCase(c, alert, keys, updatedAt);
  }
  c.alertCount = totals.alertCount;
  c.eventCount = totals.eventCount;
  if (totals.firstSeen < c.firstSeen) c.firstSeen = totals.firstSeen;
  if (totals.lastSeen > c.lastSeen) c.lastSeen = totals.lastSeen;
  return c;
}
