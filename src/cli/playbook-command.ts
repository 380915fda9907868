import { readFileSync } from 'node:fs';
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

/** Exit code of `validate` when a playbook has a problem (as for other invalid input). */
const INVALID_EXIT_CODE = 2;

/** `warden playbook schema`, `validate [DIR]` and `test [DIR]`. */
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
      const fileOf = new Map(playbooks.map((p) => [p.id, p.source.file]));
      const out = playbooks.map(
        (p) =>
          `ok  ${fileOf.get(p.id) ?? ''}  ${p.id} v${p.version}  ` +
          `(${count(p.steps.length, 'step')}, ${count(p.tests.length, 'test')})`,
      );
      if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
      if (problems.length === 0) return;
      const files = new Set(problems.map((problem) => problem.file)).size;
      process.stderr.write(
        `${problems.map(formatProblem).join('\n')}\n` +
          `${count(problems.length, 'problem')} in ${count(files, 'file')}\n`,
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
    .action((dir: string | undefined, options: { config: string; filter?: string }) => {
      const directory = dir ?? join(options.config, 'playbooks');
      const playbooks = loadPlaybooks(directory);
      const config = loadWardenConfig(options.config);
      const context = {
        inventory: new InventoryIndex(config.inventory),
        policy: loadContainmentPolicy(options.config),
        playbooks: new Map(playbooks.map((p) => [p.id, p])),
        readAlertFile: (path: string): unknown => JSON.parse(readFileSync(path, 'utf8')),
      };
      const results: PlaybookTestResult[] = [];
      for (const p of playbooks) {
        for (const test of p.tests) {
          const wanted = options.filter;
          if (wanted && !p.id.includes(wanted) && !test.name.includes(wanted)) continue;
          const result = runPlaybookTest(p, test, context);
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
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
