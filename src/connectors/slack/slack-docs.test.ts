import { describe, expect, it } from 'vitest';
import { loadConnectorsFromYaml } from '../../../test/support/connector-test-kit.js';
import {
  blockAfter,
  connectorDoc,
  docExample,
  runFirstTestOnDemo,
} from '../../../test/support/doc-examples.js';
import { parsePlaybook } from '../../playbooks/playbook-loader.js';
import { slackCaseMessage, slackNotifyMessage, type SlackCaseInput } from './slack-blocks.js';
import { SLACK_ACTIONS } from './slack-connector.js';
import { SLACK_CONNECTOR_TYPE } from './slack-connector-config.js';

/** docs/connectors/slack.md: its examples load and run as written, and its Block Kit is what is sent. */
const docs = connectorDoc('slack.md');

describe('docs/connectors/slack.md', () => {
  it('has a connectors.yaml that loads', () => {
    const registry = loadConnectorsFromYaml(docExample(docs, 'connectors.yaml'), {
      secrets: {
        SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX',
      },
      types: [SLACK_CONNECTOR_TYPE],
    });
    expect(registry.get('secops_slack').type).toBe('slack');
    expect(registry.get('secops_slack').rateLimit).toEqual({ requests: 1, intervalMs: 1000 });
  });

  it('has a playbook that loads and passes its test', async () => {
    const playbook = parsePlaybook(docExample(docs, 'playbook'), 'docs/connectors/slack.md');
    expect(await runFirstTestOnDemo(playbook)).toEqual([]);
  });

  it('shows the Block Kit message post_case sends for its example input', () => {
    const input = JSON.parse(docExample(docs, 'post_case input', 'json')) as SlackCaseInput;
    const shown = JSON.parse(docExample(docs, 'post_case message', 'json')) as unknown;
    expect(slackCaseMessage(input, 'https://warden.bank.example')).toEqual(shown);
  });

  it('shows the notify message as sent', () => {
    const shown = JSON.parse(blockAfter(docs, '## notify', 'json')) as unknown;
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
