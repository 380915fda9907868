import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConnectorFromYaml, numberedCalls } from '../../../test/support/connector-test-kit.js';
import {
  recordActionsInto,
  serveVendorFakes,
  type RecordedAction,
  type ServedVendorFakes,
} from '../../../test/support/vendor-fake-server.js';
import type { Connector } from '../../connectors/connector.js';
import { SLACK_CONNECTOR_TYPE } from '../../connectors/slack/slack-connector-config.js';
import { createSlackFake } from './slack-fake.js';

describe('the demo Slack fake', () => {
  const recorded: RecordedAction[] = [];
  let served: ServedVendorFakes;
  let slack: Connector;

  const call = numberedCalls('demo-', { timeoutMs: 5000 });

  beforeAll(async () => {
    served = await serveVendorFakes([createSlackFake(recordActionsInto(recorded))]);
    slack = loadConnectorFromYaml(
      `connectors:
  chat:
    type: slack
    webhook_url: "\${secret:SLACK_WEBHOOK_URL}"
    warden_url: http://127.0.0.1:8080
    rate_limit: 100/s
`,
      {
        secrets: {
          SLACK_WEBHOOK_URL: `${served.url}/slack/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX`,
        },
        types: [SLACK_CONNECTOR_TYPE],
      },
    );
  });
  afterAll(() => served.close());
  beforeEach(() => {
    recorded.length = 0;
  });

  it('accepts what the connector posts and records each message, not the token', async () => {
    const result = await slack.invoke(
      call('post_case', {
        case_number: 7,
        title: 'Prompt injection against support-bot',
        severity: 'High',
        techniques: ['AML.T0051'],
        approval: { id: 'appr_1', message: 'Block 203.0.113.0/24?' },
      }),
    );
    expect(result.output).toEqual({ ok: true });
    await slack.invoke(call('notify', { message: 'Case #7 contained', to: 'U024BE7LH' }));
    expect(recorded).toEqual([
      {
        service: 'slack',
        action: 'posted message',
        target: 'T000/B000',
        details: {
          text: '[High] Case #7: Prompt injection against support-bot (approval needed: Block 203.0.113.0/24?)',
          blocks: 5,
          buttons: [
            'http://127.0.0.1:8080/approvals/appr_1?decision=approve',
            'http://127.0.0.1:8080/approvals/appr_1?decision=deny',
            'http://127.0.0.1:8080/cases/7',
          ],
        },
      },
      {
        service: 'slack',
        action: 'posted message',
        target: 'T000/B000',
        details: { text: '<@U024BE7LH>: Case #7 contained', blocks: 2, buttons: [] },
      },
    ]);
    expect(JSON.stringify(recorded)).not.toContain('XXXXXXXX');
  });

  it('answers like Slack to what Slack refuses', async () => {
    const post = (path: string, body: string, type = 'application/json') =>
      fetch(`${served.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
    const hook = '/slack/services/T000/B000/XXXX';
    const answers = await Promise.all([
      post(hook, 'not json'),
      post(hook, JSON.stringify({ text: '' })),
      post(hook, JSON.stringify({ blocks: [{ type: 'banner' }] })),
      post(hook, JSON.stringify({ blocks: 'section' })),
      post('/slack/services/T000', JSON.stringify({ text: 'hi' })),
      post(
        hook,
        `payload=${encodeURIComponent(JSON.stringify({ text: 'legacy' }))}`,
        'application/x-www-form-urlencoded',
      ),
    ]);
    expect(
      await Promise.all(answers.map(async (answer) => `${answer.status} ${await answer.text()}`)),
    ).toEqual([
      '400 invalid_payload',
      '400 no_text',
      '400 invalid_blocks',
      '400 invalid_blocks_format',
      '404 no_service',
      '200 ok',
    ]);
    expect(answers[0]?.headers.get('content-type')).toContain('text/plain');
    expect(recorded).toHaveLength(1);
  });

  it('answers only under /slack, and only POST', async () => {
    const fake = createSlackFake(() => undefined);
    expect(fake.prefix).toBe('/slack');
    expect(
      await fake.handle({
        method: 'GET',
        path: '/slack/services/T000/B000/XXXX',
        query: new URLSearchParams(),
        headers: {},
        text: '',
      }),
    ).toMatchObject({ status: 405 });
    expect(
      fake.handle({
        method: 'POST',
        path: '/pagerduty/v2/enqueue',
        query: new URLSearchParams(),
        headers: {},
        text: '{}',
      }),
    ).toBeUndefined();
  });
});
