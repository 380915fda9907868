import type { AlertType, NormalizedAlert } from './alert.js';
import type { ModelTier } from './inventory.js';
import type { SourcePosition } from './source-position.js';

/**
 * The master playbook's dispatch table: an alert goes to the playbook of the
 * first route whose match it satisfies, else to the default playbook, else
 * to none. Pure: loading lives in config/, playbook ids are checked against
 * the loaded playbooks by the caller (see `unknownPlaybookIds`).
 */

/** The alert metadata a route can match on, in the order routes are checked. */
export const ROUTE_MATCH_KEYS = ['type', 'business_unit', 'environment', 'tier', 'model'] as const;
export type RouteMatchKey = (typeof ROUTE_MATCH_KEYS)[number];

export type RouteTier = ModelTier | 'untiered';

/**
 * Every key is optional; a route matches when each key it names matches
 * (AND), and a key matches when the alert's value is any of those listed (OR).
 */
export interface RouteMatch {
  readonly type?: readonly AlertType[];
  readonly business_unit?: readonly string[];
  readonly environment?: readonly string[];
  /** `untiered` matches alerts whose model the inventory does not know. */
  readonly tier?: readonly RouteTier[];
  /** Model ids from the inventory. */
  readonly model?: readonly string[];
}

export interface PlaybookRoute {
  readonly name?: string;
  readonly match: RouteMatch;
  readonly playbook: string;
  /** Where the route is written, when it was read from a file. */
  readonly source?: SourcePosition;
}

export interface PlaybookRouter {
  /** The file it was read from; undefined when there is none. */
  readonly file?: string;
  /** First match wins. */
  readonly routes: readonly PlaybookRoute[];
  /** For alerts no route matches; none means such alerts get no playbook. */
  readonly defaultPlaybook?: string;
  readonly defaultSource?: SourcePosition;
}

export const EMPTY_ROUTER: PlaybookRouter = Object.freeze({ routes: Object.freeze([]) });

/** What the router looks at. */
export type RoutingSubject = Pick<NormalizedAlert, 'type'> & {
  readonly enrichment: Pick<
    NormalizedAlert['enrichment'],
    'businessUnit' | 'environment' | 'tier' | 'modelId'
  >;
};

/** A key the alert did not satisfy: what the route wanted, what the alert had. */
export interface RouteKeyMismatch {
  readonly key: RouteMatchKey;
  readonly expected: readonly (string | number)[];
  /** undefined when the alert has no such value (e.g. no model matched, so no environment). */
  readonly actual: string | number | undefined;
}

export interface RouteCheck {
  readonly index: number;
  /** The route's name, else `routes[index]`. */
  readonly name: string;
  readonly playbook: string;
  readonly source?: SourcePosition;
  /** `not_reached`: an earlier route matched first. */
  readonly outcome: 'matched' | 'failed' | 'not_reached';
  /** Keys the route names that the alert satisfied (empty when not reached). */
  readonly matchedKeys: readonly RouteMatchKey[];
  /** Every key that failed; empty unless the outcome is `failed`. */
  readonly mismatches: readonly RouteKeyMismatch[];
}

export interface RoutingResult {
  /** undefined: no route matched and there is no default. */
  readonly playbookId: string | undefined;
  readonly via: 'route' | 'default' | 'none';
  /** The matching route, when `via` is `route`. */
  readonly route?: { readonly index: number; readonly name: string };
  /** One sentence saying why. */
  readonly reason: string;
  /** One per route, in order. */
  readonly checks: readonly RouteCheck[];
}

export function routeName(route: PlaybookRoute, index: number): string {
  return route.name ?? `routes[${index}]`;
}

function alertValue(alert: RoutingSubject, key: RouteMatchKey): string | number | undefined {
  const { enrichment } = alert;
  switch (key) {
    case 'type':
      return alert.type;
    case 'business_unit':
      return enrichment.businessUnit;
    case 'environment':
      return enrichment.environment;
    case 'tier':
      return enrichment.tier ?? 'untiered';
    case 'model':
      return enrichment.modelId;
  }
}

function checkRoute(
  alert: RoutingSubject,
  route: PlaybookRoute,
  index: number,
): Omit<RouteCheck, 'outcome'> & { matches: boolean } {
  const matchedKeys: RouteMatchKey[] = [];
  const mismatches: RouteKeyMismatch[] = [];
  for (const key of ROUTE_MATCH_KEYS) {
    const expected: readonly (string | number)[] | undefined = route.match[key];
    if (expected === undefined) continue;
    const actual = alertValue(alert, key);
    if (actual !== undefined && expected.includes(actual)) matchedKeys.push(key);
    else mismatches.push({ key, expected, actual });
  }
  return {
    index,
    name: routeName(route, index),
    playbook: route.playbook,
    ...(route.source ? { source: route.source } : {}),
    matchedKeys,
    mismatches,
    matches: mismatches.length === 0,
  };
}

/** The playbook for an alert, with every route's verdict so `explain` can show it. */
export function routeAlert(alert: RoutingSubject, router: PlaybookRouter): RoutingResult {
  const checks: RouteCheck[] = [];
  let matched: RouteCheck | undefined;
  router.routes.forEach((route, index) => {
    if (matched) {
      checks.push({
        index,
        name: routeName(route, index),
        playbook: route.playbook,
        ...(route.source ? { source: route.source } : {}),
        outcome: 'not_reached',
        matchedKeys: [],
        mismatches: [],
      });
      return;
    }
    const { matches, ...check } = checkRoute(alert, route, index);
    const result: RouteCheck = { ...check, outcome: matches ? 'matched' : 'failed' };
    if (matches) matched = result;
    checks.push(result);
  });

  if (matched) {
    return {
      playbookId: matched.playbook,
      via: 'route',
      route: { index: matched.index, name: matched.name },
      reason: `route "${matched.name}" is the first that matches`,
      checks,
    };
  }
  const none = router.routes.length === 0 ? 'there are no routes' : 'no route matches';
  if (router.defaultPlaybook !== undefined) {
    return {
      playbookId: router.defaultPlaybook,
      via: 'default',
      reason: `${none}, so the default playbook applies`,
      checks,
    };
  }
  return {
    playbookId: undefined,
    via: 'none',
    reason: `${none} and there is no default, so the alert gets no playbook`,
    checks,
  };
}

/** A router reference to a playbook id that is not loaded. */
export interface UnknownPlaybookReference {
  readonly playbookId: string;
  /** `routes[2].playbook` or `default`. */
  readonly field: string;
  readonly source?: SourcePosition;
}

/** References to playbooks not among `knownIds`, for the caller to report. */
export function unknownPlaybookIds(
  router: PlaybookRouter,
  knownIds: Iterable<string>,
): UnknownPlaybookReference[] {
  const known = new Set(knownIds);
  const unknown: UnknownPlaybookReference[] = [];
  router.routes.forEach((route, index) => {
    if (!known.has(route.playbook)) {
      unknown.push({
        playbookId: route.playbook,
        field: `routes[${index}].playbook`,
        ...(route.source ? { source: route.source } : {}),
      });
    }
  });
  if (router.defaultPlaybook !== undefined && !known.has(router.defaultPlaybook)) {
    unknown.push({
      playbookId: router.defaultPlaybook,
      field: 'default',
      ...(router.defaultSource ? { source: router.defaultSource } : {}),
    });
  }
  return unknown;
}
