import { describe, expect, it } from 'vitest';
import { loadConnectorsFromYaml } from '../../../test/support/connector-test-kit.js';
import {
  compileSteps,
  connectorDoc,
  docExample,
  stepExamples,
} from '../../../test/support/doc-examples.js';
import { JIRA_ACTIONS } from './jira-connector.js';
import { JIRA_CONNECTOR_TYPE } from './jira-connector-config.js';

/** docs/connectors/jira.md: its connectors.yaml loads, its steps compile, every action is there. */
const docs = connectorDoc('jira.md');

describe('docs/connectors/jira.md', () => {
  it('has a connectors.yaml that loads', () => {
    const registry = loadConnectorsFromYaml(docExample(docs, 'connectors.yaml'), {
      secrets: { JIRA_API_TOKEN: 't', JIRA_PAT: 'p' },
      types: [JIRA_CONNECTOR_TYPE],
    });
    expect(registry.get('jira').type).toBe('jira');
    expect(registry.get('jira').rateLimit).toEqual({ requests: 5, intervalMs: 1000 });
    expect(registry.get('jira_dc').type).toBe('jira');
  });

  it('has step examples that compile together as one playbook', () => {
    const steps = stepExamples(docs);
    expect(steps.length).toBeGreaterThanOrEqual(4);
    const playbook = compileSteps(steps, 'docs/connectors/jira.md');
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
