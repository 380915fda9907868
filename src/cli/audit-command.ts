import type { Command } from 'commander';
import { describeAuditProblem } from '../core/audit-chain.js';
import { verifyAuditLog } from '../pipeline/audit-verification.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { dataOption } from './common-options.js';

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('check the hash chain; exits 1 if an entry was edited or deleted')
    .addOption(dataOption())
    .action(async (options: { data: string }) => {
      const store = new SqliteStore({ dataDir: options.data });
      try {
        const result = await verifyAuditLog(store);
        if (result.ok) {
          process.stdout.write(`audit log OK: ${result.entries} entries, hash chain intact\n`);
        } else {
          process.stdout.write(`audit log BROKEN: ${result.entries} entries checked\n`);
          for (const problem of result.problems)
            process.stdout.write(`  - ${describeAuditProblem(problem)}\n`);
          process.exitCode = 1;
        }
      } finally {
        await store.close();
      }
    });
}
