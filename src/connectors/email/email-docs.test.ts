import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InventoryIndex, emptyInventory } from '../../core/inventory.js';
import { parsePlaybook } from '../../playbooks/playbook-loader.js';
import { loadConnectors } from '../connector-config.js';
import { staticSecretSource } from '../secrets.js';
import { EMAIL_ACTIONS } from './email-connector.js';
import { EMAIL_CONNECTOR_TYPE } from './email-connector-config.js';

/** docs/connectors/email.md: its examples load as written, and every action is there. */
const docs = readFileSync(
  fileURLToPath(new URL('../../../docs/connectors/email.md', import.meta.url)),
  'utf8',
);

/** The first yaml block after `after` (a marker or a heading). */
function yamlAfter(after: string): string {
  const at = docs.indexOf(after);
  expect(at, after).toBeGreaterThanOrEqual(0);
  const start = docs.indexOf('```yaml\n', at) + '```yaml\n'.length;
  return docs.slice(start, docs.indexOf('```', start));
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('docs/connectors/email.md', () => {
  it('has a connectors.yaml that loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-email-docs-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'connectors.yaml'), yamlAfter('<!-- example: connectors.yaml -->'));
    const registry = loadConnectors(dir, {
      secrets: staticSecretSource({ SMTP_PASSWORD: 'p4ssw0rd-example' }),
      inventory: new InventoryIndex(emptyInventory()),
      logSink: { write: () => undefined },
      types: [EMAIL_CONNECTOR_TYPE],
    });
    expect(registry.get('mail').type).toBe('email');
    expect(registry.get('local_relay').type).toBe('email');
  });

  it('has steps that load in a playbook', () => {
    const steps = [yamlAfter('## notify'), yamlAfter('## send')]
      .map((step) => step.trimEnd().replace(/^/gm, '  '))
      .join('\n');
    const playbook = parsePlaybook(
      `id: mail-example\nversion: 1\ntitle: Mail\nowner: secops@bank.example\ntrigger:\n  types: [prompt_injection]\nsteps:\n${steps}`,
      'docs/connectors/email.md',
    );
    expect(playbook.steps.map((step) => step.id)).toEqual(['tell_owner', 'report']);
  });

  it('documents every action', () => {
    for (const action of Object.keys(EMAIL_ACTIONS)) {
      expect(docs, action).toContain(`## ${action}`);
    }
  });
});
