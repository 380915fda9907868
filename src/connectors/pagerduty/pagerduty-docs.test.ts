import { describe, expect, it } from 'vitest';
import { loadConnectorsFromYaml } from '../../../test/support/connector-test-kit.js';
import {
  connectorDoc,
  docExample,
  runFirstTestOnDemo,
} from '../../../test/support/doc-examples.js';
import { parsePlaybook } from '../../playbooks/playbook-loader.js';
import { PAGERDUTY_ACTIONS } from './pagerduty-connector.js';
import { PAGERDUTY_CONNECTOR_TYPE } from './pagerduty-connector-config.js';

/** docs/connectors/pagerduty.md: its examples load and run as written, and every action is there. */
const docs = connectorDoc('pagerduty.md');

describe('docs/connectors/pagerduty.md', () => {
  it('has a connectors.yaml that loads', () => {
    const registry = loadConnectorsFromYaml(docExample(docs, 'connectors.yaml'), {
      secrets: { PD_ROUTING_KEY: 'R0UT1NGKEY00000000000000000000ab' },
      types: [PAGERDUTY_CONNECTOR_TYPE],
    });
    expect(registry.get('pager').type).toBe('pagerduty');
    expect(registry.get('pager').rateLimit).toEqual({ requests: 120, intervalMs: 60_000 });
  });

  it('has a playbook that loads and passes its test', async () => {
    const playbook = parsePlaybook(docExample(docs, 'playbook'), 'docs/connectors/pagerduty.md');
    expect(await runFirstTestOnDemo(playbook)).toEqual([]);
  });

  it('documents every action', () => {
    for (const action of Object.keys(PAGERDUTY_ACTIONS)) {
      expect(docs, action).toMatch(new RegExp(`^## .*\\b${action}\\b`, 'm'));
    }
  });
});
