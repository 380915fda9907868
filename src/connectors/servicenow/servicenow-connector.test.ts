import { describe, expect, it } from 'vitest';
import {
  basicAuthorization,
  configError,
  connectorFailure,
  fakeHttpServiceForSuite,
  loadConnectorFromYaml,
  numberedCalls,
} from '../../../test/support/connector-test-kit.js';
import type { Connector } from '../connector.js';
import {
  describeHttpConnectorContract,
  type HttpConnectorContractSetup,
} from '../connector.contract.js';
import { SERVICENOW_CONNECTOR_TYPE } from './servicenow-connector-config.js';
import { correlationId, shortDescription } from './servicenow-connector.js';

/** A servicenow instance loaded from connectors.yaml, as in production. */
function loadServiceNow(yaml: string, secrets: Record<string, string> = {}): Connector {
  return loadConnectorFromYaml(yaml, { secrets, types: [SERVICENOW_CONNECTOR_TYPE], name: 'itsm' });
}

function serviceNowYaml(baseUrl: string, auth: string, extra = ''): string {
  return `
connectors:
  itsm:
    type: servicenow
    base_url: ${baseUrl}
${auth}
    warden_url: https://warden.example.com
${extra}`;
}

const BASIC = `    username: warden.integration\n    password: "\${secret:SN_PASSWORD}"`;
const TOKEN = `    token: "\${secret:SN_TOKEN}"`;
const basicHeader = (secret: string): string => basicAuthorization('warden.integration', secret);

const SYS_ID = '9d385017c611228701d22104cc95c371';
const GROUP = '287ebd7da9fe198100f92cc8d1d2154e';
const CREATE_INPUT = {
  title: 'Prompt injection against support-bot',
  description: 'Three prompts tried to exfiltrate the system prompt.',
  case_number: 12,
  severity: 'High',
};
const RECORD = {
  number: { value: 'INC0010042', display_value: 'INC0010042' },
  sys_id: { value: SYS_ID, display_value: SYS_ID },
  short_description: {
    value: 'Prompt injection against support-bot',
    display_value: 'Prompt injection against support-bot',
  },
  state: { value: '2', display_value: 'In Progress' },
  priority: { value: '3', display_value: '3 - Moderate' },
  assigned_to: { value: '5137153cc611227c000bbd1bd8cd2005', display_value: 'Fred Luddy' },
  assignment_group: { value: GROUP, display_value: 'Security Operations' },
  sys_updated_on: { value: '2025-03-01 12:00:00', display_value: '03/01/2025 04:00:00 AM' },
};

/** The contract suite numbers its idempotency keys. */
const ANY_CONTRACT_KEY: unknown = expect.stringMatching(/^contract-key-\d+$/);

function contractSetup(): HttpConnectorContractSetup {
  let base = '';
  const url = (sysId: string): string => `${base}/nav_to.do?uri=incident.do?sys_id=${sysId}`;
  return {
    create: ({ baseUrl, secret, timeoutMs }) => {
      base = baseUrl;
      return loadServiceNow(
        serviceNowYaml(
          baseUrl,
          TOKEN,
          `    timeout: ${timeoutMs}ms\n    assignment_group: ${GROUP}\n`,
        ),
        { SN_TOKEN: secret },
      );
    },
    read: {
      action: 'get_ticket',
      input: { sys_id: SYS_ID },
      response: { body: { result: RECORD } },
      expectRequest: {
        method: 'GET',
        path: `/api/now/table/incident/${SYS_ID}`,
        query: { sysparm_display_value: 'all' },
      },
      get expectOutput() {
        return {
          number: 'INC0010042',
          sys_id: SYS_ID,
          url: url(SYS_ID),
          short_description: 'Prompt injection against support-bot',
          state: '2',
          state_label: 'In Progress',
          priority: '3',
          priority_label: '3 - Moderate',
          assigned_to: 'Fred Luddy',
          assignment_group: 'Security Operations',
          updated: '2025-03-01 12:00:00',
        };
      },
    },
    write: {
      action: 'create_ticket',
      input: CREATE_INPUT,
      response: { status: 201, body: { result: { number: 'INC0010043', sys_id: SYS_ID } } },
      expectRequest: {
        method: 'POST',
        path: '/api/now/table/incident',
        query: { sysparm_fields: 'number,sys_id' },
        body: {
          short_description: 'Prompt injection against support-bot',
          description:
            'Three prompts tried to exfiltrate the system prompt.\n\nWarden case #12: https://warden.example.com/api/v1/cases/12',
          urgency: '2',
          impact: '2',
          assignment_group: GROUP,
          correlation_id: ANY_CONTRACT_KEY,
          correlation_display: 'Warden',
        },
      },
      get expectOutput() {
        return { number: 'INC0010043', sys_id: SYS_ID, url: url(SYS_ID) };
      },
    },
    invalidInput: { action: 'get_ticket', input: { sys_id: 'INC0010042' } },
    expectCredential: (request, secret) => {
      expect(request.headers.authorization).toBe(`Bearer ${secret}`);
      expect(request.headers.accept).toBe('application/json');
    },
    idempotencyHeader: undefined,
    reconcileByLookup: {
      done: {
        responses: [{ body: { result: [{ number: 'INC0010043', sys_id: SYS_ID }] } }],
        get expectOutput() {
          return { number: 'INC0010043', sys_id: SYS_ID, url: url(SYS_ID) };
        },
      },
      notDone: { responses: [{ body: { result: [] } }] },
    },
  };
}

// Only with token: the suite's last check looks for the secret verbatim in the request
// headers, and Basic auth sends it base64-encoded. Basic is tested below.
describeHttpConnectorContract('servicenow', contractSetup());

describe('the servicenow connector', () => {
  const SECRET = 'sn-password-41f7a9';
  const fake = fakeHttpServiceForSuite();
  const call = numberedCalls('run-1/0/ticket/');
  const servicenow = (extra = '', auth = BASIC): Connector =>
    loadServiceNow(serviceNowYaml(`${fake.url}/servicenow`, auth, extra), {
      SN_PASSWORD: SECRET,
      SN_TOKEN: SECRET,
    });
  const created = { status: 201, body: { result: { number: 'SIR0010001', sys_id: SYS_ID } } };

  it('opens a record in the configured table with mapped urgency and impact', async () => {
    fake.enqueue(created);
    const connector = servicenow(
      `    table: sn_si_incident\n    caller_id: ${GROUP}\n    urgency_map: { critical: 2 }\n    impact_map: { Critical: "2" }\n`,
    );
    const request = call('create_ticket', {
      ...CREATE_INPUT,
      title: `${'x'.repeat(200)}`,
      severity: 'critical',
    });
    const result = await connector.invoke(request);
    expect(result.output).toEqual({
      number: 'SIR0010001',
      sys_id: SYS_ID,
      url: `${fake.url}/servicenow/nav_to.do?uri=sn_si_incident.do?sys_id=${SYS_ID}`,
    });
    const sent = fake.requests[0];
    expect(sent?.path).toBe('/servicenow/api/now/table/sn_si_incident');
    expect(sent?.json).toMatchObject({
      urgency: '2',
      impact: '2',
      caller_id: GROUP,
      correlation_id: request.idempotencyKey,
    });
    expect((sent?.json as { short_description: string }).short_description).toHaveLength(160);
    expect(sent?.json).not.toHaveProperty('assignment_group');
  });

  it.each([
    ['Critical', '1', '1'],
    ['high', '2', '2'],
    ['Medium', '2', '3'],
    ['low', '3', '3'],
    ['Informational', '3', '3'],
  ])('maps severity %s to urgency %s and impact %s by default', async (severity, u, i) => {
    fake.enqueue(created);
    await servicenow().invoke(call('create_ticket', { ...CREATE_INPUT, severity }));
    expect(fake.requests[0]?.json).toMatchObject({ urgency: u, impact: i });
  });

  it('sends username + password as Basic and never records the password or the encoded pair', async () => {
    const echo = (request: { headers: unknown }) => ({
      body: { error: { message: JSON.stringify(request.headers), detail: null } },
    });
    fake.enqueue((request) => ({ ...echo(request), status: 401 }));
    fake.enqueue((request) => ({ ...echo(request), status: 200 }));
    fake.enqueue((request) => ({ ...echo(request), status: 503 }));
    const connector = servicenow();
    const unauthorized = await connectorFailure(
      connector.invoke(call('get_ticket', { sys_id: SYS_ID })),
    );
    const malformed = await connectorFailure(
      connector.invoke(call('get_ticket', { sys_id: SYS_ID })),
    );
    const reconcile = await connector.reconcile?.(call('create_ticket', CREATE_INPUT));
    expect(unauthorized.code).toBe('unauthorized');
    expect(malformed.code).toBe('invalid_output');
    expect(reconcile?.state).toBe('unknown');
    for (const request of fake.requests) {
      expect(request.headers.authorization).toBe(basicHeader(SECRET));
    }
    expect(unauthorized.exchange?.requestHeaders.Authorization).toBe(
      'Basic base64(warden.integration:${secret:SN_PASSWORD})',
    );
    const encoded = basicHeader(SECRET).slice('Basic '.length);
    const recorded = JSON.stringify([
      unauthorized.message,
      unauthorized.exchange,
      String(unauthorized.stack),
      malformed.message,
      malformed.exchange,
      reconcile,
      reconcile?.state === 'unknown' ? reconcile.error?.message : undefined,
    ]);
    expect(recorded).toContain('[redacted]');
    expect(recorded).not.toContain(encoded);
    expect(recorded).not.toContain(SECRET);
  });

  it("puts ServiceNow's error message and detail into the message", async () => {
    fake.enqueue({
      status: 404,
      body: {
        error: {
          message: 'No Record found',
          detail: "Record doesn't exist or ACL restricts the record retrieval",
        },
        status: 'failure',
      },
    });
    const error = await connectorFailure(
      servicenow().invoke(call('get_ticket', { sys_id: SYS_ID })),
    );
    expect(error).toMatchObject({ code: 'rejected', status: 404, retryable: false });
    expect(error.message).toBe(
      "itsm.get_ticket: HTTP 404: No Record found: Record doesn't exist or ACL restricts the record retrieval",
    );
  });

  it('adds a work note with PATCH', async () => {
    fake.enqueue({ body: { result: { number: 'INC0010042', sys_id: SYS_ID } } });
    const result = await servicenow().invoke(
      call('add_work_note', { sys_id: SYS_ID, text: 'Blocked 203.0.113.0/24.' }),
    );
    expect(fake.requests[0]).toMatchObject({
      method: 'PATCH',
      path: `/servicenow/api/now/table/incident/${SYS_ID}`,
      json: { work_notes: 'Blocked 203.0.113.0/24.' },
    });
    expect(result.output).toMatchObject({ number: 'INC0010042', sys_id: SYS_ID });
  });

  it('resolves with state 6, the close code and notes', async () => {
    fake.enqueue({ body: { result: { number: 'INC0010042', sys_id: SYS_ID, state: '6' } } });
    const result = await servicenow().invoke(
      call('resolve', {
        sys_id: SYS_ID,
        close_code: 'Solution provided',
        close_notes: 'Source blocked; model rolled back.',
      }),
    );
    expect(fake.requests[0]?.json).toEqual({
      state: '6',
      close_code: 'Solution provided',
      close_notes: 'Source blocked; model rolled back.',
    });
    expect(result.output).toMatchObject({ number: 'INC0010042', state: '6' });
  });

  it('reconciles create_ticket by correlation_id', async () => {
    fake.enqueue({ body: { result: [] } });
    const request = call('create_ticket', CREATE_INPUT);
    expect((await servicenow().reconcile?.(request))?.state).toBe('not_done');
    expect(fake.requests[0]?.path).toBe('/servicenow/api/now/table/incident');
    expect(Object.fromEntries(fake.requests[0]?.query ?? [])).toEqual({
      sysparm_query: `correlation_id=${request.idempotencyKey}`,
      sysparm_limit: '1',
      sysparm_fields: 'number,sys_id',
    });
  });

  it('reconciles resolve as done when the record is resolved, else unknown', async () => {
    const stateIs = (value: string) => ({
      body: {
        result: {
          number: { value: 'INC0010042', display_value: 'INC0010042' },
          sys_id: { value: SYS_ID, display_value: SYS_ID },
          state: { value, display_value: value === '6' ? 'Resolved' : 'In Progress' },
        },
      },
    });
    fake.enqueue(stateIs('6'), stateIs('2'));
    const connector = servicenow();
    const request = call('resolve', { sys_id: SYS_ID, close_notes: 'done' });
    const resolved = await connector.reconcile?.(request);
    expect(resolved?.state).toBe('done');
    if (resolved?.state === 'done') {
      expect(resolved.result.output).toMatchObject({ number: 'INC0010042', state: '6' });
    }
    expect((await connector.reconcile?.(request))?.state).toBe('unknown');
    expect(
      (await connector.reconcile?.(call('add_work_note', { sys_id: SYS_ID, text: 'x' })))?.state,
    ).toBe('unknown');
    expect(fake.requests).toHaveLength(2);
  });

  it('reports a response without result as invalid_output', async () => {
    fake.enqueue({ status: 201, body: { number: 'INC1' } });
    const error = await connectorFailure(servicenow().invoke(call('create_ticket', CREATE_INPUT)));
    expect(error).toMatchObject({ code: 'invalid_output', status: 201 });
  });

  it('reads unassigned records as null', async () => {
    fake.enqueue({
      body: {
        result: {
          ...RECORD,
          assigned_to: { value: '', display_value: '' },
          assignment_group: { value: '', display_value: '' },
        },
      },
    });
    const result = await servicenow().invoke(call('get_ticket', { sys_id: SYS_ID }));
    expect(result.output).toMatchObject({ assigned_to: null, assignment_group: null });
  });

  describe('configuration', () => {
    const refusal = (auth: string, extra = ''): string =>
      configError(() =>
        loadServiceNow(serviceNowYaml('https://example.service-now.com', auth, extra), { T: 'x' }),
      ).message;

    it.each([
      ['', '', 'connectors.itsm.password is required'],
      [`    username: u\n    password: hunter2`, '', 'must be a ${secret:NAME}'],
      [`    username: u\n    token: "\${secret:T}"`, '', 'cannot be combined'],
      [`    password: "\${secret:T}"`, '', 'connectors.itsm.username is required'],
      [`    token: "\${secret:T}"`, '    urgency_map: { high: 4 }', 'must be 1 (high), 2'],
      [`    token: "\${secret:T}"`, '    impact_map: { severe: 1 }', 'not a Warden severity'],
      [`    token: "\${secret:T}"`, '    table: Incident', 'must be a table name'],
      [`    token: "\${secret:T}"`, '    assignment_group: Security', 'must be a sys_id'],
      [`    token: "\${secret:T}"`, '    base_url_typo: x', 'is not a known key'],
    ])('rejects %j %j', (auth, extra, expected) => {
      expect(refusal(auth, extra)).toContain(expected);
    });
  });
});

describe('servicenow formatting', () => {
  it('uses the idempotency key as correlation_id when it fits, else its hash', () => {
    expect(correlationId('0193f0e2-7c1a-7b2e-9d41-3f5a6b7c8d9e/2/ticket/-')).toBe(
      '0193f0e2-7c1a-7b2e-9d41-3f5a6b7c8d9e/2/ticket/-',
    );
    expect(correlationId('a^b=c')).toMatch(/^warden-sha256-[0-9a-f]{64}$/);
    expect(correlationId('x'.repeat(101))).toMatch(/^warden-sha256-/);
    expect(correlationId('x'.repeat(101)).length).toBeLessThanOrEqual(100);
  });

  it('cuts short descriptions to one line of 160 characters', () => {
    expect(shortDescription('a\nb')).toBe('a b');
    expect(shortDescription('x'.repeat(200))).toHaveLength(160);
  });
});
