import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_CONFIG } from '../../../test/support/warden-harness.js';
import { loadContainmentPolicy } from '../../config/policy-config.js';
import { loadWardenConfig } from '../../config/warden-config.js';
import { InventoryIndex, emptyInventory } from '../../core/inventory.js';
import { parsePlaybook } from '../../playbooks/playbook-loader.js';
import { runPlaybookTest } from '../../playbooks/playbook-test-runner.js';
import { loadConnectors } from '../connector-config.js';
import { localConnectors } from '../local-connectors.js';
import { staticSecretSource } from '../secrets.js';
import { MLFLOW_ACTIONS } from './mlflow-actions.js';
import { MLFLOW_CONNECTOR_TYPE } from './mlflow-config.js';

/** docs/connectors/mlflow.md: its examples load and run as written, and every action is there. */
const docs = readFileSync(
  fileURLToPath(new URL('../../../docs/connectors/mlflow.md', import.meta.url)),
  'utf8',
);

function example(marker: string): string {
  const at = docs.indexOf(`<!-- example: ${marker} -->`);
  expect(at, marker).toBeGreaterThanOrEqual(0);
  const start = docs.indexOf('```yaml\n', at) + '```yaml\n'.length;
  return docs.slice(start, docs.indexOf('```', start));
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('docs/connectors/mlflow.md', () => {
  it('has a connectors.yaml that loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-mlflow-docs-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'connectors.yaml'), example('connectors.yaml'));
    const registry = loadConnectors(dir, {
      secrets: staticSecretSource({ MLFLOW_PASSWORD: 'p', DATABRICKS_TOKEN: 't' }),
      inventory: new InventoryIndex(emptyInventory()),
      logSink: { write: () => undefined },
      types: [MLFLOW_CONNECTOR_TYPE],
    });
    expect(registry.get('model_registry').type).toBe('mlflow');
    expect(registry.get('model_registry').rateLimit).toEqual({ requests: 10, intervalMs: 1000 });
    expect(registry.get('databricks_registry').type).toBe('mlflow');
  });

  it('has a playbook that loads and passes its test on the demo estate', async () => {
    const playbook = parsePlaybook(example('playbook'), 'docs/connectors/mlflow.md');
    const config = loadWardenConfig(DEMO_CONFIG);
    const test = playbook.tests[0];
    expect(test).toBeDefined();
    if (test === undefined) return;
    const inventory = new InventoryIndex(config.inventory);
    const result = await runPlaybookTest(playbook, test, {
      inventory,
      policy: loadContainmentPolicy(DEMO_CONFIG),
      playbooks: new Map([[playbook.id, playbook]]),
      readAlertFile: () => ({}),
      localConnectors: localConnectors(inventory),
    });
    expect(result.failures).toEqual([]);
  });

  it('documents every action', () => {
    for (const action of Object.keys(MLFLOW_ACTIONS)) {
      expect(docs, action).toMatch(new RegExp(`(\\| \`${action}\` \\||#### \`${action}\`)`));
    }
  });
});
