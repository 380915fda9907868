import { describe, expect, it } from 'vitest';
import { loadConnectorsFromYaml } from '../../../test/support/connector-test-kit.js';
import {
  compileSteps,
  connectorDoc,
  docExample,
  stepExamples,
} from '../../../test/support/doc-examples.js';
import type { ConnectorRegistry } from '../connector-config.js';
import { SERVICENOW_ACTIONS } from './servicenow-connector.js';
import { SERVICENOW_CONNECTOR_TYPE } from './servicenow-connector-config.js';

/** docs/connectors/servicenow.md: its connectors.yaml loads, its steps compile, every action is there. */
const docs = connectorDoc('servicenow.md');

function load(yaml: string): ConnectorRegistry {
  return loadConnectorsFromYaml(yaml, {
    secrets: { SN_PASSWORD: 'p', SN_OAUTH_TOKEN: 't' },
    types: [SERVICENOW_CONNECTOR_TYPE],
  });
}

describe('docs/connectors/servicenow.md', () => {
  it('has connectors.yaml examples that load', () => {
    const registry = load(docExample(docs, 'connectors.yaml'));
    expect(registry.get('servicenow').type).toBe('servicenow');
    expect(registry.get('servicenow').rateLimit).toEqual({ requests: 10, intervalMs: 1000 });
    expect(load(docExample(docs, 'connectors.yaml (token)')).get('servicenow').type).toBe(
      'servicenow',
    );
  });

  it('has step examples that compile together as one playbook', () => {
    const steps = stepExamples(docs);
    expect(steps.length).toBeGreaterThanOrEqual(4);
    const playbook = compileSteps(steps, 'docs/connectors/servicenow.md');
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
