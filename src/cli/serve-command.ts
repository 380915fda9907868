import type { Command } from 'commander';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { loadSecretSource, SECRETS_FILE } from '../connectors/secrets.js';
import { startDemoServices } from '../demo/demo-services.js';
import { formatAuditAnchor } from '../core/audit-chain.js';
import { auditHead } from '../pipeline/audit-verification.js';
import { startPullSources } from '../sources/pull/pull-sources.js';
import { openWarden, wardenServer } from '../main.js';
import { configOption, dataOption, positiveInteger } from './common-options.js';

/** How often a running server logs the audit log's head. */
const AUDIT_HEAD_LOG_MS = 60 * 60 * 1000;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP API on the embedded store')
    .addOption(configOption())
    .addOption(dataOption())
    .option(
      '--port <n>',
      'port (default: warden.yaml server.port, else 8080)',
      positiveInteger('--port'),
    )
    .option(
      '--host <host>',
      'interface to listen on (default: warden.yaml server.host, else 0.0.0.0)',
    )
    .option(
      '--demo-services [port]',
      'also run the stand-in services the demo playbooks act through (default port 8089)',
    )
    .action(
      async (options: {
        config: string;
        data: string;
        port?: number;
        host?: string;
        demoServices?: true | string;
      }) => {
        keepHeapsSmall();
        const demo = options.demoServices
          ? await startDemoServices({
              port:
                options.demoServices === true
                  ? 8089
                  : positiveInteger('--demo-services')(options.demoServices),
            })
          : undefined;
        const warden = openWarden({ configDir: options.config, dataDir: options.data });
        const adminSecret = await warden.tokens.ensureAdmin(process.env.WARDEN_ADMIN_TOKEN);
        const app = wardenServer(warden, { level: process.env.WARDEN_LOG_LEVEL ?? 'info' });
        // Started before listening, so a mistake in sources.yaml stops start-up.
        const pull = startPullSources({
          configDir: options.config,
          dataDir: options.data,
          secrets: loadSecretSource({
            env: process.env,
            file: join(options.data, SECRETS_FILE),
            fallbackFiles: [join(options.config, SECRETS_FILE)],
          }),
          ingest: (alerts) =>
            warden.ingest.submit(alerts.map((a) => warden.preparer.prepare(a.draft, a.rawText))),
          log: app.log,
          observer: warden.metrics,
        });
        const port = options.port ?? warden.config.server.port;
        const host = options.host ?? warden.config.server.host;
        const address = await app.listen({ port, host });
        const inv = warden.config.inventory;
        process.stdout.write(
          `Warden ${address} — store ${options.data}, config ${warden.config.dir} ` +
            `(${inv.businessUnits.length} business units, ${inv.models.length} models)\n`,
        );
        if (demo) {
          process.stdout.write(
            `Demo services ${demo.url} — what the playbooks did: curl ${demo.url}/\n`,
          );
        }
        if (adminSecret) {
          process.stdout.write(
            `\nAdmin token (shown once, store it now; only its hash is kept):\n  ${adminSecret}\n` +
              `Try: curl -H "Authorization: Bearer ${adminSecret}" ${address.replace('0.0.0.0', 'localhost')}/api/v1/cases\n\n`,
          );
        }
        // The head in the log, which usually leaves the machine: an anchor an attacker who
        // rewrites the store cannot reach (`warden audit verify --anchor`).
        const logAuditHead = async (): Promise<void> => {
          const head = await auditHead(warden.store);
          if (head) app.log.info(`audit head ${formatAuditAnchor(head)} at ${head.at}`);
        };
        await logAuditHead();
        const headTimer = setInterval(
          () => void logAuditHead().catch(() => undefined),
          AUDIT_HEAD_LOG_MS,
        );
        headTimer.unref();
        const stop = (): void => {
          clearInterval(headTimer);
          void pull
            .stop()
            .then(() => app.close())
            .then(() => logAuditHead().catch(() => undefined))
            .then(() => warden.close())
            .then(() => demo?.close())
            .then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );
}

/**
 * A long-running server's V8 heaps, the main thread's and the writer
 * thread's, may grow to twice what they hold before a full collection,
 * instead of V8's default of up to four times when it thinks collections
 * costly. Under batched ingest that kept the process near 390 MB resident
 * instead of 550 MB, for a few percent more CPU in collections. Set before
 * the writer thread starts; it changes only how often V8 collects.
 */
function keepHeapsSmall(): void {
  setFlagsFromString('--heap-growing-percent=100');
}
