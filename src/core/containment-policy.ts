import type { Role } from './access.js';
import type { AlertType, NormalizedAlert } from './alert.js';
import type { ModelTier } from './inventory.js';
import type { SourcePosition } from './source-position.js';

/**
 * The containment policy matrix: for an alert type and the tier of the model
 * it is about, which containment intents a playbook may carry out on its own,
 * which need a human's approval, which only notify, and (by omission) which
 * are forbidden. Playbooks name intents; this table decides, so changing
 * policy never needs a playbook edit. Pure: loading lives in config/.
 */

/** The containment vocabulary playbook `act` steps name in `intent`. */
export const CONTAINMENT_INTENTS = [
  'block_source',
  'disable_credential',
  'quarantine_dataset',
  'rollback_model',
  'trip_circuit_breaker',
  'terminate_session',
  'block_user',
  'quarantine_model',
  'page_oncall',
  'notify_owner',
  'open_ticket',
] as const;

export type ContainmentIntent = (typeof CONTAINMENT_INTENTS)[number];

export function isContainmentIntent(value: unknown): value is ContainmentIntent {
  return typeof value === 'string' && (CONTAINMENT_INTENTS as readonly string[]).includes(value);
}

/** What each intent does, for docs, `warden policy` and the API. */
export const CONTAINMENT_INTENT_DESCRIPTIONS: Readonly<Record<ContainmentIntent, string>> =
  Object.freeze({
    block_source: 'block the source IP address or range at the gateway / WAF',
    disable_credential: 'revoke or disable the API key or service credential used',
    quarantine_dataset: 'freeze a dataset or feature store so no pipeline reads it',
    rollback_model: 'roll the model back to its last known-good version',
    trip_circuit_breaker: 'take the model endpoint out of service (fail closed)',
    terminate_session: 'end the user or agent session',
    block_user: 'suspend the user account',
    quarantine_model: 'mark the model artifact untrusted in the registry; block deploys',
    page_oncall: "page the business unit's on-call",
    notify_owner: "notify the model's owner",
    open_ticket: 'open a ticket in the tracker',
  });

/**
 * Actions that change or stop what a system or person can do. The built-in
 * policy asks for approval before taking them on tier-1 (and unknown) models.
 */
export const HIGH_IMPACT_INTENTS: readonly ContainmentIntent[] = Object.freeze([
  'block_source',
  'disable_credential',
  'quarantine_dataset',
  'rollback_model',
  'trip_circuit_breaker',
  'quarantine_model',
  'terminate_session',
  'block_user',
]);

/** The matrix columns: one per model tier, plus alerts that matched no model. */
export const TIER_KEYS = ['tier1', 'tier2', 'tier3', 'untiered'] as const;
export type TierKey = (typeof TIER_KEYS)[number];

/** In a policy, `"*"` is the cell for every tier not given its own. */
export const ALL_TIERS = '*';
export type CellKey = TierKey | typeof ALL_TIERS;

export function tierKeyOf(tier: ModelTier | undefined): TierKey {
  return tier === undefined ? 'untiered' : `tier${tier}`;
}

/** Approver roles when a policy names none. */
export const DEFAULT_APPROVERS: readonly Role[] = Object.freeze(['responder', 'admin']);

/** One cell of the matrix. An intent listed nowhere is forbidden. */
export interface ContainmentCell {
  readonly automatic: readonly ContainmentIntent[];
  readonly approval: readonly ContainmentIntent[];
  /** Not carried out: the playbook records and notifies that it would have. */
  readonly notifyOnly: readonly ContainmentIntent[];
  /** Any one of these roles may approve an `approval` intent. */
  readonly approvers: readonly Role[];
  /** Where the cell is written, when it was read from a file. */
  readonly source?: SourcePosition;
}

export type CellsByTier = Readonly<Partial<Record<CellKey, ContainmentCell>>>;

/**
 * A policy as written: default cells and per-alert-type override cells.
 * Cells are looked up most specific first and replace each other whole:
 * `types.T.tierN`, `types.T."*"`, `defaults.tierN`, `defaults."*"`, then the
 * built-in cell for the tier.
 */
export interface ContainmentPolicy {
  /** The file it was read from; undefined for the built-in policy. */
  readonly file?: string;
  readonly defaults: CellsByTier;
  readonly types: Readonly<Partial<Record<AlertType, CellsByTier>>>;
  /**
   * Connector instances every approval request is announced through (a
   * Slack channel with approve/deny buttons, a pager); empty by default.
   */
  readonly announceApprovals?: readonly string[];
}

const NOTIFY_INTENTS: readonly ContainmentIntent[] = ['notify_owner', 'page_oncall', 'open_ticket'];

function builtinCell(
  automatic: readonly ContainmentIntent[],
  approval: readonly ContainmentIntent[],
): ContainmentCell {
  return Object.freeze({
    automatic: Object.freeze([...NOTIFY_INTENTS, ...automatic]),
    approval: Object.freeze([...approval]),
    notifyOnly: Object.freeze([]),
    approvers: DEFAULT_APPROVERS,
  });
}

const MODEL_CHANGES: readonly ContainmentIntent[] = ['rollback_model', 'quarantine_model'];

/**
 * The cells used for any tier a policy leaves unset: high-impact actions on
 * tier-1 models need approval; on tier 2 only model rollback and quarantine
 * do; tier 3 is all automatic; untiered alerts (no model matched) need
 * approval for high-impact actions, since nobody knows what they would hit.
 */
export const BUILTIN_CELLS: Readonly<Record<TierKey, ContainmentCell>> = Object.freeze({
  tier1: builtinCell([], HIGH_IMPACT_INTENTS),
  tier2: builtinCell(
    HIGH_IMPACT_INTENTS.filter((intent) => !MODEL_CHANGES.includes(intent)),
    MODEL_CHANGES,
  ),
  tier3: builtinCell(HIGH_IMPACT_INTENTS, []),
  untiered: builtinCell([], HIGH_IMPACT_INTENTS),
});

/** The policy in force when the config directory has no policy.yaml. */
export const BUILTIN_CONTAINMENT_POLICY: ContainmentPolicy = Object.freeze({
  defaults: Object.freeze({}),
  types: Object.freeze({}),
});

export type ContainmentMode = 'automatic' | 'approval' | 'notify_only' | 'forbidden';

export type ContainmentDecision =
  | { readonly intent: ContainmentIntent; readonly mode: 'automatic' | 'notify_only' | 'forbidden' }
  | {
      readonly intent: ContainmentIntent;
      readonly mode: 'approval';
      readonly approvers: readonly Role[];
    };

/** Where the applying cell came from. */
export type CellLayer = 'override' | 'defaults' | 'builtin';

export interface ContainmentExplanation extends AppliedCell {
  readonly alertType: AlertType;
  readonly tier: TierKey;
  /** One sentence saying why this cell applies. */
  readonly reason: string;
  /** Every intent, in CONTAINMENT_INTENTS order. */
  readonly decisions: readonly ContainmentDecision[];
}

/** What the policy looks at: the alert type and the tier found by enrichment. */
export type ContainmentSubject = Pick<NormalizedAlert, 'type'> & {
  readonly enrichment: Pick<NormalizedAlert['enrichment'], 'tier'>;
};

/** The cell that applies to one square, and which layer it came from. */
export interface AppliedCell {
  readonly layer: CellLayer;
  /** The cell's path in the policy file, e.g. `types.data_poisoning.tier1`, `defaults."*"`. */
  readonly field: string;
  readonly cell: ContainmentCell;
}

function cellField(prefix: string, key: CellKey): string {
  return `${prefix}.${key === ALL_TIERS ? '"*"' : key}`;
}

/** The cell for one (alert type, tier) square of the matrix. */
export function applicableCell(
  policy: ContainmentPolicy,
  alertType: AlertType,
  tier: TierKey,
): AppliedCell {
  const overrides = policy.types[alertType];
  for (const key of [tier, ALL_TIERS] as const) {
    const cell = overrides?.[key];
    if (cell) return { layer: 'override', field: cellField(`types.${alertType}`, key), cell };
  }
  for (const key of [tier, ALL_TIERS] as const) {
    const cell = policy.defaults[key];
    if (cell) return { layer: 'defaults', field: cellField('defaults', key), cell };
  }
  return { layer: 'builtin', field: cellField('builtin', tier), cell: BUILTIN_CELLS[tier] };
}

/** The decision one cell gives an intent. */
export function decideInCell(
  cell: ContainmentCell,
  intent: ContainmentIntent,
): ContainmentDecision {
  // Most restrictive first, so a cell built in code with an intent in two lists fails safe.
  if (cell.notifyOnly.includes(intent)) return { intent, mode: 'notify_only' };
  if (cell.approval.includes(intent))
    return { intent, mode: 'approval', approvers: cell.approvers };
  if (cell.automatic.includes(intent)) return { intent, mode: 'automatic' };
  return { intent, mode: 'forbidden' };
}

/** What the playbook runner may do with `intent` for this alert. */
export function decideContainment(
  alert: ContainmentSubject,
  intent: ContainmentIntent,
  policy: ContainmentPolicy,
): ContainmentDecision {
  const { cell } = applicableCell(policy, alert.type, tierKeyOf(alert.enrichment.tier));
  return decideInCell(cell, intent);
}

function tierPhrase(tier: TierKey): string {
  return tier === 'untiered'
    ? 'alerts that matched no model (untiered)'
    : `tier-${tier.slice(4)} models`;
}

function reasonFor(
  policy: ContainmentPolicy,
  alertType: AlertType,
  tier: TierKey,
  applied: AppliedCell,
): string {
  const square = `${alertType} on ${tierPhrase(tier)}`;
  switch (applied.layer) {
    case 'override':
      return `${applied.field} overrides the defaults for ${square}`;
    case 'defaults':
      return `no override for ${square}, so ${applied.field} applies`;
    case 'builtin':
      return policy.file === undefined
        ? `no policy file, so the built-in cell for ${tier} applies to ${square}`
        : `${policy.file} sets neither an override for ${square} nor defaults.${tier} ` +
            `(or defaults."*"), so the built-in cell for ${tier} applies`;
  }
}

/** Which cell applies to the alert and why, and the decision for every intent. */
export function explainContainment(
  alert: ContainmentSubject,
  policy: ContainmentPolicy,
): ContainmentExplanation {
  const tier = tierKeyOf(alert.enrichment.tier);
  const applied = applicableCell(policy, alert.type, tier);
  return {
    alertType: alert.type,
    tier,
    ...applied,
    reason: reasonFor(policy, alert.type, tier, applied),
    decisions: CONTAINMENT_INTENTS.map((intent) => decideInCell(applied.cell, intent)),
  };
}

/** "automatic", "approval by responder or admin", "notify only", "forbidden". */
export function describeDecision(decision: ContainmentDecision): string {
  switch (decision.mode) {
    case 'automatic':
      return 'automatic';
    case 'approval':
      return `approval by ${decision.approvers.join(' or ')}`;
    case 'notify_only':
      return 'notify only';
    case 'forbidden':
      return 'forbidden';
  }
}
