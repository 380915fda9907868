import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InventoryIndex, emptyInventory } from '../../core/inventory.js';
import { parsePlaybook } from '../../playbooks/playbook-loader.js';
import { loadConnectors } from '../connector-config.js';
import { staticSecretSource } from '../secrets.js';
import { JIRA_ACTIONS } from './jira-connector.js';
import { JIRA_CONNECTOR_TYPE } from './jira-connector-config.js';

/** docs/connectors/jira.md: its connectors.yaml loads, its steps compile, every action is there. */
const docs = readFileSync(
  fileURLToPath(new URL('../../../docs/connectors/jira.md', import.meta.url)),
  'utf8',
);

function example(marker: string): string {
  const at = docs.indexOf(`<!-- example: ${marker} -->`);
  expect(at, marker).toBeGreaterThanOrEqual(0);
  const start = docs.indexOf('```yaml\n', at) + '```yaml\n'.length;
  return docs.slice(start, docs.indexOf('```', start));
}

/** Every yaml block that is a list of steps, in document order. */
function stepExamples(): string[] {
  return [...docs.matchAll(/```yaml\n(- id: [\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('docs/connectors/jira.md', () => {
  it('has a connectors.yaml that loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-jira-docs-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'connectors.yaml'), example('connectors.yaml'));
    const registry = loadConnectors(dir, {
      secrets: staticSecretSource({ JIRA_API_TOKEN: 't', JIRA_PAT: 'p' }),
      inventory: new InventoryIndex(emptyInventory()),
      logSink: { write: () => undefined },
      types: [JIRA_CONNECTOR_TYPE],
    });
    expect(registry.get('jira').type).toBe('jira');
    expect(registry.get('jira').rateLimit).toEqual({ requests: 5, intervalMs: 1000 });
    expect(registry.get('jira_dc').type).toBe('jira');
  });

  it('has step examples that compile together as one playbook', () => {
    const steps = stepExamples();
    expect(steps.length).toBeGreaterThanOrEqual(4);
    const text = [
      'id: jira-docs',
      'version: 1',
      'title: The steps of docs/connectors/jira.md',
      'owner: secops@example.com',
      'trigger:',
      '  types: [prompt_injection]',
      'steps:',
      ...steps.flatMap((block) =>
        block
          .trimEnd()
          .split('\n')
          .map((line) => `  ${line}`),
      ),
      '',
    ].join('\n');
    const playbook = parsePlaybook(text, 'docs/connectors/jira.md');
    expect(playbook.steps.map((step) => step.id)).toEqual([
      'ticket',
      'note_block',
      'close_ticket',
      'ticket_state',
      'still_open',
    ]);
  });

  it('documents every action', () => {
    for (const action of Object.values(JIRA_ACTIONS)) {
      expect(docs, action).toContain(`### ${action}\n`);
    }
  });
});
