import type { Command } from 'commander';
import {
  ALERT_TYPES,
  severityLabel,
  type AlertDraft,
  type AlertEnrichment,
} from '../core/alert.js';
import {
  CONTAINMENT_INTENTS,
  TIER_KEYS,
  applicableCell,
  decideInCell,
  describeDecision,
  explainContainment,
  type AppliedCell,
  type ContainmentCell,
  type ContainmentExplanation,
  type ContainmentIntent,
  type ContainmentPolicy,
} from '../core/containment-policy.js';
import { enrichAlert } from '../core/enrichment.js';
import { WardenError } from '../core/errors.js';
import { InventoryIndex } from '../core/inventory.js';
import {
  routeAlert,
  type RouteCheck,
  type RouteKeyMismatch,
  type RoutingResult,
} from '../core/playbook-router.js';
import { formatPosition } from '../core/source-position.js';
import { loadContainmentPolicy, loadRouter } from '../config/policy-config.js';
import { loadWardenConfig } from '../config/warden-config.js';
import { normalizePayload, sourceFormatNames } from '../sources/source-registry.js';
import { payloadOf, readAlertFile } from './alert-file.js';
import { configOption } from './common-options.js';

interface ExplainOptions {
  source?: string;
  config: string;
  json?: boolean;
}

interface ShowOptions {
  config: string;
  json?: boolean;
}

/** `warden policy explain` and `warden policy show`. */
export function registerPolicyCommand(program: Command): void {
  const policy = program
    .command('policy')
    .description('containment policy (policy.yaml) and playbook routing (router.yaml)');

  policy
    .command('explain')
    .description(
      'for one alert: the model and tier found, the policy cell that applies and why, ' +
        'the decision for every containment intent, and the playbook route',
    )
    .argument('<alert-file>', 'a JSON file holding one alert')
    .option(
      '--source <format>',
      `source format: ${sourceFormatNames().join(', ')} (default: detected)`,
    )
    .addOption(configOption())
    .option('--json', 'print JSON instead of text')
    .action((file: string, options: ExplainOptions) => {
      const config = loadWardenConfig(options.config);
      const containmentPolicy = loadContainmentPolicy(options.config);
      const router = loadRouter(options.config, { inventory: config.inventory });
      const items = readAlertFile(file);
      const [item] = items;
      if (!item || items.length > 1) {
        throw new WardenError(
          'invalid_field',
          `${file} holds ${items.length} alerts; policy explain takes exactly one`,
          { field: 'ALERT_FILE' },
        );
      }
      const draft = normalizePayload(payloadOf(item), options.source);
      const enrichment = enrichAlert(draft, new InventoryIndex(config.inventory));
      const alert = { ...draft, enrichment };
      const containment = explainContainment(alert, containmentPolicy);
      const routing = routeAlert(alert, router);
      if (options.json) {
        const { raw: _raw, ...summary } = draft;
        write(JSON.stringify({ alert: { ...summary, enrichment }, containment, routing }, null, 2));
        return;
      }
      write(renderExplanation(draft, enrichment, containment, routing));
    });

  policy
    .command('show')
    .description('print the containment matrix: alert types by model tier')
    .addOption(configOption())
    .option('--json', 'print JSON instead of a table')
    .action((options: ShowOptions) => {
      // Validates the directory, so a mistyped --config does not quietly show the built-in policy.
      loadWardenConfig(options.config);
      const containmentPolicy = loadContainmentPolicy(options.config);
      if (options.json) {
        write(JSON.stringify(matrixOf(containmentPolicy), null, 2));
        return;
      }
      write(renderMatrix(containmentPolicy));
    });
}

function write(text: string): void {
  const trimmed = text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
  process.stdout.write(trimmed.endsWith('\n') ? trimmed : `${trimmed}\n`);
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

// ---------------------------------------------------------------------------
// explain

const LABEL = 13;

function renderExplanation(
  draft: AlertDraft,
  enrichment: AlertEnrichment,
  containment: ContainmentExplanation,
  routing: RoutingResult,
): string {
  const out: string[] = [
    `${pad('Alert', LABEL)}${draft.type}: ${JSON.stringify(draft.title)} ` +
      `(${draft.source.format}, severity ${severityLabel(draft.severityId)})`,
    ...renderModel(draft, enrichment),
    '',
    `${pad('Policy cell', LABEL)}${containment.field} (${cellOrigin(containment)})`,
    `${' '.repeat(LABEL)}${containment.reason}`,
    '',
    `${' '.repeat(LABEL)}${pad('INTENT', 22)}DECISION`,
    ...containment.decisions.map(
      (decision) => `${' '.repeat(LABEL)}${pad(decision.intent, 22)}${describeDecision(decision)}`,
    ),
    '',
    ...renderRouting(routing),
  ];
  return out.join('\n');
}

function renderModel(draft: AlertDraft, enrichment: AlertEnrichment): string[] {
  const indent = ' '.repeat(LABEL);
  if (enrichment.modelId !== undefined) {
    const lines = [
      `${pad('Model', LABEL)}${enrichment.modelId} (${enrichment.modelName ?? enrichment.modelId})`,
      `${indent}unit ${enrichment.businessUnit ?? '-'}, environment ${enrichment.environment ?? '-'}, ` +
        `tier ${enrichment.tier ?? '-'}, owner ${enrichment.owner ?? '-'}`,
    ];
    const { model, dataset } = draft.observables;
    if (!model && dataset) {
      lines.push(`${indent}attributed via dataset ${dataset.id}: its most critical reader`);
    }
    if (enrichment.blastRadius.length > 0) {
      lines.push(`${indent}blast radius: ${enrichment.blastRadius.join(', ')}`);
    }
    return lines;
  }
  const named = [
    draft.observables.model && `model "${draft.observables.model.id}"`,
    draft.observables.dataset && `dataset "${draft.observables.dataset.id}"`,
  ].filter((text) => text !== undefined);
  const lines = [
    named.length > 0
      ? `${pad('Model', LABEL)}none: the alert names ${named.join(' and ')}, which no inventory model matches`
      : `${pad('Model', LABEL)}none: the alert names no model or dataset`,
    `${indent}so the alert is untiered`,
  ];
  if (enrichment.businessUnit !== undefined) {
    lines.push(`${indent}unit ${enrichment.businessUnit} (from the dataset)`);
  }
  return lines;
}

function cellOrigin(applied: AppliedCell): string {
  const layer = { override: 'override', defaults: 'defaults', builtin: 'built-in policy' }[
    applied.layer
  ];
  const where = applied.cell.source ? `, ${formatPosition(applied.cell.source)}` : '';
  return `${layer}${where}; approvers: ${applied.cell.approvers.join(', ')}`;
}

function renderRouting(routing: RoutingResult): string[] {
  const indent = ' '.repeat(LABEL);
  const target =
    routing.playbookId === undefined
      ? 'no playbook'
      : routing.via === 'route'
        ? `${routing.playbookId} (route "${routing.route?.name}")`
        : `${routing.playbookId} (default)`;
  const lines = [`${pad('Playbook', LABEL)}${target}`, `${indent}${routing.reason}`];
  for (const check of routing.checks) lines.push(...renderCheck(check, indent));
  return lines;
}

function renderCheck(check: RouteCheck, indent: string): string[] {
  const where = check.source ? ` (${formatPosition(check.source)})` : '';
  const head = `${indent}${check.index + 1}. ${check.name} -> ${check.playbook}${where}`;
  switch (check.outcome) {
    case 'not_reached':
      return [`${head}`, `${indent}   not reached: an earlier route matched`];
    case 'matched':
      return [`${head}`, `${indent}   matched on ${check.matchedKeys.join(', ')}`];
    case 'failed':
      return [
        head,
        ...check.mismatches.map(
          (mismatch) => `${indent}   no match: ${describeMismatch(mismatch)}`,
        ),
      ];
  }
}

function describeMismatch(mismatch: RouteKeyMismatch): string {
  const wanted = mismatch.expected.join(' or ');
  return mismatch.actual === undefined
    ? `${mismatch.key} wanted ${wanted}, the alert has none`
    : `${mismatch.key} is ${mismatch.actual}, wanted ${wanted}`;
}

// ---------------------------------------------------------------------------
// show

interface LabelledCell extends AppliedCell {
  /** Short name in the table: D1…DU defaults, B1…BU built-in, 1…n overrides. */
  label: string;
}

interface Matrix {
  file: string | undefined;
  /** alert type → tier key → cell label */
  rows: Record<string, Record<string, string>>;
  cells: LabelledCell[];
}

function layerLabel(applied: AppliedCell, overrides: number): string {
  if (applied.layer === 'override') return String(overrides + 1);
  const tier = applied.field.slice(applied.field.indexOf('.') + 1);
  const suffix = tier === '"*"' ? '*' : tier === 'untiered' ? 'U' : tier.slice(4);
  return `${applied.layer === 'defaults' ? 'D' : 'B'}${suffix}`;
}

function matrixOf(policy: ContainmentPolicy): Matrix {
  const byField = new Map<string, LabelledCell>();
  const rows: Matrix['rows'] = {};
  let overrides = 0;
  for (const type of ALERT_TYPES) {
    const row: Record<string, string> = {};
    for (const tier of TIER_KEYS) {
      const applied = applicableCell(policy, type, tier);
      let labelled = byField.get(applied.field);
      if (!labelled) {
        labelled = { ...applied, label: layerLabel(applied, overrides) };
        if (applied.layer === 'override') overrides += 1;
        byField.set(applied.field, labelled);
      }
      row[tier] = labelled.label;
    }
    rows[type] = row;
  }
  // Defaults and built-in cells first, in tier order, then overrides in the order met.
  const rank = (cell: LabelledCell): number => (cell.layer === 'override' ? 1 : 0);
  const cells = [...byField.values()].sort(
    (a, b) => rank(a) - rank(b) || (rank(a) === 0 ? a.label.localeCompare(b.label) : 0),
  );
  return { file: policy.file, rows, cells };
}

const MODE_SHORT = { automatic: 'auto', approval: 'appr', notify_only: 'note' } as const;

function modeIn(cell: ContainmentCell, intent: ContainmentIntent): string {
  const { mode } = decideInCell(cell, intent);
  return mode === 'forbidden' ? '-' : MODE_SHORT[mode];
}

function renderMatrix(policy: ContainmentPolicy): string {
  const matrix = matrixOf(policy);
  const typeWidth = Math.max(...ALERT_TYPES.map((type) => type.length)) + 2;
  const cellWidth = Math.max(6, ...matrix.cells.map((cell) => cell.label.length + 2));
  const out: string[] = [
    `Containment policy: ${matrix.file ?? 'built-in (no policy.yaml)'}`,
    '',
    `${pad('ALERT TYPE', typeWidth)}${TIER_KEYS.map((tier) => pad(tier.toUpperCase(), 10)).join('')}`,
  ];
  for (const type of ALERT_TYPES) {
    const row = matrix.rows[type] ?? {};
    out.push(
      `${pad(type, typeWidth)}${TIER_KEYS.map((tier) => pad(row[tier] ?? '', 10)).join('')}`,
    );
  }
  out.push(
    '',
    `${pad('INTENT', typeWidth)}${matrix.cells.map((cell) => pad(cell.label, cellWidth)).join('')}`,
  );
  for (const intent of CONTAINMENT_INTENTS) {
    out.push(
      `${pad(intent, typeWidth)}${matrix.cells.map((cell) => pad(modeIn(cell.cell, intent), cellWidth)).join('')}`,
    );
  }
  out.push('', 'auto = automatic, appr = needs approval, note = notify only, - = forbidden', '');
  const labelWidth = Math.max(...matrix.cells.map((cell) => cell.label.length)) + 2;
  const fieldWidth = Math.max(...matrix.cells.map((cell) => cell.field.length)) + 2;
  for (const cell of matrix.cells) {
    const where = cell.cell.source ? formatPosition(cell.cell.source) : 'built-in';
    out.push(
      `${pad(cell.label, labelWidth)}${pad(cell.field, fieldWidth)}${where}; ` +
        `approvers: ${cell.cell.approvers.join(', ')}`,
    );
  }
  return out.join('\n');
}
