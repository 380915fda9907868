import { join } from 'node:path';
import { loadContainmentPolicy, loadRouter } from './config/policy-config.js';
import type { WardenConfig } from './config/warden-config.js';
import { loadConnectors, type ConnectorRegistry } from './connectors/connector-config.js';
import { NOTIFY_ACTION, POST_CASE_ACTION } from './connectors/connector.js';
import { playbookConnectorProblems } from './connectors/step-inputs.js';
import type { ContainmentPolicy } from './core/containment-policy.js';
import { WardenError } from './core/errors.js';
import type { Playbook } from './playbooks/playbook.js';
import { executorConnectors } from './connectors/executor-adapter.js';
import { streamLogSink } from './connectors/log/log-connector.js';
import { loadSecretSource, SECRETS_FILE } from './connectors/secrets.js';
import { InventoryIndex } from './core/inventory.js';
import { unknownPlaybookIds } from './core/playbook-router.js';
import { PlaybookExecutor, type PlaybookExecutorOptions } from './pipeline/playbook-executor.js';
import { loadPlaybooks } from './playbooks/playbook-loader.js';
import type { Store } from './store/store.js';

/**
 * The response side, wired from the config directory: playbooks, router,
 * containment policy and connectors (secrets from `WARDEN_SECRET_<NAME>` or
 * `DATA/secrets.yaml`). Used where the store's writer lives: the main thread,
 * or the writer thread.
 */
export interface PlaybookEngineOptions {
  config: WardenConfig;
  dataDir: string;
  /** Where the `log` connector writes. @default stdout */
  logStream?: NodeJS.WritableStream;
}

export type PlaybookEngineConfig = Omit<PlaybookExecutorOptions, 'store'>;

/** Loads and checks everything the executor needs; any mistake throws with file:line:col. */
export function loadPlaybookEngine(options: PlaybookEngineOptions): PlaybookEngineConfig {
  const configDir = options.config.dir;
  const inventory = new InventoryIndex(options.config.inventory);
  const playbooks = loadPlaybooks(join(configDir, 'playbooks'));
  const router = loadRouter(configDir, { inventory: options.config.inventory });
  const unknown = unknownPlaybookIds(
    router,
    playbooks.map((p) => p.id),
  );
  for (const reference of unknown) {
    // Not fatal: such alerts get no playbook, and their case timeline says why.
    process.emitWarning(
      `${router.file ?? 'router'}: ${reference.field} names playbook ${reference.playbookId}, which is not in ${join(configDir, 'playbooks')}`,
      { code: 'WARDEN_UNKNOWN_PLAYBOOK' },
    );
  }
  // The router dispatches new cases: one of its playbooks that starts on a close would never run.
  const onClose = new Set(playbooks.filter((p) => p.trigger.on !== 'new_case').map((p) => p.id));
  for (const reference of unknownPlaybookIds(
    router,
    playbooks.map((p) => p.id).filter((id) => !onClose.has(id)),
  )) {
    if (!onClose.has(reference.playbookId)) continue;
    process.emitWarning(
      `${router.file ?? 'router'}: ${reference.field} names playbook ${reference.playbookId}, which starts on case_closed: the router only dispatches new cases`,
      { code: 'WARDEN_ROUTED_CLOSE_PLAYBOOK' },
    );
  }
  const connectors = loadConnectors(configDir, {
    secrets: loadSecretSource({
      env: process.env,
      file: join(options.dataDir, SECRETS_FILE),
      fallbackFiles: [join(configDir, SECRETS_FILE)],
    }),
    inventory,
    logSink: streamLogSink(options.logStream ?? process.stdout),
  });
  checkConnectorReferences(playbooks, connectors);
  const policy = loadContainmentPolicy(configDir);
  checkApprovalAnnouncers(policy, connectors);
  return {
    playbooks,
    router,
    policy,
    connectors: executorConnectors(connectors),
  };
}

export function openPlaybookEngine(store: Store, engine: PlaybookEngineConfig): PlaybookExecutor {
  return new PlaybookExecutor({ store, ...engine });
}

/** `announce_approvals` names connectors that can post a case (`post_case`) or a message (`notify`). */
function checkApprovalAnnouncers(policy: ContainmentPolicy, registry: ConnectorRegistry): void {
  const problems: string[] = [];
  for (const name of policy.announceApprovals ?? []) {
    const where = `${policy.file ?? 'policy'}: announce_approvals`;
    if (!registry.has(name)) {
      problems.push(
        `${where}: unknown connector "${name}" (configured: ${registry.names().join(', ')})`,
      );
      continue;
    }
    const actions = Object.keys(registry.get(name).actions);
    if (!actions.includes(POST_CASE_ACTION) && !actions.includes(NOTIFY_ACTION)) {
      problems.push(
        `${where}: connector ${name} can neither post a case nor notify (it has: ${actions.join(', ')})`,
      );
    }
  }
  if (problems.length > 0) {
    throw new WardenError('invalid_config', problems.join('\n'), { details: { problems } });
  }
}

/** A typo in what playbooks ask of connectors stops start-up, not a run. */
function checkConnectorReferences(
  playbooks: readonly Playbook[],
  registry: ConnectorRegistry,
): void {
  const problems = playbookConnectorProblems(playbooks, registry);
  if (problems.length > 0) {
    throw new WardenError('invalid_config', problems.join('\n'), { details: { problems } });
  }
}
