import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadContainmentPolicy } from '../src/config/policy-config.js';
import { loadWardenConfig } from '../src/config/warden-config.js';
import { InventoryIndex } from '../src/core/inventory.js';
import { parsePlaybook } from '../src/playbooks/playbook-loader.js';
import { runPlaybookTest } from '../src/playbooks/playbook-test-runner.js';
import { DEMO_CONFIG } from './support/warden-harness.js';

/** The README's worked example is a playbook that loads and passes its own test. */
describe('the README playbook guide', () => {
  const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Playbooks'));
  const start = section.indexOf('```yaml\n') + '```yaml\n'.length;
  const yaml = section.slice(start, section.indexOf('```', start));

  it('has a worked example that validates and passes its test on the demo estate', async () => {
    const playbook = parsePlaybook(yaml, 'README.md#playbooks');
    expect(playbook.id).toBe('block-hostile-range');
    expect(playbook.tests).toHaveLength(1);
    const config = loadWardenConfig(DEMO_CONFIG);
    const result = await runPlaybookTest(
      playbook,
      playbook.tests[0] as (typeof playbook.tests)[0],
      {
        inventory: new InventoryIndex(config.inventory),
        policy: loadContainmentPolicy(DEMO_CONFIG),
        playbooks: new Map([[playbook.id, playbook]]),
        readAlertFile: () => ({}),
      },
    );
    expect(result.failures).toEqual([]);
  });
});
