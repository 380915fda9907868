import { describe, expect, it } from 'vitest';
import { loadConnectorsFromYaml } from '../../../test/support/connector-test-kit.js';
import {
  connectorDoc,
  docExample,
  runFirstTestOnDemo,
} from '../../../test/support/doc-examples.js';
import { parsePlaybook } from '../../playbooks/playbook-loader.js';
import { MLFLOW_ACTIONS } from './mlflow-actions.js';
import { MLFLOW_CONNECTOR_TYPE } from './mlflow-config.js';

/** docs/connectors/mlflow.md: its examples load and run as written, and every action is there. */
const docs = connectorDoc('mlflow.md');

describe('docs/connectors/mlflow.md', () => {
  it('has a connectors.yaml that loads', () => {
    const registry = loadConnectorsFromYaml(docExample(docs, 'connectors.yaml'), {
      secrets: { MLFLOW_PASSWORD: 'p', DATABRICKS_TOKEN: 't' },
      types: [MLFLOW_CONNECTOR_TYPE],
    });
    expect(registry.get('model_registry').type).toBe('mlflow');
    expect(registry.get('model_registry').rateLimit).toEqual({ requests: 10, intervalMs: 1000 });
    expect(registry.get('databricks_registry').type).toBe('mlflow');
  });

  it('has a playbook that loads and passes its test on the demo estate', async () => {
    const playbook = parsePlaybook(docExample(docs, 'playbook'), 'docs/connectors/mlflow.md');
    expect(await runFirstTestOnDemo(playbook)).toEqual([]);
  });

  it('documents every action', () => {
    for (const action of Object.keys(MLFLOW_ACTIONS)) {
      expect(docs, action).toMatch(new RegExp(`(\\| \`${action}\` \\||#### \`${action}\`)`));
    }
  });
});
