import type { JsonValue } from '../connector.js';
import {
  matchStixPattern,
  parseStixPattern,
  prepareObservables,
  type Observables,
  type PatternParse,
} from './stix-pattern.js';

/**
 * STIX 2.1 indicators as a feed delivers them (a bundle, or the objects of
 * TAXII 2.1 envelopes) and matching them against a call's observables.
 * Pure: the feed connector does the reading and keeps the clock.
 */

export interface KillChainPhase {
  readonly kill_chain_name: string;
  readonly phase_name: string;
}

export interface FeedIndicator {
  readonly id: string;
  readonly name: string | null;
  readonly pattern: string;
  readonly patternType: string;
  readonly indicatorTypes: readonly string[];
  readonly confidence: number | null;
  readonly labels: readonly string[];
  /** Epoch ms; null when the indicator does not say. */
  readonly validFrom: number | null;
  readonly validUntil: number | null;
  readonly validUntilText: string | null;
  readonly revoked: boolean;
  readonly modified: number;
  readonly killChainPhases: readonly KillChainPhase[];
  /** External ids of `mitre-atlas` references (`AML.T0051`). */
  readonly atlasTechniques: readonly string[];
  /** Parsed once when the feed is read. */
  readonly parse: PatternParse;
}

/** One page of a feed: a STIX bundle or a TAXII 2.1 envelope. */
export interface FeedPage {
  readonly objects: readonly unknown[];
  /** TAXII: more pages follow, fetched with `?next=<next>`. */
  readonly more: boolean;
  readonly next: string | undefined;
}

/**
 * Reads a parsed JSON body as a bundle (`{"type":"bundle","objects":[…]}`)
 * or a TAXII envelope (`{"more":true,"next":"…","objects":[…]}`, objects
 * absent when empty). Undefined when it is neither.
 */
export function readFeedPage(body: unknown): FeedPage | undefined {
  if (!isObject(body)) return undefined;
  const { objects, more, next, type } = body;
  if (objects !== undefined && !Array.isArray(objects)) return undefined;
  if (type !== undefined && type !== 'bundle') return undefined;
  const envelopeKeys = Object.keys(body).every((key) =>
    ['objects', 'more', 'next', 'type', 'id', 'spec_version'].includes(key),
  );
  if (objects === undefined && !envelopeKeys) return undefined;
  if (more !== undefined && typeof more !== 'boolean') return undefined;
  return {
    objects: (objects as unknown[] | undefined) ?? [],
    more: more === true,
    next: typeof next === 'string' && next !== '' ? next : undefined,
  };
}

/**
 * The indicators among `objects`, the latest version of each id (by
 * `modified`); other object types and malformed indicators are left out.
 */
export function collectIndicators(objects: Iterable<unknown>): FeedIndicator[] {
  const byId = new Map<string, FeedIndicator>();
  for (const object of objects) {
    const indicator = readIndicator(object);
    if (indicator === undefined) continue;
    const known = byId.get(indicator.id);
    if (known === undefined || indicator.modified >= known.modified) {
      byId.set(indicator.id, indicator);
    }
  }
  return [...byId.values()];
}

function readIndicator(object: unknown): FeedIndicator | undefined {
  if (!isObject(object) || object.type !== 'indicator') return undefined;
  const { id, pattern } = object;
  if (typeof id !== 'string' || typeof pattern !== 'string') return undefined;
  const patternType = typeof object.pattern_type === 'string' ? object.pattern_type : 'stix';
  const validUntilText = typeof object.valid_until === 'string' ? object.valid_until : null;
  const parse: PatternParse =
    patternType === 'stix'
      ? parseStixPattern(pattern)
      : { ok: false, kind: 'unsupported', reason: `pattern_type ${patternType}` };
  return {
    id,
    name: typeof object.name === 'string' ? object.name : null,
    pattern,
    patternType,
    indicatorTypes: strings(object.indicator_types),
    confidence:
      typeof object.confidence === 'number' && Number.isInteger(object.confidence)
        ? object.confidence
        : null,
    labels: strings(object.labels),
    validFrom: time(object.valid_from),
    validUntil: time(object.valid_until),
    validUntilText,
    revoked: object.revoked === true,
    modified: time(object.modified) ?? time(object.created) ?? 0,
    killChainPhases: killChainPhases(object.kill_chain_phases),
    atlasTechniques: atlasTechniques(object.external_references),
    parse,
  };
}

/** Not revoked, already valid and not yet expired at `now`. */
export function isActive(indicator: FeedIndicator, now: number): boolean {
  if (indicator.revoked) return false;
  if (indicator.validFrom !== null && indicator.validFrom > now) return false;
  return indicator.validUntil === null || indicator.validUntil > now;
}

export interface IndicatorMatch {
  readonly indicator_id: string;
  readonly name: string | null;
  readonly pattern: string;
  readonly matched_value: string;
  readonly indicator_types: readonly string[];
  readonly confidence: number | null;
  readonly labels: readonly string[];
  readonly valid_until: string | null;
  readonly kill_chain_phases: readonly KillChainPhase[];
  readonly atlas_techniques: readonly string[];
}

export interface MatchSummary {
  readonly matches: IndicatorMatch[];
  /** Active indicators (not revoked, within their validity). */
  readonly active: number;
  /** Active indicators whose pattern this matcher cannot evaluate. */
  readonly unsupported: number;
}

/** One match per (active indicator, observable that makes its pattern match). */
export function matchIndicators(
  indicators: readonly FeedIndicator[],
  observables: Observables,
  now: number,
): MatchSummary {
  const prepared = prepareObservables(observables);
  const matches: IndicatorMatch[] = [];
  let active = 0;
  let unsupported = 0;
  for (const indicator of indicators) {
    if (!isActive(indicator, now)) continue;
    active += 1;
    if (!indicator.parse.ok) {
      unsupported += 1;
      continue;
    }
    for (const value of matchStixPattern(indicator.parse.pattern, prepared)) {
      matches.push({
        indicator_id: indicator.id,
        name: indicator.name,
        pattern: indicator.pattern,
        matched_value: value,
        indicator_types: indicator.indicatorTypes,
        confidence: indicator.confidence,
        labels: indicator.labels,
        valid_until: indicator.validUntilText,
        kill_chain_phases: indicator.killChainPhases,
        atlas_techniques: indicator.atlasTechniques,
      });
    }
  }
  return { matches, active, unsupported };
}

/** As JSON for a connector output. */
export function matchAsJson(match: IndicatorMatch): JsonValue {
  return {
    ...match,
    indicator_types: [...match.indicator_types],
    labels: [...match.labels],
    kill_chain_phases: match.kill_chain_phases.map((phase) => ({ ...phase })),
    atlas_techniques: [...match.atlas_techniques],
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : [];
}

function time(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function killChainPhases(value: unknown): KillChainPhase[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((phase) =>
    isObject(phase) &&
    typeof phase.kill_chain_name === 'string' &&
    typeof phase.phase_name === 'string'
      ? [{ kill_chain_name: phase.kill_chain_name, phase_name: phase.phase_name }]
      : [],
  );
}

function atlasTechniques(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const ids = value.flatMap((reference) =>
    isObject(reference) &&
    reference.source_name === 'mitre-atlas' &&
    typeof reference.external_id === 'string'
      ? [reference.external_id]
      : [],
  );
  return [...new Set(ids)];
}
