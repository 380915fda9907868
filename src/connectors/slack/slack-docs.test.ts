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
import { slackCaseMessage, slackNotifyMessage, type SlackCaseInput } from './slack-blocks.js';
import { SLACK_ACTIONS } from './slack-connector.js';
import { SLACK_CONNECTOR_TYPE } from './slack-connector-config.js';

/** docs/connectors/slack.md: its examples load and run as written, and its Block Kit is what is sent. */
const docs = readFileSync(
  fileURLToPath(new URL('../../../docs/connectors/slack.md', import.meta.url)),
  'utf8',
);

function example(marker: string, language = 'yaml'): string {
  const at = docs.indexOf(`<!-- example: ${marker} -->`);
  expect(at, marker).toBeGreaterThanOrEqual(0);
  const start = docs.indexOf(`\`\`\`${language}\n`, at) + `\`\`\`${language}\n`.length;
  return docs.slice(start, docs.indexOf('```', start));
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('docs/connectors/slack.md', () => {
  it('has a connectors.yaml that loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-slack-docs-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'connectors.yaml'), example('connectors.yaml'));
    const registry = loadConnectors(dir, {
      secrets: staticSecretSource({
        SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX',
      }),
      inventory: new InventoryIndex(emptyInventory()),
      logSink: { write: () => undefined },
      types: [SLACK_CONNECTOR_TYPE],
    });
    expect(registry.get('secops_slack').type).toBe('slack');
    expect(registry.get('secops_slack').rateLimit).toEqual({ requests: 1, intervalMs: 1000 });
  });

  it('has a playbook that loads and passes its test', async () => {
    const playbook = parsePlaybook(example('playbook'), 'docs/connectors/slack.md');
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

  it('shows the Block Kit message post_case sends for its example input', () => {
    const input = JSON.parse(example('post_case input', 'json')) as SlackCaseInput;
    const shown = JSON.parse(example('post_case message', 'json')) as unknown;
    expect(slackCaseMessage(input, 'https://warden.bank.example')).toEqual(shown);
  });

  it('shows the notify message as sent', () => {
    const at = docs.indexOf('## notify');
    const start = docs.indexOf('```json\n', at) + '```json\n'.length;
    const shown = JSON.parse(docs.slice(start, docs.indexOf('```', start))) as unknown;
    expect(
      slackNotifyMessage({ message: 'Case #42 is in containment.', to: 'ml-retail@bank.example' }),
    ).toEqual(shown);
  });

  it('documents every action', () => {
    for (const action of Object.keys(SLACK_ACTIONS)) {
      expect(docs, action).toContain(`## ${action}`);
    }
  });
});
