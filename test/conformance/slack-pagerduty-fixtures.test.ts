import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/connectors/connector.js';
import { guardConnector } from '../../src/connectors/guarded-connector.js';
import { createPagerDutyConnector } from '../../src/connectors/pagerduty/pagerduty-connector.js';
import { slackCaseMessage } from '../../src/connectors/slack/slack-blocks.js';
import { createPagerDutyFake } from '../../src/demo/fakes/pagerduty-fake.js';
import { createSlackFake } from '../../src/demo/fakes/slack-fake.js';
import type { FakeRequest } from '../../src/demo/vendor-fake.js';
import { connectorCall, fakeHttpServiceForSuite } from '../support/connector-test-kit.js';
import { sharedFixtures } from '../support/shared-fixtures.js';

/**
 * The slack and pagerduty connectors and demo fakes against the shared
 * Slack and PagerDuty payload fixtures, when a checkout sits next to
 * ../shared; a user's clone has no such folder, so the suite skips.
 */
const fixtures = sharedFixtures('slack/pagerduty conformance suite');

type JsonObject = Record<string, unknown>;

function post(path: string, body: unknown): FakeRequest {
  return {
    method: 'POST',
    path,
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json' },
    text: JSON.stringify(body),
  };
}

describe.skipIf(!fixtures.present)('slack fixtures conformance', () => {
  it('the demo fake accepts the fixture webhook message, as Slack does', async () => {
    const recorded: unknown[] = [];
    const fake = createSlackFake((...entry) => recorded.push(entry));
    const message = fixtures.json<JsonObject>('slack_incoming_webhook_blockkit.json');
    const reply = await fake.handle(post('/slack/services/T000/B000/XXXX', message));
    expect(reply).toMatchObject({ status: 200, body: 'ok' });
    expect(recorded).toHaveLength(1);
  });

  it('post_case builds the same kinds of blocks, with the same fields', () => {
    const fixture = fixtures.json<JsonObject>('slack_incoming_webhook_blockkit.json') as {
      text: string;
      blocks: JsonObject[];
    };
    const ours = slackCaseMessage(
      {
        case_number: 1042,
        title: 'Prompt injection blocked',
        severity: 'High',
        summary: 'Principal chatbot-app-role, source 203.0.113.45',
        techniques: ['AML.T0051'],
        approval: { id: 'a1', message: 'Block it?' },
      },
      'https://warden.example',
    );
    expect(typeof ours.text).toBe(typeof fixture.text);
    const fixtureTypes = new Set(fixture.blocks.map((block) => String(block.type)));
    for (const block of ours.blocks) expect(fixtureTypes).toContain(block.type);
    const shape = (blocks: readonly JsonObject[], type: string): string[] => {
      const block = blocks.find((candidate) => candidate.type === type) ?? {};
      return Object.keys(block).sort();
    };
    // Every key the fixture uses on a block type, ours uses too (fields, elements, text).
    for (const type of fixtureTypes) {
      expect(shape(ours.blocks, type)).toEqual(expect.arrayContaining(shape(fixture.blocks, type)));
    }
    const buttonOf = (blocks: readonly JsonObject[]) =>
      (blocks.find((block) => block.type === 'actions')?.elements as JsonObject[])[0] ?? {};
    expect(Object.keys(buttonOf(ours.blocks))).toEqual(
      expect.arrayContaining(Object.keys(buttonOf(fixture.blocks))),
    );
  });
});

describe.skipIf(!fixtures.present)('pagerduty fixtures conformance', () => {
  const service = fakeHttpServiceForSuite({ resetBeforeEach: false });

  it('the demo fake triggers and resolves an incident from the fixture events', async () => {
    const recorded: string[] = [];
    const fake = createPagerDutyFake((_service, action, target) =>
      recorded.push(`${action} ${target}`),
    );
    const trigger = fixtures.json<JsonObject>('pagerduty_events_v2_trigger.json');
    const resolve = fixtures.json<JsonObject>('pagerduty_events_v2_resolve.json');
    const response = fixtures.json<JsonObject>('pagerduty_events_v2_response.json');

    const triggered = await fake.handle(post('/pagerduty/v2/enqueue', trigger));
    expect(triggered).toMatchObject({ status: 202, body: response });
    const resolved = await fake.handle(post('/pagerduty/v2/enqueue', resolve));
    expect(resolved).toMatchObject({ status: 202, body: response });
    expect(recorded).toEqual([
      `triggered incident ${String(trigger.dedup_key)}`,
      `resolved incident ${String(trigger.dedup_key)}`,
    ]);
  });

  it('the connector sends only fields the fixture event has, and reads the fixture answer', async () => {
    const trigger = fixtures.json<JsonObject>('pagerduty_events_v2_trigger.json') as JsonObject & {
      payload: JsonObject;
    };
    const response = fixtures.json<JsonObject>('pagerduty_events_v2_response.json');
    service.reset();
    service.enqueue({ status: 202, body: response });
    const pager = guardConnector(
      createPagerDutyConnector({
        name: 'pager',
        baseUrl: service.url,
        routingKey: { value: String(trigger.routing_key), recorded: '${secret:PD_ROUTING_KEY}' },
        source: 'warden',
        wardenUrl: 'https://warden.example',
        notifySeverity: 'warning',
        timeoutMs: 5000,
        concurrency: 1,
        secretValues: [String(trigger.routing_key)],
      }),
    );
    const input: JsonValue = {
      case_id: 'c1',
      summary: String(trigger.payload.summary),
      severity: 'warning',
      component: 'bedrock-runtime',
      group: 'chatbot-prod',
      class: 'Impact:IAMUser/PromptInjection.Direct',
      custom_details: { atlas_technique: 'AML.T0051' },
      links: [{ href: 'https://warden.example/cases/c1', text: 'Case in Warden' }],
    };
    const result = await pager.invoke(
      connectorCall('trigger', input, 'k1', { signal: AbortSignal.timeout(5000) }),
    );
    const sent = service.requests[0]?.json as JsonObject & { payload: JsonObject };
    expect(Object.keys(trigger)).toEqual(expect.arrayContaining(Object.keys(sent)));
    expect(Object.keys(trigger.payload)).toEqual(expect.arrayContaining(Object.keys(sent.payload)));
    expect(result.output).toEqual({
      status: response.status,
      message: response.message,
      dedup_key: response.dedup_key,
    });
  });
});
