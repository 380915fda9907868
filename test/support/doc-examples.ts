import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { loadContainmentPolicy } from '../../src/config/policy-config.js';
import { loadWardenConfig } from '../../src/config/warden-config.js';
import { localConnectors } from '../../src/connectors/local-connectors.js';
import { InventoryIndex } from '../../src/core/inventory.js';
import type { Playbook } from '../../src/playbooks/playbook.js';
import { parsePlaybook } from '../../src/playbooks/playbook-loader.js';
import { runPlaybookTest } from '../../src/playbooks/playbook-test-runner.js';
import { DEMO_CONFIG } from './warden-harness.js';

/**
 * The examples of a docs/connectors/*.md page, for the tests that hold the
 * page to what the code does: a block is found after its marker
 * (`<!-- example: connectors.yaml -->`) or heading, then loaded (see
 * `loadConnectorsFromYaml` in connector-test-kit.ts), compiled or run.
 */

/** The text of docs/connectors/<page>, e.g. `connectorDoc('jira.md')`. */
export function connectorDoc(page: string): string {
  return readFileSync(new URL(`../../docs/connectors/${page}`, import.meta.url), 'utf8');
}

/**
 * The first ```<language> block after `anchor` (a marker or a heading,
 * e.g. `## notify`), without its fences; the anchor must be on the page.
 */
export function blockAfter(docs: string, anchor: string, language = 'yaml'): string {
  const at = docs.indexOf(anchor);
  expect(at, anchor).toBeGreaterThanOrEqual(0);
  const fence = `\`\`\`${language}\n`;
  const start = docs.indexOf(fence, at) + fence.length;
  return docs.slice(start, docs.indexOf('```', start));
}

/**
 * The block an `<!-- example: <marker> -->` comment introduces, e.g.
 * `docExample(docs, 'connectors.yaml')`: only blank lines may stand between
 * the comment and the block.
 */
export function docExample(docs: string, marker: string, language = 'yaml'): string {
  const comment = `<!-- example: ${marker} -->`;
  const block = blockAfter(docs, comment, language);
  const after = docs.slice(docs.indexOf(comment) + comment.length).trimStart();
  expect(after.startsWith(`\`\`\`${language}\n`), `${comment} opens a ${language} block`).toBe(
    true,
  );
  return block;
}

/** Every ```yaml block of the page, in order. */
export function yamlBlocks(docs: string): string[] {
  return [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

/** Every ```yaml block that is a list of playbook steps (it starts `- id:`), in order. */
export function stepExamples(docs: string): string[] {
  return yamlBlocks(docs).filter((block) => block.startsWith('- id: '));
}

/**
 * Step blocks compiled together as the steps of one playbook (triggered by
 * `prompt_injection`), as a playbook file at `source` would be: it throws
 * where a step does not compile.
 */
export function compileSteps(steps: readonly string[], source: string): Playbook {
  const text = [
    'id: docs-example-steps',
    'version: 1',
    `title: The steps of ${source}`,
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
  return parsePlaybook(text, source);
}

/**
 * Runs the first test a (docs) playbook carries against the demo estate
 * (examples/demo) and returns why it failed, one line each: `[]` when it
 * passed. A playbook without a test fails the calling test.
 */
export async function runFirstTestOnDemo(playbook: Playbook): Promise<string[]> {
  const test = playbook.tests[0];
  expect(test, `${playbook.id} has a test`).toBeDefined();
  if (test === undefined) return [];
  const inventory = new InventoryIndex(loadWardenConfig(DEMO_CONFIG).inventory);
  const result = await runPlaybookTest(playbook, test, {
    inventory,
    policy: loadContainmentPolicy(DEMO_CONFIG),
    playbooks: new Map([[playbook.id, playbook]]),
    readAlertFile: () => ({}),
    localConnectors: localConnectors(inventory),
  });
  return result.failures;
}
