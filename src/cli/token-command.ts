import type { Command } from 'commander';
import { ROLES, isRole } from '../core/access.js';
import { WardenError } from '../core/errors.js';
import { AccessTokens } from '../pipeline/access-tokens.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { dataOption } from './common-options.js';

export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('API tokens');
  token
    .command('create')
    .description('create a token; prints the secret once')
    .requiredOption('--role <role>', `one of: ${ROLES.join(', ')}`)
    .option('--unit <id...>', 'limit the token to these business units (repeatable)')
    .option('--name <name>', 'a label shown in the audit log')
    .addOption(dataOption())
    .action(async (options: { role: string; unit?: string[]; name?: string; data: string }) => {
      if (!isRole(options.role)) {
        throw new WardenError(
          'invalid_field',
          `--role must be one of: ${ROLES.join(', ')} (got "${options.role}")`,
          {
            field: 'role',
          },
        );
      }
      const store = new SqliteStore({ dataDir: options.data });
      try {
        const { token: created, secret } = await new AccessTokens(store).create({
          role: options.role,
          units: options.unit ?? null,
          createdBy: `cli:${process.env.USER ?? 'unknown'}`,
          ...(options.name ? { name: options.name } : {}),
        });
        process.stderr.write(
          `created token ${created.id} (${created.name}), role ${created.role}, units ${created.units?.join(',') ?? 'all'}\n`,
        );
        process.stdout.write(`${secret}\n`);
      } finally {
        await store.close();
      }
    });

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .addOption(dataOption())
    .action(async (options: { data: string }) => {
      const store = new SqliteStore({ dataDir: options.data });
      try {
        const tokens = await new AccessTokens(store).list();
        process.stdout.write(
          `${'ID'.padEnd(38)}${'ROLE'.padEnd(11)}${'UNITS'.padEnd(24)}${'CREATED'.padEnd(26)}NAME\n`,
        );
        for (const t of tokens) {
          process.stdout.write(
            `${t.id.padEnd(38)}${t.role.padEnd(11)}${(t.units?.join(',') ?? 'all').padEnd(24)}${t.createdAt.padEnd(26)}${t.name}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });
  token
    .command('revoke')
    .description(
      'revoke a token: its secret stops working at once (within a second on a running server)',
    )
    .argument('<id>', 'token id (see warden token list)')
    .addOption(dataOption())
    .action(async (id: string, options: { data: string }) => {
      const store = new SqliteStore({ dataDir: options.data });
      try {
        await new AccessTokens(store).revoke(id, `cli:${process.env.USER ?? 'unknown'}`);
        process.stderr.write(`revoked token ${id}\n`);
      } finally {
        await store.close();
      }
    });
}
