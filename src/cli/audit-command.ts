import type { Command } from 'commander';
import {
  describeAuditProblem,
  formatAuditAnchor,
  parseAuditAnchor,
  type AuditAnchor,
} from '../core/audit-chain.js';
import { auditHead, verifyAuditLog } from '../pipeline/audit-verification.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { dataOption } from './common-options.js';

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description(
      'check the hash chain, and any anchors recorded outside Warden; exits 1 if an entry was edited or deleted',
    )
    .option(
      '--anchor <seq:hash...>',
      'an entry as warden audit head printed it earlier (repeatable): it must still be there, unchanged',
    )
    .addOption(dataOption())
    .action(async (options: { data: string; anchor?: string[] }) => {
      const anchors: AuditAnchor[] = (options.anchor ?? []).map((text) =>
        parseAuditAnchor(text, '--anchor'),
      );
      const store = new SqliteStore({ dataDir: options.data });
      try {
        const result = await verifyAuditLog(store, undefined, anchors);
        const anchored =
          anchors.length === 0
            ? ''
            : `, ${anchors.length} anchor${anchors.length === 1 ? '' : 's'} matched`;
        if (result.ok) {
          process.stdout.write(
            `audit log OK: ${result.entries} entries, hash chain intact${anchored}\n`,
          );
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
  audit
    .command('head')
    .description(
      'print the newest entry as SEQ:HASH, to keep outside Warden and check later with verify --anchor',
    )
    .option('--json', 'print { seq, hash, at } as JSON')
    .addOption(dataOption())
    .action(async (options: { data: string; json?: boolean }) => {
      const store = new SqliteStore({ dataDir: options.data });
      try {
        const head = await auditHead(store);
        if (options.json) {
          const value = head ? { seq: head.seq, hash: head.hash, at: head.at } : null;
          process.stdout.write(`${JSON.stringify(value)}\n`);
        } else if (head) {
          process.stdout.write(`${formatAuditAnchor(head)}  (${head.at})\n`);
        } else {
          process.stdout.write('the audit log is empty\n');
        }
      } finally {
        await store.close();
      }
    });
}
