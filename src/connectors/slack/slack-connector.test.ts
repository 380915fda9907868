import { beforeAll, describe, expect, it } from 'vitest';
import {
  configError,
  connectorFailure,
  fakeHttpServiceForSuite,
  invokeAndRecord,
  loadConnectorFromYaml,
  loadConnectorsFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import { FakeHttpService, type RecordedRequest } from '../../../test/support/fake-http-service.js';
import type { WardenError } from '../../core/errors.js';
import type { Connector, ConnectorCall, ConnectorResult } from '../connector.js';
import { CONTRACT_SECRET, describeHttpConnectorContract } from '../connector.contract.js';
import { createSlackConnector } from './slack-connector.js';
import {
  escapeMrkdwn,
  slackCaseMessage,
  slackNotifyMessage,
  slackRecipient,
} from './slack-blocks.js';
import { SLACK_CONNECTOR_TYPE } from './slack-connector-config.js';

const HOOK_PATH = '/services/T0DEMO01/B0DEMO02';
const TOKEN = 'slack-hook-token-5f1d0c7a9b';

/** A slack instance loaded from connectors.yaml, as in production (guarded). */
function loadSlack(extra: string, secrets: Record<string, string>): Connector {
  return loadConnectorFromYaml(
    `
connectors:
  secops_slack:
    type: slack
    webhook_url: \${secret:SLACK_WEBHOOK_URL}
${extra}`,
    { secrets, types: [SLACK_CONNECTOR_TYPE], name: 'secops_slack' },
  );
}

function loadError(extra: string, secrets: Record<string, string>): WardenError {
  return configError(() => loadSlack(extra, secrets));
}

const call = numberedCalls('run-1/1/tell/');

const CASE_INPUT = {
  case_number: 42,
  case_id: 'case_01HZX',
  title: 'Prompt injection against support-bot',
  severity: 'High',
  tier: 1,
  business_unit: 'Retail banking',
  model: 'support-bot',
  phase: 'containment',
  status: 'in_progress',
  summary: 'Three injection attempts from 203.0.113.7 in 5 minutes.',
  techniques: ['AML.T0051.001', 'AML.T0054'],
  approval: { id: 'appr_7', message: 'Block 203.0.113.0/24 in front of support-bot?' },
};

describe('slack Block Kit messages', () => {
  it('builds a case message: header, fields, ATLAS context, approval and case buttons', () => {
    const message = slackCaseMessage(CASE_INPUT, 'https://warden.bank.example/');
    expect(message.text).toBe(
      '[High] Case #42: Prompt injection against support-bot (approval needed: Block 203.0.113.0/24 in front of support-bot?)',
    );
    expect(message.blocks.map((block) => block.type)).toEqual([
      'header',
      'section',
      'context',
      'section',
      'actions',
    ]);
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: 'Case #42: Prompt injection against support-bot',
        emoji: true,
      },
    });
    expect(message.blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: 'Three injection attempts from 203.0.113.7 in 5 minutes.' },
      fields: [
        { type: 'mrkdwn', text: '*Severity*\nHigh' },
        { type: 'mrkdwn', text: '*Tier*\nTier 1' },
        { type: 'mrkdwn', text: '*Business unit*\nRetail banking' },
        { type: 'mrkdwn', text: '*Model*\nsupport-bot' },
        { type: 'mrkdwn', text: '*Phase*\nContainment' },
        { type: 'mrkdwn', text: '*Status*\nIn progress' },
      ],
    });
    expect(message.blocks[2]).toEqual({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: '*MITRE ATLAS:* <https://atlas.mitre.org/techniques/AML.T0051.001|AML.T0051.001>, <https://atlas.mitre.org/techniques/AML.T0054|AML.T0054>',
        },
      ],
    });
    expect(message.blocks[4]).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'warden_approve',
          text: { type: 'plain_text', text: 'Approve', emoji: true },
          url: 'https://warden.bank.example/approvals/appr_7?decision=approve',
          style: 'primary',
        },
        {
          type: 'button',
          action_id: 'warden_deny',
          text: { type: 'plain_text', text: 'Deny', emoji: true },
          url: 'https://warden.bank.example/approvals/appr_7?decision=deny',
          style: 'danger',
        },
        {
          type: 'button',
          action_id: 'warden_open_case',
          text: { type: 'plain_text', text: 'Open case', emoji: true },
          url: 'https://warden.bank.example/cases/42',
        },
      ],
    });
  });

  it('leaves out absent fields, the ATLAS context and the approval buttons', () => {
    const message = slackCaseMessage(
      { case_number: 3, title: 'Drift', severity: 'Low', tier: null, business_unit: null },
      'http://localhost:8080',
    );
    expect(message.blocks.map((block) => block.type)).toEqual(['header', 'section', 'actions']);
    expect(message.blocks[1]).toEqual({
      type: 'section',
      fields: [{ type: 'mrkdwn', text: '*Severity*\nLow' }],
    });
    expect(message.blocks[2]).toMatchObject({
      elements: [{ action_id: 'warden_open_case', url: 'http://localhost:8080/cases/3' }],
    });
    expect(message.text).toBe('[Low] Case #3: Drift');
  });

  it('escapes markup from alert text, so it cannot mention @channel or forge links', () => {
    const message = slackCaseMessage(
      {
        case_number: 1,
        title: 'x',
        severity: 'High',
        summary: '<!channel> see <https://evil.example|docs> & more',
        techniques: ['<https://evil.example|AML.T0051>'],
      },
      'http://localhost:8080',
    );
    const json = JSON.stringify(message);
    expect(json).not.toContain('<!channel>');
    expect(json).not.toContain('<https://evil.example');
    expect(message.blocks[1]).toMatchObject({
      text: { text: '&lt;!channel&gt; see &lt;https://evil.example|docs&gt; &amp; more' },
    });
    expect(escapeMrkdwn('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });

  it("cuts texts to Slack's limits instead of having the message rejected", () => {
    const message = slackCaseMessage(
      { case_number: 1, title: 't'.repeat(400), severity: 'High', summary: 's'.repeat(5000) },
      'http://localhost:8080',
    );
    const header = message.blocks[0] as unknown as { text: { text: string } };
    expect([...header.text.text]).toHaveLength(150);
    expect(header.text.text.endsWith('…')).toBe(true);
    const section = message.blocks[1] as unknown as { text: { text: string } };
    expect([...section.text.text]).toHaveLength(3000);
    expect(message.text.length).toBeLessThanOrEqual(3000);
  });

  it('posts a notify with its recipient, mentioning Slack ids', () => {
    expect(slackNotifyMessage({ message: 'Case #4 contained' })).toEqual({
      text: 'Case #4 contained',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Case #4 contained' } }],
    });
    expect(slackNotifyMessage({ message: 'Case #4 contained', to: 'U024BE7LH' })).toEqual({
      text: '<@U024BE7LH>: Case #4 contained',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Case #4 contained' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'For <@U024BE7LH>' }] },
      ],
    });
    expect(slackRecipient('ml-retail@bank.example')).toBe('ml-retail@bank.example');
    expect(slackRecipient('S0614TZR7')).toBe('<!subteam^S0614TZR7>');
    expect(slackRecipient('@here')).toBe('<!here>');
    expect(slackRecipient('<script>')).toBe('&lt;script&gt;');
  });
});

describe('the slack connector', () => {
  const fake = fakeHttpServiceForSuite();
  let slack: Connector;
  const webhookUrl = (): string => `${fake.url}${HOOK_PATH}/${TOKEN}`;
  /** Every result and error, for the no-secret check at the end. */
  const recorded: unknown[] = [];

  beforeAll(() => {
    slack = loadSlack(
      `    warden_url: https://warden.bank.example\n    timeout: 300ms\n    rate_limit: 1000/s\n`,
      { SLACK_WEBHOOK_URL: webhookUrl() },
    );
  });

  function invoke(request: ConnectorCall): Promise<ConnectorResult> {
    return invokeAndRecord(recorded, slack, request);
  }

  it('declares notify and post_case as writes with strict input schemas', () => {
    expect(slack.type).toBe('slack');
    expect(Object.keys(slack.actions).sort()).toEqual(['notify', 'post_case']);
    for (const spec of Object.values(slack.actions)) {
      expect(spec.effect).toBe('write');
      expect(spec.inputSchema.additionalProperties).toBe(false);
    }
  });

  it('posts a case as Block Kit JSON to the webhook and records the URL as its template', async () => {
    fake.enqueue({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' });
    const result = await invoke(call('post_case', CASE_INPUT));
    expect(result.output).toEqual({ ok: true });
    const request = fake.requests[0] as RecordedRequest;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`${HOOK_PATH}/${TOKEN}`);
    expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request.json).toEqual(slackCaseMessage(CASE_INPUT, 'https://warden.bank.example'));
    expect(result.exchange).toMatchObject({
      method: 'POST',
      url: '${secret:SLACK_WEBHOOK_URL}',
      status: 200,
      responseBody: 'ok',
    });
    expect(JSON.parse(result.exchange?.requestBody ?? '')).toEqual(request.json);
  });

  it('posts a notify', async () => {
    fake.enqueue({ body: 'ok' });
    const result = await invoke(call('notify', { message: 'Case #4 contained', to: 'U024BE7LH' }));
    expect(result.output).toEqual({ ok: true });
    expect(fake.requests[0]?.json).toEqual(
      slackNotifyMessage({ message: 'Case #4 contained', to: 'U024BE7LH' }),
    );
  });

  it('accepts a workflow webhook answer, {"ok": true}', async () => {
    fake.enqueue({ body: { ok: true } });
    expect((await invoke(call('notify', { message: 'hi' }))).output).toEqual({ ok: true });
  });

  it('fails with invalid_output on a 200 that is not "ok"', async () => {
    fake.enqueue({ body: '<html>captive portal</html>' });
    const error = await connectorFailure(invoke(call('notify', { message: 'hi' })));
    expect(error).toMatchObject({ code: 'invalid_output', retryable: false, status: 200 });
  });

  it.each([
    [400, 'invalid_payload', 'rejected', 'Slack could not read the message'],
    [400, 'no_text', 'rejected', 'the message has no text'],
    [403, 'action_prohibited', 'unauthorized', 'admin restriction'],
    [403, 'invalid_token', 'unauthorized', 'no longer valid'],
    [404, 'no_service', 'misconfigured', 'removed or disabled'],
    [404, 'channel_not_found', 'misconfigured', 'no longer exists'],
    [410, 'channel_is_archived', 'misconfigured', 'archived'],
  ])('maps HTTP %i %s to %s, not retried', async (status, reason, code, explanation) => {
    fake.enqueue({ status, headers: { 'content-type': 'text/plain' }, body: reason });
    const error = await connectorFailure(invoke(call('notify', { message: 'hi' })));
    expect(error).toMatchObject({ code, retryable: false, status });
    expect(error.message).toContain(`HTTP ${status} ${reason}`);
    expect(error.message).toContain(explanation);
    expect(error.exchange).toMatchObject({
      url: '${secret:SLACK_WEBHOOK_URL}',
      responseBody: reason,
    });
  });

  it('maps 429 to rate_limited with Retry-After (seconds and HTTP-date)', async () => {
    fake.enqueue(
      { status: 429, headers: { 'retry-after': '30' }, body: 'rate_limited' },
      { status: 429, headers: { 'retry-after': new Date(Date.now() + 5000).toUTCString() } },
    );
    const first = await connectorFailure(invoke(call('notify', { message: 'hi' })));
    expect(first).toMatchObject({ code: 'rate_limited', retryable: true, retryAfterMs: 30_000 });
    expect(first.message).toContain('too many messages');
    const second = await connectorFailure(invoke(call('notify', { message: 'hi' })));
    expect(second.retryAfterMs).toBeGreaterThan(3000);
    expect(second.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it('retries 503 but not 500 or a timeout, which may have posted the message', async () => {
    fake.enqueue({ status: 503, body: 'maintenance' }, { status: 500, body: 'rollup_error' });
    expect(await connectorFailure(invoke(call('notify', { message: 'hi' })))).toMatchObject({
      code: 'unavailable',
      retryable: true,
      status: 503,
    });
    const serverError = await connectorFailure(invoke(call('notify', { message: 'hi' })));
    expect(serverError).toMatchObject({ code: 'unavailable', retryable: false, status: 500 });
    expect(serverError.message).toContain('may have been posted');

    fake.enqueue({ delayMs: 5000, body: 'ok' });
    const started = performance.now();
    const timeout = await connectorFailure(invoke(call('notify', { message: 'hi' })));
    expect(timeout).toMatchObject({ code: 'timeout', retryable: false });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(timeout.exchange?.url).toBe('${secret:SLACK_WEBHOOK_URL}');
  });

  it("times out at the call's deadline", async () => {
    fake.enqueue({ delayMs: 5000, body: 'ok' });
    const error = await connectorFailure(
      invoke(call('notify', { message: 'hi' }, { signal: AbortSignal.timeout(50) })),
    );
    expect(error.code).toBe('timeout');
    expect(error.message).toContain('deadline');
  });

  it('retries a refused connection: nothing was posted', async () => {
    const closed = await FakeHttpService.start();
    const url = `${closed.url}${HOOK_PATH}/${TOKEN}`;
    await closed.close();
    const down = loadSlack('    rate_limit: 1000/s\n', { SLACK_WEBHOOK_URL: url });
    const error = await connectorFailure(down.invoke(call('notify', { message: 'hi' })));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(JSON.stringify(error.exchange)).not.toContain(TOKEN);
  });

  it('rejects invalid input before sending anything', async () => {
    for (const [action, input] of [
      ['notify', { message: 42 }],
      ['notify', { message: 'hi', channel: '#general' }],
      ['post_case', { case_number: 0, title: 'x', severity: 'High' }],
      ['post_case', { ...CASE_INPUT, approval: { id: 'a' } }],
    ] as const) {
      const error = await connectorFailure(invoke(call(action, input)));
      expect(error).toMatchObject({ code: 'invalid_input', retryable: false });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('answers reconcile with unknown, without a request: Slack cannot deduplicate', async () => {
    const answer = await slack.reconcile?.(call('post_case', CASE_INPUT));
    expect(answer?.state).toBe('unknown');
    expect(fake.requests).toHaveLength(0);
  });

  it('keeps the webhook URL out of records even when it is echoed back', async () => {
    const echo = (request: RecordedRequest) => ({
      headers: { 'content-type': 'text/plain' },
      body: `invalid_payload ${fake.url}${request.path} ${request.path} ${request.path.split('/').pop() ?? ''}`,
    });
    fake.enqueue((request) => ({ ...echo(request), status: 400 }));
    const error = await connectorFailure(invoke(call('notify', { message: 'hi' })));
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).toContain('[redacted]');
    expect(JSON.stringify(error.exchange)).not.toContain(TOKEN);
    expect(JSON.stringify(error.exchange)).not.toContain(HOOK_PATH);
    fake.enqueue((request) => ({ ...echo(request), status: 403 }));
    await connectorFailure(invoke(call('post_case', CASE_INPUT)));
    // The request did carry it: the redaction is in the record, not on the wire.
    expect(fake.requests[0]?.path).toContain(TOKEN);
  });

  it('redacts the webhook URL even when URL parsing changes how it is written', async () => {
    // `new URL()` lower-cases the scheme and host: the sent URL is not the secret's text.
    const shouting = webhookUrl().replace('http://127.0.0.1', 'HTTP://127.0.0.1');
    const slackShouting = loadSlack('    rate_limit: 1000/s\n', { SLACK_WEBHOOK_URL: shouting });
    fake.enqueue((request) => ({
      status: 400,
      body: `invalid_payload ${fake.url}${request.path}`,
    }));
    const error = await connectorFailure(slackShouting.invoke(call('notify', { message: 'hi' })));
    recorded.push({ message: error.message, exchange: error.exchange });
    expect(fake.requests[0]?.path).toContain(TOKEN);
    expect(JSON.stringify(error.exchange)).not.toContain(TOKEN);
    expect(error.message).not.toContain(TOKEN);
  });

  it('never recorded the webhook URL in any result or error', () => {
    expect(recorded.length).toBeGreaterThan(10);
    const text = JSON.stringify(recorded);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(HOOK_PATH);
  });
});

describe('slack connectors.yaml', () => {
  const secrets = { SLACK_WEBHOOK_URL: `https://hooks.slack.com${HOOK_PATH}/${TOKEN}` };

  it('defaults to one message a second, one at a time', () => {
    const slack = loadSlack('', secrets);
    expect(slack.rateLimit).toEqual({ requests: 1, intervalMs: 1000 });
    expect(slack.concurrency).toBe(1);
  });

  it('reads rate_limit and concurrency', () => {
    const slack = loadSlack('    rate_limit: 20/m\n    concurrency: 2\n', secrets);
    expect(slack.rateLimit).toEqual({ requests: 20, intervalMs: 60_000 });
    expect(slack.concurrency).toBe(2);
  });

  it('requires webhook_url as a secret reference, without quoting the value', () => {
    const { message } = configError(() =>
      loadConnectorsFromYaml(
        `connectors:\n  chat:\n    type: slack\n    webhook_url: https://hooks.slack.com${HOOK_PATH}/${TOKEN}\n`,
        { types: [SLACK_CONNECTOR_TYPE] },
      ),
    );
    expect(message).toMatch(/connectors\.chat\.webhook_url must be a \$\{secret:NAME\} reference/);
    expect(message).not.toContain(TOKEN);
  });

  it('rejects a secret that is not a URL, without quoting it', () => {
    const error = loadError('', { SLACK_WEBHOOK_URL: `not a url ${TOKEN}` });
    expect(error.message).toMatch(/webhook_url must resolve to an http\(s\) URL/);
    expect(error.message).not.toContain(TOKEN);
  });

  it('names the missing secret', () => {
    expect(loadError('', {}).message).toMatch(
      /webhook_url references secret SLACK_WEBHOOK_URL, which is not set/,
    );
  });

  it('rejects unknown keys and a bad warden_url', () => {
    expect(loadError('    channel: "#secops"\n', secrets).message).toMatch(
      /connectors\.secops_slack\.channel is not a known key/,
    );
    expect(loadError('    warden_url: warden.local\n', secrets).message).toMatch(
      /warden_url must be an absolute http\(s\) URL/,
    );
  });
});

describeHttpConnectorContract('slack', {
  create: ({ baseUrl, secret, timeoutMs }) =>
    createSlackConnector({
      name: 'chat',
      webhookUrl: {
        value: `${baseUrl}/services/T000/B000/${secret}`,
        recorded: '${secret:SLACK_WEBHOOK_URL}',
      },
      wardenUrl: 'http://localhost:8080',
      timeoutMs,
      secretValues: [`${baseUrl}/services/T000/B000/${secret}`],
    }),
  write: {
    action: 'notify',
    input: { message: 'Case #4 contained' },
    response: { body: 'ok' },
    expectRequest: {
      method: 'POST',
      path: `/services/T000/B000/${CONTRACT_SECRET}`,
      body: slackNotifyMessage({ message: 'Case #4 contained' }),
    },
    expectOutput: { ok: true },
  },
  invalidInput: { action: 'notify', input: { message: 42 } },
  expectCredential: (request, secret) => expect(request.path).toBe(`/services/T000/B000/${secret}`),
  idempotencyHeader: undefined,
});
