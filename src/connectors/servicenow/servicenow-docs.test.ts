import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InventoryIndex, emptyInventory } from '../../core/inventory.js';
import { parsePlaybook } from '../../playbooks/playbook-loader.js';
import { loadConnectors } from '../connector-config.js';
import { staticSecretSource } from '../secrets.js';
import { SERVICENOW_ACTIONS } from './servicenow-connector.js';
import { SERVICENOW_CONNECTOR_TYPE } from './servicenow-connector-config.js';

/** docs/connectors/servicenow.md: its connectors.yaml loads, its steps compile, every action is there. */
const docs = readFileSync(
  fileURLToPath(new URL('../../../docs/connectors/servicenow.md', import.meta.url)),
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

function load(yaml: string): ReturnType<typeof loadConnectors> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-servicenow-docs-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'connectors.yaml'), yaml);
  return loadConnectors(dir, {
    secrets: staticSecretSource({ SN_PASSWORD: 'p', SN_OAUTH_TOKEN: 't' }),
    inventory: new InventoryIndex(emptyInventory()),
    logSink: { write: () => undefined },
    types: [SERVICENOW_CONNECTOR_TYPE],
  });
}

describe('docs/connectors/servicenow.md', () => {
  it('has connectors.yaml examples that load', () => {
    const registry = load(example('connectors.yaml'));
    expect(registry.get('servicenow').type).toBe('servicenow');
    expect(registry.get('servicenow').rateLimit).toEqual({ requests: 10, intervalMs: 1000 });
    expect(load(example('connectors.yaml (token)')).get('servicenow').type).toBe('servicenow');
  });

  it('has step examples that compile together as one playbook', () => {
    const steps = stepExamples();
    expect(steps.length).toBeGreaterThanOrEqual(4);
    const text = [
      'id: servicenow-docs',
      'version: 1',
      'title: The steps of docs/connectors/servicenow.md',
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
    const playbook = parsePlaybook(text, 'docs/connectors/servicenow.md');
    expect(playbook.steps.map((step) => step.id)).toEqual([
      'incident',
      'note_block',
      'resolve_incident',
      'incident_state',
    ]);
  });

  it('documents every action', () => {
    for (const action of Object.values(SERVICENOW_ACTIONS)) {
      expect(docs, action).toContain(`### ${action}\n`);
    }
  });
});
