import { beforeAll, describe, expect, it, vi } from 'vitest';
import https from 'node:https';
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
import type {
  Connector,
  ConnectorCall,
  ConnectorError,
  ConnectorResult,
  JsonValue,
} from '../connector.js';
import { describeHttpConnectorContract } from '../connector.contract.js';
import { createPagerDutyConnector } from './pagerduty-connector.js';
import { PAGERDUTY_CONNECTOR_TYPE } from './pagerduty-connector-config.js';

/** 32 characters, like a real integration key. */
const ROUTING_KEY = 'R0UT1NGkeyWARDENtest5f1d0c7a9b42';

function loadPager(
  extra: string,
  secrets: Record<string, string> = { PD_ROUTING_KEY: ROUTING_KEY },
): Connector {
  return loadConnectorFromYaml(
    `
connectors:
  pager:
    type: pagerduty
    routing_key: \${secret:PD_ROUTING_KEY}
${extra}`,
    { secrets, types: [PAGERDUTY_CONNECTOR_TYPE], name: 'pager' },
  );
}

function loadError(extra: string, secrets?: Record<string, string>): WardenError {
  return configError(() => loadPager(extra, secrets));
}

const call = numberedCalls('run-1/2/page/');

const accepted = (dedupKey: string) => ({
  status: 202,
  body: { status: 'success', message: 'Event processed', dedup_key: dedupKey },
});

const TRIGGER = {
  case_id: 'case_01HZX',
  summary: 'Case #42: prompt injection against support-bot (High)',
  severity: 'error',
  component: 'support-bot',
  group: 'retail-banking',
  class: 'prompt_injection',
  custom_details: { atlas: ['AML.T0051'], source_ip: '203.0.113.7' },
  links: [{ href: 'https://runbooks.bank.example/prompt-injection', text: 'Runbook' }],
};

describe('the pagerduty connector', () => {
  const fake = fakeHttpServiceForSuite();
  let pager: Connector;
  const recorded: unknown[] = [];

  beforeAll(() => {
    pager = loadPager(`    base_url: ${fake.url}/pagerduty
    warden_url: https://warden.bank.example/
    source: warden-prod
    timeout: 300ms
    rate_limit: 1000/s
`);
  });

  function invoke(request: ConnectorCall): Promise<ConnectorResult> {
    return invokeAndRecord(recorded, pager, request);
  }

  it('declares trigger, acknowledge, resolve and notify as writes with strict schemas', () => {
    expect(pager.type).toBe('pagerduty');
    expect(Object.keys(pager.actions).sort()).toEqual([
      'acknowledge',
      'notify',
      'resolve',
      'trigger',
    ]);
    for (const spec of Object.values(pager.actions)) {
      expect(spec.effect).toBe('write');
      expect(spec.inputSchema.additionalProperties).toBe(false);
    }
  });

  it('triggers the case incident under the base path, dedup_key warden-case-<case_id>', async () => {
    fake.enqueue(accepted('warden-case-case_01HZX'));
    const result = await invoke(call('trigger', TRIGGER));
    const request = fake.requests[0] as RecordedRequest;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/pagerduty/v2/enqueue');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.json).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'warden-case-case_01HZX',
      payload: {
        summary: TRIGGER.summary,
        source: 'warden-prod',
        severity: 'error',
        component: 'support-bot',
        group: 'retail-banking',
        class: 'prompt_injection',
        custom_details: TRIGGER.custom_details,
      },
      client: 'Warden',
      client_url: 'https://warden.bank.example/cases/case_01HZX',
      links: TRIGGER.links,
    });
    expect(result.output).toEqual({
      status: 'success',
      message: 'Event processed',
      dedup_key: 'warden-case-case_01HZX',
    });
    // Recorded with the routing key as written in connectors.yaml.
    expect(JSON.parse(result.exchange?.requestBody ?? '')).toEqual({
      ...(request.json as object),
      routing_key: '${secret:PD_ROUTING_KEY}',
    });
    expect(result.exchange).toMatchObject({
      method: 'POST',
      url: `${fake.url}/pagerduty/v2/enqueue`,
      status: 202,
    });
  });

  it('sends only what was given: a minimal trigger', async () => {
    fake.enqueue(accepted('warden-case-c9'));
    await invoke(call('trigger', { case_id: 'c9', summary: 'Drift', severity: 'info' }));
    expect(fake.requests[0]?.json).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'warden-case-c9',
      payload: { summary: 'Drift', source: 'warden-prod', severity: 'info' },
      client: 'Warden',
      client_url: 'https://warden.bank.example/cases/c9',
    });
  });

  it('cuts a summary longer than 1024 characters', async () => {
    fake.enqueue(accepted('warden-case-c9'));
    await invoke(call('trigger', { case_id: 'c9', summary: 'x'.repeat(2000), severity: 'info' }));
    const summary = (fake.requests[0]?.json as { payload: { summary: string } }).payload.summary;
    expect(summary).toHaveLength(1024);
    expect(summary.endsWith('…')).toBe(true);
  });

  it.each(['acknowledge', 'resolve'])('%ss the case incident by its dedup_key', async (action) => {
    fake.enqueue(accepted('warden-case-case_01HZX'));
    const result = await invoke(call(action, { case_id: 'case_01HZX' }));
    expect(fake.requests[0]?.json).toEqual({
      routing_key: ROUTING_KEY,
      event_action: action,
      dedup_key: 'warden-case-case_01HZX',
    });
    expect(result.output).toMatchObject({ status: 'success' });
  });

  it('gives every event of one case the same dedup_key: one case, one incident', async () => {
    fake.route({ path: '/pagerduty/v2/enqueue' }, accepted('x'));
    await invoke(call('trigger', TRIGGER));
    await invoke(call('trigger', { ...TRIGGER, summary: 'updated', severity: 'critical' }));
    await invoke(call('resolve', { case_id: TRIGGER.case_id }));
    const sent = fake.requests.map((request) => (request.json as { dedup_key: string }).dedup_key);
    expect(new Set(sent)).toEqual(new Set(['warden-case-case_01HZX']));
  });

  it("notifies as a trigger deduplicated by the call's idempotency key", async () => {
    fake.route({ path: '/pagerduty/v2/enqueue' }, accepted('x'));
    const first = call('notify', { message: 'Case #4 needs you', to: 'ml-retail@bank.example' });
    await invoke(first);
    await invoke({ ...first, attempt: 2 });
    await invoke(call('notify', { message: 'Case #4 needs you' }));
    expect(fake.requests[0]?.json).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: first.idempotencyKey,
      payload: {
        summary: 'Case #4 needs you',
        source: 'warden-prod',
        severity: 'warning',
        custom_details: { to: 'ml-retail@bank.example' },
      },
      client: 'Warden',
      client_url: 'https://warden.bank.example',
    });
    const sent = fake.requests.map((request) => (request.json as { dedup_key: string }).dedup_key);
    expect(sent[1]).toBe(first.idempotencyKey);
    expect(sent[2]).not.toBe(first.idempotencyKey);
  });

  it("reports 400 invalid event as rejected with PagerDuty's reasons", async () => {
    fake.enqueue({
      status: 400,
      body: {
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: ["'payload.summary' is missing or blank"],
      },
    });
    const error = await connectorFailure(invoke(call('trigger', TRIGGER)));
    expect(error).toMatchObject({ code: 'rejected', retryable: false, status: 400 });
    expect(error.message).toBe(
      "pager.trigger: PagerDuty rejected the event (HTTP 400): Event object is invalid; 'payload.summary' is missing or blank",
    );
    expect(error.exchange?.requestBody).toContain('${secret:PD_ROUTING_KEY}');
  });

  it('reports a bad routing key as misconfigured', async () => {
    fake.enqueue({
      status: 400,
      body: {
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: ["Length of 'routing_key' is incorrect (should be 32 characters)"],
      },
    });
    const error = await connectorFailure(invoke(call('resolve', { case_id: 'c1' })));
    expect(error).toMatchObject({ code: 'misconfigured', retryable: false });
  });

  it('reports 429 as rate_limited, with Retry-After when PagerDuty sends one', async () => {
    fake.enqueue(
      { status: 429, body: 'throttled' },
      { status: 429, headers: { 'retry-after': '3' } },
    );
    expect(await connectorFailure(invoke(call('trigger', TRIGGER)))).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      retryAfterMs: undefined,
    });
    expect(await connectorFailure(invoke(call('trigger', TRIGGER)))).toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 3000,
    });
  });

  it('retries 500, 503 and timeouts: the dedup_key makes a repeat harmless', async () => {
    fake.enqueue({ status: 500 }, { status: 503 }, { delayMs: 5000, body: {} });
    for (const status of [500, 503]) {
      expect(await connectorFailure(invoke(call('trigger', TRIGGER)))).toMatchObject({
        code: 'unavailable',
        retryable: true,
        status,
      });
    }
    const started = performance.now();
    const timeout = await connectorFailure(invoke(call('trigger', TRIGGER)));
    expect(timeout).toMatchObject({ code: 'timeout', retryable: true });
    expect(timeout.message).not.toContain('may have been applied');
    expect(performance.now() - started).toBeLessThan(3000);
    expect(timeout.exchange?.requestBody).toContain('${secret:PD_ROUTING_KEY}');
  });

  it("times out at the call's deadline", async () => {
    fake.enqueue({ delayMs: 5000, body: {} });
    const error = await connectorFailure(
      invoke(call('resolve', { case_id: 'c1' }, { signal: AbortSignal.timeout(50) })),
    );
    expect(error.code).toBe('timeout');
  });

  it('retries a refused connection', async () => {
    const closed = await FakeHttpService.start();
    const url = closed.url;
    await closed.close();
    const down = loadPager(`    base_url: ${url}\n`);
    expect(await connectorFailure(down.invoke(call('resolve', { case_id: 'c1' })))).toMatchObject({
      code: 'unavailable',
      retryable: true,
    });
  });

  it('rejects invalid input before sending anything', async () => {
    for (const [action, input] of [
      ['trigger', { ...TRIGGER, severity: 'high' }],
      ['trigger', { case_id: 'c1', summary: 's' }],
      ['trigger', { ...TRIGGER, links: [{ href: 'javascript:alert(1)' }] }],
      ['resolve', { case_id: '' }],
      ['acknowledge', { case_id: 'c1', note: 'x' }],
      ['notify', { message: '' }],
    ] as [string, JsonValue][]) {
      const error = await connectorFailure(invoke(call(action, input)));
      expect(error).toMatchObject({ code: 'invalid_input', retryable: false });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('reconciles a write by sending it again with the same dedup_key', async () => {
    fake.enqueue(accepted('warden-case-case_01HZX'));
    const original = call('trigger', TRIGGER);
    const answer = await pager.reconcile?.(original);
    expect(answer?.state).toBe('done');
    if (answer?.state === 'done') {
      expect(answer.result.output).toEqual({
        status: 'success',
        message: 'Event processed',
        dedup_key: 'warden-case-case_01HZX',
      });
    }
    expect((fake.requests[0]?.json as { dedup_key: string }).dedup_key).toBe(
      'warden-case-case_01HZX',
    );

    fake.enqueue(accepted('x'));
    const notify = call('notify', { message: 'hi' });
    await pager.reconcile?.(notify);
    expect((fake.requests[1]?.json as { dedup_key: string }).dedup_key).toBe(notify.idempotencyKey);
  });

  it('answers unknown, with the error, when the re-send fails', async () => {
    fake.enqueue({ status: 503 });
    const answer = await pager.reconcile?.(call('resolve', { case_id: 'c1' }));
    expect(answer?.state).toBe('unknown');
    if (answer?.state === 'unknown') expect(answer.error?.code).toBe('unavailable');
    recorded.push(answer);
  });

  it('keeps the routing key out of records, even when PagerDuty echoes the event', async () => {
    fake.enqueue((request) => ({
      status: 400,
      body: { status: 'invalid event', message: `bad event ${request.body}`, errors: [] },
    }));
    const error = await connectorFailure(invoke(call('trigger', TRIGGER)));
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toContain(ROUTING_KEY);
    expect(JSON.stringify(error.exchange)).not.toContain(ROUTING_KEY);
    fake.enqueue((request) => ({
      status: 202,
      body: { status: 'success', message: request.body },
    }));
    const result = await invoke(call('resolve', { case_id: 'c1' }));
    expect(JSON.stringify(result)).not.toContain(ROUTING_KEY);
    // The request did carry it.
    expect((fake.requests[0]?.json as { routing_key: string }).routing_key).toBe(ROUTING_KEY);
  });

  it('never recorded the routing key in any result or error', () => {
    expect(recorded.length).toBeGreaterThan(10);
    expect(JSON.stringify(recorded)).not.toContain(ROUTING_KEY);
  });
});

describe('pagerduty connectors.yaml', () => {
  it('defaults to the public endpoint, 120 events a minute and 4 in flight', async () => {
    const pager = loadPager('');
    expect(pager.rateLimit).toEqual({ requests: 120, intervalMs: 60_000 });
    expect(pager.concurrency).toBe(4);
    // Where a call goes, without sending it anywhere: the request is refused before it leaves.
    const sent: string[] = [];
    const requestSpy = vi.spyOn(https, 'request').mockImplementation(((url: URL) => {
      sent.push(url.href);
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    }) as unknown as typeof https.request);
    try {
      const failure = (await pager
        .invoke(call('resolve', { case_id: 'c1' }))
        .catch((error: unknown) => error)) as ConnectorError;
      expect(failure.code).toBe('unavailable');
      expect(failure.exchange?.url).toBe('https://events.pagerduty.com/v2/enqueue');
    } finally {
      requestSpy.mockRestore();
    }
    expect(sent).toEqual(['https://events.pagerduty.com/v2/enqueue']);
  });

  it('reads notify_severity', async () => {
    const fake = await FakeHttpService.start();
    try {
      fake.enqueue(accepted('x'));
      const pager = loadPager(`    base_url: ${fake.url}\n    notify_severity: critical\n`);
      await pager.invoke(call('notify', { message: 'wake up' }));
      expect(fake.requests[0]?.json).toMatchObject({
        payload: { severity: 'critical', source: 'warden' },
        client_url: 'http://localhost:8080',
      });
    } finally {
      await fake.close();
    }
  });

  it('requires routing_key as a secret reference, without quoting the value', () => {
    const error = loadError('', {});
    expect(error.message).toMatch(/routing_key references secret PD_ROUTING_KEY, which is not set/);
    const { message } = configError(() =>
      loadConnectorsFromYaml(
        `connectors:\n  pager:\n    type: pagerduty\n    routing_key: ${ROUTING_KEY}\n`,
        { types: [PAGERDUTY_CONNECTOR_TYPE] },
      ),
    );
    expect(message).toMatch(/connectors\.pager\.routing_key must be a \$\{secret:NAME\} reference/);
    expect(message).not.toContain(ROUTING_KEY);
  });

  it('rejects a bad notify_severity, base_url and unknown keys', () => {
    expect(loadError('    notify_severity: high\n').message).toMatch(
      /notify_severity must be one of critical, error, warning, info/,
    );
    expect(loadError('    base_url: events.pagerduty.com\n').message).toMatch(
      /base_url must be an absolute http\(s\) URL/,
    );
    expect(loadError('    service_key: x\n').message).toMatch(/service_key is not a known key/);
  });
});

describeHttpConnectorContract('pagerduty', {
  create: ({ baseUrl, secret, timeoutMs }) =>
    createPagerDutyConnector({
      name: 'pager',
      baseUrl,
      routingKey: { value: secret, recorded: '${secret:PD_ROUTING_KEY}' },
      source: 'warden',
      wardenUrl: 'http://localhost:8080',
      notifySeverity: 'warning',
      timeoutMs,
      concurrency: 4,
      secretValues: [secret],
    }),
  write: {
    action: 'notify',
    input: { message: 'Case #4 needs you' },
    response: {
      status: 202,
      body: { status: 'success', message: 'Event processed', dedup_key: 'x' },
    },
    expectRequest: { method: 'POST', path: '/v2/enqueue' },
    expectOutput: { status: 'success', message: 'Event processed', dedup_key: 'x' },
  },
  invalidInput: { action: 'trigger', input: { case_id: 'c1', summary: 's', severity: 'high' } },
  expectCredential: (request, secret) =>
    expect((request.json as { routing_key?: string }).routing_key).toBe(secret),
  idempotencyHeader: undefined,
  idempotencyKeyIn: (request) => (request.json as { dedup_key?: string }).dedup_key,
});
