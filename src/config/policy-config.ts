import { join } from 'node:path';
import { APPROVER_ROLES, ROLES, isRole, type Role } from '../core/access.js';
import { ALERT_TYPES, isAlertType, type AlertType } from '../core/alert.js';
import {
  ALL_TIERS,
  BUILTIN_CONTAINMENT_POLICY,
  CONTAINMENT_INTENTS,
  DEFAULT_APPROVERS,
  TIER_KEYS,
  isContainmentIntent,
  type CellKey,
  type CellsByTier,
  type ContainmentCell,
  type ContainmentIntent,
  type ContainmentPolicy,
} from '../core/containment-policy.js';
import { WardenError } from '../core/errors.js';
import type { Inventory } from '../core/inventory.js';
import type { SourcePosition } from '../core/source-position.js';
import {
  EMPTY_ROUTER,
  ROUTE_MATCH_KEYS,
  type PlaybookRoute,
  type PlaybookRouter,
  type RouteMatch,
  type RouteTier,
} from '../core/playbook-router.js';
import { deepFreeze, readIfExists, readYamlFile, YamlFile, type Fields } from './yaml-source.js';

export const POLICY_FILE = 'policy.yaml';
export const ROUTER_FILE = 'router.yaml';

/**
 * Reads `policy.yaml` from the config directory; without one, the built-in
 * policy applies. Any problem throws `invalid_config` with
 * `file:line:column: field.path problem`.
 */
export function loadContainmentPolicy(configDir: string): ContainmentPolicy {
  const path = join(configDir, POLICY_FILE);
  const text = readIfExists(path);
  if (text === undefined) return BUILTIN_CONTAINMENT_POLICY;
  rejectBareStar(path, text);
  return deepFreeze(readPolicy(new YamlFile(path, text)));
}

/** A bare `*:` is YAML alias syntax and the parser's error would not say so; say it plainly. */
function rejectBareStar(path: string, text: string): void {
  const lines = text.split('\n');
  const index = lines.findIndex((line) => /^\s*\*\s*:/.test(line));
  if (index < 0) return;
  const line = index + 1;
  const column = (lines[index]?.search(/\S/) ?? 0) + 1;
  throw new WardenError(
    'invalid_config',
    `${path}:${line}:${column}: the all-tiers key must be quoted ('*': or "*":), since a bare * starts a YAML alias`,
    { details: { file: path, line, column } },
  );
}

export interface LoadRouterOptions {
  /**
   * When given, business units, models and environments named in `match`
   * must exist in it, so a typo fails at load instead of never matching.
   */
  inventory?: Inventory;
}

/**
 * Reads `router.yaml` from the config directory; without one there are no
 * routes and no default (no alert gets a playbook). Errors as for
 * `loadContainmentPolicy`.
 */
export function loadRouter(configDir: string, options: LoadRouterOptions = {}): PlaybookRouter {
  const file = readYamlFile(join(configDir, ROUTER_FILE));
  return file === undefined ? EMPTY_ROUTER : deepFreeze(readRouter(file, options.inventory));
}

// ---------------------------------------------------------------------------
// policy.yaml

const POLICY_KEYS = ['approvers', 'announce_approvals', 'defaults', 'types'] as const;
const CELL_KEYS: readonly CellKey[] = [...TIER_KEYS, ALL_TIERS];
const CELL_FIELDS = ['automatic', 'approval', 'notify_only', 'approvers'] as const;
const INTENT_LISTS = ['automatic', 'approval', 'notify_only'] as const;

function readPolicy(file: YamlFile): ContainmentPolicy {
  const root = file.root(POLICY_KEYS);
  const approvers = root.value('approvers') === undefined ? DEFAULT_APPROVERS : readRoles(root);
  const defaults = readCells(root.section('defaults', CELL_KEYS), approvers);
  const typesSection = root.section('types', ALERT_TYPES);
  const types: Partial<Record<AlertType, CellsByTier>> = {};
  for (const type of typesSection.keys()) {
    if (!isAlertType(type)) continue; // Fields already rejected unknown keys
    types[type] = readCells(typesSection.section(type, CELL_KEYS, { required: true }), approvers);
  }
  const announceApprovals = root.stringList('announce_approvals');
  return {
    file: file.path,
    defaults,
    types,
    ...(announceApprovals.length > 0 ? { announceApprovals } : {}),
  };
}

function readCells(
  cells: Fields,
  approvers: readonly Role[],
): Partial<Record<CellKey, ContainmentCell>> {
  const result: Partial<Record<CellKey, ContainmentCell>> = {};
  for (const key of cells.keys()) {
    // An empty cell (`tier1:`) is an error rather than "forbid everything": write `{}` for that.
    const cell = cells.section(key, CELL_FIELDS, { required: true });
    result[key as CellKey] = readCell(cell, approvers, cells.position(key));
  }
  return result;
}

function readCell(
  cell: Fields,
  inherited: readonly Role[],
  source: SourcePosition,
): ContainmentCell {
  const listedIn = new Map<ContainmentIntent, string>();
  const lists = {} as Record<(typeof INTENT_LISTS)[number], ContainmentIntent[]>;
  for (const list of INTENT_LISTS) {
    lists[list] = cell.stringList(list).map((intent, index) => {
      if (!isContainmentIntent(intent)) {
        cell.failItem(
          list,
          index,
          `"${intent}" is not a containment intent (expected one of: ${CONTAINMENT_INTENTS.join(', ')})`,
        );
      }
      const first = listedIn.get(intent);
      if (first !== undefined) {
        cell.failItem(
          list,
          index,
          `"${intent}" is already listed under ${first}; an intent may appear in one list per cell`,
        );
      }
      listedIn.set(intent, list);
      return intent;
    });
  }
  return {
    automatic: lists.automatic,
    approval: lists.approval,
    notifyOnly: lists.notify_only,
    approvers: cell.value('approvers') === undefined ? inherited : readRoles(cell),
    source,
  };
}

function readRoles(fields: Fields): Role[] {
  const roles = fields.stringList('approvers', { required: true });
  return roles.map((role, index) => {
    if (!isRole(role)) {
      fields.failItem(
        'approvers',
        index,
        `"${role}" is not a role (expected one of: ${ROLES.join(', ')})`,
      );
    }
    if (!(APPROVER_ROLES as readonly string[]).includes(role)) {
      fields.failItem(
        'approvers',
        index,
        `${role} cannot approve actions (approvers are among: ${APPROVER_ROLES.join(', ')})`,
      );
    }
    if (roles.indexOf(role) !== index) fields.failItem('approvers', index, `repeats "${role}"`);
    return role;
  });
}

// ---------------------------------------------------------------------------
// router.yaml

const ROUTER_KEYS = ['routes', 'default'] as const;
const ROUTE_KEYS = ['name', 'match', 'playbook'] as const;

function readRouter(file: YamlFile, inventory: Inventory | undefined): PlaybookRouter {
  const root = file.root(ROUTER_KEYS);
  const names = new Map<string, string>();
  const routes = root.list('routes', ROUTE_KEYS).map((entry): PlaybookRoute => {
    const name = entry.optionalString('name');
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) entry.fail('name', `"${name}" is already used by ${first}`);
      names.set(name, entry.path);
    }
    return {
      ...(name === undefined ? {} : { name }),
      match: readMatch(entry, inventory),
      playbook: entry.requiredString('playbook'),
      source: entry.position(),
    };
  });
  const defaultPlaybook = root.optionalString('default');
  return {
    file: file.path,
    routes,
    ...(defaultPlaybook === undefined
      ? {}
      : { defaultPlaybook, defaultSource: root.position('default') }),
  };
}

const KNOWN_IN_INVENTORY = {
  business_unit: 'a business unit declared in inventory.yaml',
  environment: 'the environment of a model in inventory.yaml',
  model: 'a model id declared in inventory.yaml',
} as const;

function readMatch(route: Fields, inventory: Inventory | undefined): RouteMatch {
  const match = route.section('match', ROUTE_MATCH_KEYS, { required: true });
  if (match.keys().length === 0) {
    route.fail(
      'match',
      `must name at least one of ${ROUTE_MATCH_KEYS.join(', ')}; use "default:" for alerts no route matches`,
    );
  }
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

  const result: { -readonly [K in keyof RouteMatch]: RouteMatch[K] } = {};
  const type = match.oneOrMany(
    'type',
    (value) => (isAlertType(value) ? value : undefined),
    `an alert type (${ALERT_TYPES.join(', ')})`,
  );
  if (type.length > 0) result.type = type;
  const tier = match.oneOrMany(
    'tier',
    (value): RouteTier | undefined =>
      value === 1 || value === 2 || value === 3 || value === 'untiered' ? value : undefined,
    '1, 2, 3 or untiered',
  );
  if (tier.length > 0) result.tier = tier;

  const known = {
    business_unit: inventory?.businessUnits.map((unit) => unit.id),
    environment: inventory && [...new Set(inventory.models.map((model) => model.environment))],
    model: inventory?.models.map((model) => model.id),
  };
  for (const key of ['business_unit', 'environment', 'model'] as const) {
    const ids = known[key];
    const values = match.oneOrMany(
      key,
      (value) => {
        const id = text(value);
        return id === undefined || ids === undefined || ids.includes(id) ? id : undefined;
      },
      ids === undefined
        ? 'a non-empty string'
        : `${KNOWN_IN_INVENTORY[key]} (${ids.join(', ') || 'none'})`,
    );
    if (values.length > 0) result[key] = values;
  }
  return result;
}
