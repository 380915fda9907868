#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { WardenError } from '../core/errors.js';
import { packageVersion } from '../main.js';
import { registerAtlasCommand } from './atlas-command.js';
import { registerAuditCommand } from './audit-command.js';
import { registerCasesCommand } from './cases-command.js';
import { registerDeadletterCommand } from './deadletter-command.js';
import { registerEvidenceCommand } from './evidence-command.js';
import { registerIngestCommand } from './ingest-command.js';
import { registerPlaybookCommand } from './playbook-command.js';
import { registerPolicyCommand } from './policy-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerTokenCommand } from './token-command.js';

const program = new Command('warden')
  .description('Warden: SOAR for alerts from AI/ML systems')
  .version(packageVersion())
  .showHelpAfterError()
  .exitOverride();

registerServeCommand(program);
registerIngestCommand(program);
registerCasesCommand(program);
registerAuditCommand(program);
registerTokenCommand(program);
registerPolicyCommand(program);
registerPlaybookCommand(program);
registerAtlasCommand(program);
registerDeadletterCommand(program);
registerEvidenceCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (error instanceof WardenError) {
    process.stderr.write(`warden: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`warden: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
