import type { Command } from 'commander';
import { CASE_STATUSES, type CaseStatus } from '../core/case.js';
import { WardenError } from '../core/errors.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { dataOption, positiveInteger } from './common-options.js';

function pad(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

export function registerCasesCommand(program: Command): void {
  program
    .command('cases')
    .description('list cases, most recently updated first')
    .addOption(dataOption())
    .option('--status <status>', `filter: ${CASE_STATUSES.join(', ')}`)
    .option('--unit <id>', 'filter by business unit')
    .option('--limit <n>', 'how many', positiveInteger('--limit'), 20)
    .option('--json', 'print JSON instead of a table')
    .action(
      async (options: {
        data: string;
        status?: string;
        unit?: string;
        limit: number;
        json?: boolean;
      }) => {
        if (options.status && !(CASE_STATUSES as readonly string[]).includes(options.status)) {
          throw new WardenError(
            'invalid_field',
            `--status must be one of: ${CASE_STATUSES.join(', ')}`,
            {
              field: 'status',
            },
          );
        }
        const store = new SqliteStore({ dataDir: options.data });
        try {
          const page = await store.listCases(
            {
              ...(options.status ? { status: [options.status as CaseStatus] } : {}),
              ...(options.unit ? { businessUnit: [options.unit] } : {}),
            },
            { limit: options.limit },
          );
          const counts = await store.counts();
          if (options.json) {
            process.stdout.write(`${JSON.stringify(page.items, null, 2)}\n`);
            return;
          }
          const out: string[] = [
            `${pad('#', 6)}${pad('SEVERITY', 10)}${pad('TIER', 5)}${pad('STATUS', 12)}${pad('UNIT', 22)}${pad('ALERTS', 8)}TITLE`,
          ];
          for (const c of page.items) {
            out.push(
              `${pad(String(c.number), 6)}${pad(c.severity, 10)}${pad(c.tier ? String(c.tier) : '-', 5)}` +
                `${pad(c.status, 12)}${pad(c.businessUnit ?? '-', 22)}${pad(String(c.alertCount), 8)}${c.title}` +
                (c.allAllowlisted ? '  [allow-listed source]' : ''),
            );
          }
          const ratio = counts.cases === 0 ? '-' : (counts.alerts / counts.cases).toFixed(1);
          out.push(
            '',
            `${counts.cases} cases (${counts.openCases} open) from ${counts.alerts} alerts / ${counts.events} events: ` +
              `${ratio} alerts per case`,
          );
          process.stdout.write(`${out.join('\n')}\n`);
        } finally {
          await store.close();
        }
      },
    );
}
