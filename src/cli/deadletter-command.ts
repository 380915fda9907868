import type { Command } from 'commander';
import { WardenError } from '../core/errors.js';
import { openWarden, type Warden } from '../main.js';
import { findSourceFormat } from '../sources/source-registry.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { DeadLetterRecord } from '../store/store.js';
import { configOption, dataOption, positiveInteger } from './common-options.js';
import { ProgressBar } from './progress-bar.js';

function pad(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function replayState(d: DeadLetterRecord): string {
  const result = d.replayResult;
  if (!result) return '-';
  return result.status === 'rejected' ? 'refused again' : `alert ${result.alertId}`;
}

export function registerDeadletterCommand(program: Command): void {
  const deadletter = program
    .command('deadletter')
    .description('alerts the API refused, kept when warden.yaml sets ingest.dead_letter');

  deadletter
    .command('list')
    .description('list dead letters, newest first')
    .addOption(dataOption())
    .option('--limit <n>', 'how many', positiveInteger('--limit'), 20)
    .option('--json', 'print JSON (with each body) instead of a table')
    .action(async (options: { data: string; limit: number; json?: boolean }) => {
      const store = new SqliteStore({ dataDir: options.data });
      try {
        const { items } = await store.listDeadLetters({ limit: Math.max(options.limit, 1) });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
          return;
        }
        const out = [
          `${pad('ID', 38)}${pad('RECEIVED', 26)}${pad('SOURCE', 12)}${pad('REPLAY', 20)}REASON`,
        ];
        for (const d of items) {
          out.push(
            `${pad(d.id, 38)}${pad(d.receivedAt, 26)}${pad(d.source ?? '-', 12)}${pad(replayState(d), 20)}${d.reason}`,
          );
        }
        out.push('', `${items.length} dead letter${items.length === 1 ? '' : 's'}`);
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });

  deadletter
    .command('replay')
    .description(
      'ingest a dead letter again (or, with --all, every pending one); one refused again stays, with the new reason',
    )
    .argument('[id]', 'dead letter id (see warden deadletter list)')
    .option('--all', 'every dead letter not yet replayed into an alert, oldest first')
    .option('--limit <n>', 'with --all: at most this many', positiveInteger('--limit'), 10_000)
    .option('--source <format>', 'read it as this format (default: as first sent)')
    .addOption(configOption())
    .addOption(dataOption())
    .action(
      async (
        id: string | undefined,
        options: { all?: boolean; limit: number; source?: string; config: string; data: string },
      ) => {
        if (options.all === true && id !== undefined) {
          throw new WardenError('invalid_field', 'give a dead letter id or --all, not both', {
            field: '--all',
          });
        }
        if (options.all !== true && id === undefined) {
          throw new WardenError(
            'missing_field',
            'give a dead letter id (see warden deadletter list), or --all',
            { field: 'id' },
          );
        }
        if (options.source) findSourceFormat(options.source);
        // Runs a new case starts are queued for the server, as `warden ingest` does.
        const warden = openWarden({
          configDir: options.config,
          dataDir: options.data,
          playbooks: 'queue',
        });
        try {
          const actor = `cli:${process.env.USER ?? 'unknown'}`;
          const source = options.source ? { source: options.source } : {};
          if (id === undefined) {
            await replayAll(warden, { ...source, actor, limit: options.limit });
            return;
          }
          const replay = await warden.deadLetters.replay(id, { ...source, actor });
          if ('error' in replay) {
            process.stderr.write(`dead letter ${id} refused again: ${replay.error.message}\n`);
            process.exitCode = 1;
            return;
          }
          const { outcome } = replay;
          const inCase = outcome.caseNumber === null ? '' : ` in case #${outcome.caseNumber}`;
          process.stdout.write(
            `replayed dead letter ${id}: ${outcome.status === 'new' ? 'new' : 'duplicate'} alert ${outcome.id}${inCase}\n`,
          );
        } finally {
          await warden.close();
        }
      },
    );
}

async function replayAll(
  warden: Warden,
  options: { source?: string; actor: string; limit: number },
): Promise<void> {
  let bar: ProgressBar | undefined;
  const summary = await warden.deadLetters.replayPending({
    ...options,
    progress: (done, total) => {
      if (total < 1000) return;
      bar ??= new ProgressBar(total, 'replay');
      bar.advance(done - bar.count);
    },
  });
  bar?.finish();
  for (const { deadLetterId, result } of summary.results) {
    if (result.status === 'rejected') {
      process.stderr.write(`dead letter ${deadLetterId} refused again: ${result.message}\n`);
    }
  }
  const left = summary.remaining > 0 ? `; ${summary.remaining} more pending (--limit)` : '';
  process.stdout.write(
    `replayed ${summary.replayed} dead letter${summary.replayed === 1 ? '' : 's'}: ` +
      `${summary.stored} stored as alerts, ${summary.refused} refused again${left}\n`,
  );
  if (summary.refused > 0) process.exitCode = 1;
}
