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
import { PAGERDUTY_ACTIONS } from './pagerduty-connector.js';
import { PAGERDUTY_CONNECTOR_TYPE } from './pagerduty-connector-config.js';

/** docs/connectors/pagerduty.md: its examples load and run as written, and every action is there. */
const docs = readFileSync(
  fileURLToPath(new URL('../../../docs/connectors/pagerduty.md', import.meta.url)),
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

describe('docs/connectors/pagerduty.md', () => {
  it('has a connectors.yaml that loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-pagerduty-docs-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'connectors.yaml'), example('connectors.yaml'));
    const registry = loadConnectors(dir, {
      secrets: staticSecretSource({ PD_ROUTING_KEY: 'R0UT1NGKEY00000000000000000000ab' }),
      inventory: new InventoryIndex(emptyInventory()),
      logSink: { write: () => undefined },
      types: [PAGERDUTY_CONNECTOR_TYPE],
    });
    expect(registry.get('pager').type).toBe('pagerduty');
    expect(registry.get('pager').rateLimit).toEqual({ requests: 120, intervalMs: 60_000 });
  });

  it('has a playbook that loads and passes its test', async () => {
    const playbook = parsePlaybook(example('playbook'), 'docs/connectors/pagerduty.md');
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
    for (const action of Object.keys(PAGERDUTY_ACTIONS)) {
      expect(docs, action).toMatch(new RegExp(`^## .*\\b${action}\\b`, 'm'));
    }
  });
});
