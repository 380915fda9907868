import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadContainmentPolicy } from '../config/policy-config.js';
import { loadWardenConfig } from '../config/warden-config.js';
import { InventoryIndex } from '../core/inventory.js';
import {
  checkPlaybooks,
  formatProblem,
  loadPlaybooks,
  readPlaybookSources,
} from '../playbooks/playbook-loader.js';
import { PLAYBOOK_SCHEMA } from '../playbooks/playbook-schema.js';
import { runPlaybookTest, type PlaybookTestResult } from '../playbooks/playbook-test-runner.js';
import { configOption } from './common-options.js';
import { WardenError } from '../core/errors.js';
import type { Playbook, PlaybookTest } from '../playbooks/playbook.js';
import { localConnectors } from '../connectors/local-connectors.js';
import { CONNECTORS_FILE, loadConnectors } from '../connectors/connector-config.js';
import { placeholderSecretSource } from '../connectors/secrets.js';
import { playbookConnectorProblems } from '../connectors/step-inputs.js';

/** Exit code of `validate` when a playbook has a problem (as for other invalid input). */
const INVALID_EXIT_CODE = 2;

/** `warden playbook schema`, `validate [DIR]`, `test [DIR]` and `run ID --alert FILE --dry-run`. */
export function registerPlaybookCommand(program: Command): void {
  const playbook = program
    .command('playbook')
    .description('playbook files: their JSON Schema, and checking them');

  playbook
    .command('schema')
    .description('print the JSON Schema (draft 2020-12) of a playbook file')
    .action(() => {
      process.stdout.write(`${JSON.stringify(PLAYBOOK_SCHEMA, null, 2)}\n`);
    });

  playbook
    .command('validate')
    .description('check every playbook in DIR: schema, CEL, references; exit 2 on any problem')
    .argument('[dir]', 'playbook directory (default: <config>/playbooks)')
    .addOption(configOption())
    .action((dir: string | undefined, options: { config: string }) => {
      const directory = dir ?? join(options.config, 'playbooks');
      const sources = readPlaybookSources(directory);
      if (sources.length === 0) {
        process.stdout.write(`no playbooks in ${directory}\n`);
        return;
      }
      const { playbooks, problems } = checkPlaybooks(sources);
      const connectorProblems = connectorProblemsOf(playbooks, options.config);
      const fileOf = new Map(playbooks.map((p) => [p.id, p.source.file]));
      const withProblems = new Set(connectorProblems.map((line) => line.split(':')[0]));
      const out = playbooks
        .filter((p) => !withProblems.has(p.source.file))
        .map(
          (p) =>
            `ok  ${fileOf.get(p.id) ?? ''}  ${p.id} v${p.version}  ` +
            `(${count(p.steps.length, 'step')}, ${count(p.tests.length, 'test')})`,
        );
      if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
      if (problems.length === 0 && connectorProblems.length === 0) return;
      const files = new Set([
        ...problems.map((problem) => problem.file),
        ...connectorProblems.map((line) => line.split(':')[0]),
      ]).size;
      const total = problems.length + connectorProblems.length;
      process.stderr.write(
        `${[...problems.map(formatProblem), ...connectorProblems].join('\n')}\n` +
          `${count(total, 'problem')} in ${count(files, 'file')}\n`,
      );
      process.exitCode = INVALID_EXIT_CODE;
    });

  playbook
    .command('test')
    .description(
      'run every playbook test in DIR with its canned responses (no connector is called); exit 1 on a failure',
    )
    .argument('[dir]', 'playbook directory (default: <config>/playbooks)')
    .option('--filter <text>', 'only tests whose playbook id or name contains TEXT')
    .addOption(configOption())
    .action(async (dir: string | undefined, options: { config: string; filter?: string }) => {
      const directory = dir ?? join(options.config, 'playbooks');
      const playbooks = loadPlaybooks(directory);
      const config = loadWardenConfig(options.config);
      const inventory = new InventoryIndex(config.inventory);
      const context = {
        inventory,
        policy: loadContainmentPolicy(options.config),
        playbooks: new Map(playbooks.map((p) => [p.id, p])),
        readAlertFile: (path: string): unknown => JSON.parse(readFileSync(path, 'utf8')),
        localConnectors: localConnectors(inventory),
      };
      const results: PlaybookTestResult[] = [];
      for (const p of playbooks) {
        for (const test of p.tests) {
          const wanted = options.filter;
          if (wanted && !p.id.includes(wanted) && !test.name.includes(wanted)) continue;
          const result = await runPlaybookTest(p, test, context);
          results.push(result);
          const mark = result.passed ? 'ok  ' : 'FAIL';
          process.stdout.write(`${mark}  ${p.id} › ${test.name}\n`);
          for (const failure of result.failures) process.stdout.write(`        ${failure}\n`);
        }
      }
      const failed = results.filter((r) => !r.passed).length;
      process.stdout.write(
        `\n${count(results.length, 'test')}: ${results.length - failed} passed, ${failed} failed\n`,
      );
      if (failed > 0) process.exitCode = 1;
    });

  playbook
    .command('run')
    .description('show the path a playbook takes for an alert, calling no connector (--dry-run)')
    .argument('<id>', 'playbook id')
    .requiredOption('--alert <file>', 'the alert (JSON, any supported format)')
    .option('--dry-run', 'required: nothing is called, sent or stored')
    .option(
      '--responses <file>',
      'JSON: canned outputs by step id, as in playbook tests ({"intel": {"output": {…}}})',
    )
    .option('--approve', 'answer every approval with yes (default: approvals time out)')
    .addOption(configOption())
    .action(
      async (
        id: string,
        options: {
          alert: string;
          dryRun?: boolean;
          responses?: string;
          approve?: boolean;
          config: string;
        },
      ) => {
        if (!options.dryRun) {
          throw new WardenError(
            'invalid_field',
            '--dry-run is required: to act for real, send the alert to a running server (warden ingest --url)',
            { field: '--dry-run' },
          );
        }
        const playbooks = loadPlaybooks(join(options.config, 'playbooks'));
        const chosen = playbooks.find((p) => p.id === id);
        if (!chosen) {
          throw new WardenError(
            'not_found',
            `no playbook "${id}" in ${join(options.config, 'playbooks')} (have: ${playbooks.map((p) => p.id).join(', ') || 'none'})`,
          );
        }
        const config = loadWardenConfig(options.config);
        const readJson = (path: string, what: string): unknown => {
          try {
            return JSON.parse(readFileSync(path, 'utf8'));
          } catch (error) {
            throw new WardenError('invalid_field', `${what} ${path}: ${(error as Error).message}`, {
              field: what,
            });
          }
        };
        const responses = options.responses
          ? (readJson(options.responses, '--responses') as PlaybookTest['responses'])
          : {};
        const approvals = Object.fromEntries(
          chosen.steps
            .filter((s) => s.kind === 'approval' || s.kind === 'act')
            .map((s) => [s.id, options.approve ? 'approved' : 'timeout'] as const),
        );
        const result = await runPlaybookTest(
          chosen,
          {
            name: 'dry run',
            alert: { kind: 'inline', payload: readJson(options.alert, '--alert') as never },
            responses,
            approvals,
            expect: {},
            source: chosen.source,
          },
          {
            inventory: new InventoryIndex(config.inventory),
            policy: loadContainmentPolicy(options.config),
            playbooks: new Map(playbooks.map((p) => [p.id, p])),
            readAlertFile: (path) => readJson(path, '--alert'),
            now: new Date(),
            localConnectors: localConnectors(new InventoryIndex(config.inventory)),
          },
        );
        process.stdout.write(describeDryRun(chosen.id, chosen.version, result));
      },
    );
}

/** The dry run as a person reads it: one line per step, with why. */
function describeDryRun(id: string, version: number, result: PlaybookTestResult): string {
  const c = result.case;
  const lines = [
    `dry run of ${id} v${version}: case "${c.title}" (${c.severity}, tier ${c.tier ?? '-'}, unit ${c.businessUnit ?? '-'})`,
  ];
  const calls = [...result.actions];
  for (const event of result.trace) {
    switch (event.kind) {
      case 'step_started': {
        const call = calls[0]?.step === event.stepId ? calls.shift() : undefined;
        lines.push(`  ${event.stepId}${call ? `  → call with ${JSON.stringify(call.input)}` : ''}`);
        while (calls[0]?.step === event.stepId) {
          lines.push(`      and ${JSON.stringify(calls.shift()?.input)}`);
        }
        break;
      }
      case 'step_skipped':
        lines.push(`  ${event.stepId}  skipped: ${event.reason}`);
        break;
      case 'branch':
        for (const condition of event.conditions) {
          lines.push(`      ${condition.when} = ${String(condition.value)}`);
        }
        lines.push(`      → ${event.goto}`);
        break;
      case 'policy':
        lines.push(
          `      policy: ${event.decision.intent} is ${event.decision.mode === 'approval' ? `approval by ${event.decision.approvers.join(' or ')}` : event.decision.mode.replace('_', ' ')}${event.satisfiedBy ? ` (given: ${event.satisfiedBy})` : ''}`,
        );
        break;
      case 'approval_answered':
        lines.push(
          `      approval ${event.answer.approved ? 'given' : 'refused'} (${event.answer.by.name})`,
        );
        break;
      case 'retry_scheduled':
        lines.push(`      retry ${event.attempt} after ${event.delayMs} ms`);
        break;
      case 'step_failed':
        lines.push(`      failed: ${event.error.code}: ${event.error.message} → ${event.next}`);
        break;
      case 'run_finished':
        lines.push(`finished: ${event.status}${event.error ? ` (${event.error.code})` : ''}`);
        break;
      default:
        break;
    }
  }
  lines.push(
    `case after the run: phase ${c.phase}, status ${c.status}${c.closureReason ? ` (${c.closureReason})` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * What the playbooks ask of the connectors in `<config>/connectors.yaml`,
 * checked as Warden's start checks it (with stand-in secrets: nothing is
 * called); none when there is no connectors.yaml.
 */
function connectorProblemsOf(playbooks: readonly Playbook[], configDir: string): string[] {
  if (playbooks.length === 0 || !existsSync(join(configDir, CONNECTORS_FILE))) return [];
  const registry = loadConnectors(configDir, {
    secrets: placeholderSecretSource(),
    inventory: new InventoryIndex(loadWardenConfig(configDir).inventory),
    logSink: { write: () => undefined },
  });
  return playbookConnectorProblems(playbooks, registry);
}
