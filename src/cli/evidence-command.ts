import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Principal } from '../core/access.js';
import { EvidenceWorkflow } from '../pipeline/evidence-workflow.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { dataOption } from './common-options.js';

/**
 * Evidence from the command line, on the local store. Whoever can open the
 * data directory sees every unit; reads are still recorded in the chain of
 * custody, under `cli:<os user>`.
 */
function cliPrincipal(): Principal {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep "unknown".
  }
  return { tokenId: 'cli', name: `cli:${user}`, role: 'admin', units: null };
}

async function withEvidence<T>(
  dataDir: string,
  work: (evidence: EvidenceWorkflow) => Promise<T>,
): Promise<T> {
  const store = new SqliteStore({ dataDir });
  try {
    return await work(new EvidenceWorkflow(store));
  } finally {
    await store.close();
  }
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function registerEvidenceCommand(program: Command): void {
  const evidence = program
    .command('evidence')
    .description('forensic evidence on cases: list, export, verify');

  evidence
    .command('list')
    .description("a case's evidence with its chain of custody")
    .argument('<case>', 'case id or number')
    .addOption(dataOption())
    .option('--json', 'print JSON')
    .action(async (caseRef: string, options: { data: string; json?: boolean }) => {
      const items = await withEvidence(options.data, (e) => e.list(cliPrincipal(), caseRef));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        return;
      }
      if (items.length === 0) {
        process.stdout.write(`case ${caseRef} has no evidence\n`);
        return;
      }
      for (const item of items) {
        process.stdout.write(
          `${item.id}  ${item.kind.padEnd(18)} ${size(item.sizeBytes).padStart(9)}  ${item.name}\n` +
            `  sha256 ${item.sha256}\n`,
        );
        for (const event of item.custody) {
          process.stdout.write(`  ${event.at}  ${event.action.padEnd(9)} by ${event.actor}\n`);
        }
      }
    });

  evidence
    .command('export')
    .description("write an item's bytes to a file (recorded as a read in its custody)")
    .argument('<id>', 'evidence id')
    .requiredOption('--out <file>', 'where to write the bytes ("-" for stdout)')
    .addOption(dataOption())
    .action(async (id: string, options: { data: string; out: string }) => {
      const item = await withEvidence(options.data, (e) => e.read(cliPrincipal(), id));
      if (options.out === '-') {
        process.stdout.write(item.content);
        return;
      }
      writeFileSync(options.out, item.content);
      process.stderr.write(
        `wrote ${item.sizeBytes} bytes of "${item.name}" to ${options.out} (sha256 ${item.sha256})\n`,
      );
    });

  evidence
    .command('verify')
    .description(
      're-hash every item and compare with its stored and audited hash; exits 1 on a mismatch',
    )
    .addOption(dataOption())
    .action(async (options: { data: string }) => {
      const result = await withEvidence(options.data, (e) => e.verifyAll());
      if (result.ok) {
        process.stdout.write(`evidence OK: ${result.checked} items match their recorded hashes\n`);
        return;
      }
      process.stdout.write(
        `evidence ALTERED: ${result.problems.length} of ${result.checked} items do not match\n`,
      );
      for (const problem of result.problems) {
        process.stdout.write(`  - ${problem.id}: ${problem.problem}\n`);
      }
      process.exitCode = 1;
    });
}
