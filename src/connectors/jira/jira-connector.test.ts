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
import { JIRA_CONNECTOR_TYPE } from './jira-connector-config.js';
import { adfDocument, callLabel, summaryLine } from './jira-format.js';

/** A jira instance loaded from connectors.yaml, as in production. */
function loadJira(yaml: string, secrets: Record<string, string> = {}): Connector {
  return loadConnectorFromYaml(yaml, { secrets, types: [JIRA_CONNECTOR_TYPE], name: 'tickets' });
}

function jiraYaml(baseUrl: string, auth: string, extra = ''): string {
  return `
connectors:
  tickets:
    type: jira
    base_url: ${baseUrl}
${auth}
    project: SEC
    warden_url: https://warden.example.com/
${extra}`;
}

const BASIC = `    email: secops-bot@example.com\n    api_token: "\${secret:JIRA_API_TOKEN}"`;
const BEARER = `    bearer_token: "\${secret:JIRA_PAT}"`;
const basicHeader = (secret: string): string =>
  basicAuthorization('secops-bot@example.com', secret);

const ISSUE = {
  id: '10042',
  key: 'SEC-42',
  self: 'https://example.atlassian.net/rest/api/3/issue/10042',
  fields: {
    summary: 'Prompt injection against support-bot',
    status: { name: 'In Progress', statusCategory: { key: 'indeterminate', name: 'In Progress' } },
    assignee: { accountId: '5b10a2844c20165700ede21g', displayName: 'Mia Krystof' },
    priority: { name: 'High', id: '2' },
    updated: '2025-03-01T12:00:00.000+0000',
  },
};
const ISSUE_OUTPUT = {
  key: 'SEC-42',
  id: '10042',
  url: '', // set per base URL
  summary: 'Prompt injection against support-bot',
  status: 'In Progress',
  status_category: 'indeterminate',
  assignee: { display_name: 'Mia Krystof', account_id: '5b10a2844c20165700ede21g' },
  priority: 'High',
  updated: '2025-03-01T12:00:00.000+0000',
};
const CREATE_INPUT = {
  title: 'Prompt injection against support-bot',
  description: 'Three prompts tried to exfiltrate the system prompt.',
  case_number: 12,
  severity: 'High',
};

function contractSetup(auth: 'basic' | 'bearer'): HttpConnectorContractSetup {
  let base = '';
  return {
    create: ({ baseUrl, secret, timeoutMs }) => {
      base = baseUrl;
      return loadJira(
        jiraYaml(baseUrl, auth === 'basic' ? BASIC : BEARER, `    timeout: ${timeoutMs}ms\n`),
        auth === 'basic' ? { JIRA_API_TOKEN: secret } : { JIRA_PAT: secret },
      );
    },
    read: {
      action: 'get_ticket',
      input: { key: 'SEC-42' },
      response: { body: ISSUE },
      expectRequest: {
        method: 'GET',
        path: '/rest/api/3/issue/SEC-42',
        query: { fields: 'summary,status,assignee,priority,updated' },
      },
      get expectOutput() {
        return { ...ISSUE_OUTPUT, url: `${base}/browse/SEC-42` };
      },
    },
    write: {
      action: 'create_ticket',
      input: CREATE_INPUT,
      response: {
        status: 201,
        body: {
          id: '10043',
          key: 'SEC-43',
          self: 'https://example.atlassian.net/rest/api/3/issue/10043',
        },
      },
      expectRequest: {
        method: 'POST',
        path: '/rest/api/3/issue',
        body: {
          fields: {
            project: { key: 'SEC' },
            issuetype: { name: 'Task' },
            summary: 'Prompt injection against support-bot',
            description: {
              type: 'doc',
              version: 1,
              content: [
                {
                  type: 'paragraph',
                  content: [
                    { type: 'text', text: 'Three prompts tried to exfiltrate the system prompt.' },
                  ],
                },
                {
                  type: 'paragraph',
                  content: [
                    {
                      type: 'text',
                      text: 'Warden case #12',
                      marks: [
                        {
                          type: 'link',
                          attrs: { href: 'https://warden.example.com/api/v1/cases/12' },
                        },
                      ],
                    },
                  ],
                },
              ],
            },
            labels: ['warden', expect.stringMatching(/^warden-call-[0-9a-f]{32}$/)],
            priority: { name: 'High' },
          },
        },
      },
      get expectOutput() {
        return { key: 'SEC-43', id: '10043', url: `${base}/browse/SEC-43` };
      },
    },
    invalidInput: { action: 'create_ticket', input: { ...CREATE_INPUT, severity: 'severe' } },
    expectCredential: (request, secret) => {
      expect(request.headers.authorization).toBe(
        auth === 'basic' ? basicHeader(secret) : `Bearer ${secret}`,
      );
      expect(request.headers.accept).toBe('application/json');
    },
    idempotencyHeader: undefined,
    reconcileByLookup: {
      done: {
        responses: [{ body: { issues: [{ id: '10043', key: 'SEC-43' }], isLast: true } }],
        get expectOutput() {
          return { key: 'SEC-43', id: '10043', url: `${base}/browse/SEC-43` };
        },
      },
      notDone: { responses: [{ body: { issues: [], isLast: true } }] },
    },
  };
}

// Only with bearer_token: the suite's last check looks for the secret verbatim in the
// request headers, and Basic auth sends it base64-encoded. Basic is tested below.
describeHttpConnectorContract('jira', contractSetup('bearer'));

describe('the jira connector', () => {
  const SECRET = 'jira-token-8c1e2f';
  const fake = fakeHttpServiceForSuite();
  const call = numberedCalls('run-1/0/ticket/');
  const jira = (extra = '', auth = BASIC, prefix = '/jira'): Connector =>
    loadJira(jiraYaml(`${fake.url}${prefix}`, auth, extra), {
      JIRA_API_TOKEN: SECRET,
      JIRA_PAT: SECRET,
    });

  it('keeps the base URL path, adds labels, the assignee and a mapped priority', async () => {
    fake.enqueue({ status: 201, body: { id: '1', key: 'SEC-1' } });
    const connector = jira(
      `    labels: [warden, ai-security]\n    issue_type: Incident\n    priority_map: { critical: P1 }\n`,
    );
    const request = call('create_ticket', {
      ...CREATE_INPUT,
      title: 'Jailbreak\non   fraud-scorer',
      description: 'First paragraph,\nsecond line.\n\n\nSecond paragraph.',
      severity: 'critical',
      labels: ['model:fraud-scorer', 'warden'],
      assignee_account_id: '5b10ac8d82e05b22cc7d4ef5',
    });
    const result = await connector.invoke(request);
    expect(result.output).toEqual({ key: 'SEC-1', id: '1', url: `${fake.url}/jira/browse/SEC-1` });
    const sent = fake.requests[0];
    expect(sent?.path).toBe('/jira/rest/api/3/issue');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(sent?.json).toMatchObject({
      fields: {
        issuetype: { name: 'Incident' },
        summary: 'Jailbreak on fraud-scorer',
        labels: ['warden', 'ai-security', 'model:fraud-scorer', callLabel(request.idempotencyKey)],
        priority: { name: 'P1' },
        assignee: { accountId: '5b10ac8d82e05b22cc7d4ef5' },
        description: {
          content: [
            {
              type: 'paragraph',
              content: [
                { type: 'text', text: 'First paragraph,' },
                { type: 'hardBreak' },
                { type: 'text', text: 'second line.' },
              ],
            },
            { type: 'paragraph', content: [{ type: 'text', text: 'Second paragraph.' }] },
            { type: 'paragraph' },
          ],
        },
      },
    });
  });

  it('uses the default priorities for the other severities, and none sends no priority', async () => {
    fake.route({ method: 'POST' }, { status: 201, body: { id: '1', key: 'SEC-1' } });
    await jira(`    priority_map: { critical: P1 }\n`).invoke(
      call('create_ticket', { ...CREATE_INPUT, severity: 'Informational' }),
    );
    await jira(`    priority_map: none\n`).invoke(call('create_ticket', CREATE_INPUT));
    const fields = fake.requests.map((r) => (r.json as { fields: Record<string, unknown> }).fields);
    expect(fields[0]?.priority).toEqual({ name: 'Lowest' });
    expect(fields[1]).not.toHaveProperty('priority');
  });

  it('sends email + api_token as Basic and never records the token or the encoded pair', async () => {
    const echo = (request: { headers: unknown; path: string }) => ({
      body: { errorMessages: [JSON.stringify(request.headers)], headers: request.headers },
    });
    fake.enqueue((request) => ({ ...echo(request), status: 401 }));
    fake.enqueue((request) => ({ ...echo(request), status: 200 }));
    fake.enqueue((request) => ({ ...echo(request), status: 503 }));
    const connector = jira();
    const unauthorized = await connectorFailure(
      connector.invoke(call('get_ticket', { key: 'SEC-1' })),
    );
    const malformed = await connectorFailure(
      connector.invoke(call('get_ticket', { key: 'SEC-1' })),
    );
    const reconcile = await connector.reconcile?.(call('create_ticket', CREATE_INPUT));
    expect(unauthorized.code).toBe('unauthorized');
    expect(malformed.code).toBe('invalid_output');
    expect(reconcile?.state).toBe('unknown');
    for (const request of fake.requests) {
      expect(request.headers.authorization).toBe(basicHeader(SECRET));
    }
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

  it('records the Authorization header as its template and redacts the encoded pair', async () => {
    fake.enqueue((request) => ({
      status: 400,
      body: { errorMessages: [`bad header ${String(request.headers.authorization)}`], errors: {} },
    }));
    const error = await connectorFailure(jira().invoke(call('create_ticket', CREATE_INPUT)));
    const encoded = basicHeader(SECRET).slice('Basic '.length);
    expect(error.exchange?.requestHeaders.Authorization).toBe(
      'Basic base64(secops-bot@example.com:${secret:JIRA_API_TOKEN})',
    );
    expect(error.message).toContain('[redacted]');
    expect(JSON.stringify([error.message, error.exchange])).not.toContain(encoded);
    expect(JSON.stringify([error.message, error.exchange])).not.toContain(SECRET);
  });

  it("puts Jira's errorMessages and field errors into the message", async () => {
    fake.enqueue({
      status: 400,
      body: {
        errorMessages: ['Issue type is not valid for this project.'],
        errors: { priority: 'Priority name "P1" is not valid', labels: 'Labels are not allowed.' },
      },
    });
    const error = await connectorFailure(jira().invoke(call('create_ticket', CREATE_INPUT)));
    expect(error).toMatchObject({ code: 'rejected', status: 400, retryable: false });
    expect(error.message).toBe(
      'tickets.create_ticket: HTTP 400: Issue type is not valid for this project.; priority: Priority name "P1" is not valid; labels: Labels are not allowed.',
    );
  });

  it('comments with an ADF body', async () => {
    fake.enqueue({ status: 201, body: { id: '10001', created: '2025-03-01T12:00:00.000+0000' } });
    const result = await jira().invoke(
      call('comment', { key: 'SEC-42', text: 'Blocked 203.0.113.0/24 at the gateway.' }),
    );
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      path: '/jira/rest/api/3/issue/SEC-42/comment',
      json: { body: adfDocument('Blocked 203.0.113.0/24 at the gateway.') },
    });
    expect(result.output).toEqual({
      key: 'SEC-42',
      comment_id: '10001',
      url: `${fake.url}/jira/browse/SEC-42?focusedCommentId=10001`,
    });
  });

  const TRANSITIONS = {
    transitions: [
      { id: '21', name: 'Start work', to: { name: 'In Progress' } },
      { id: '31', name: 'Done', to: { name: 'Done' } },
    ],
  };

  it('transitions by name: looks the id up, then posts it', async () => {
    fake.enqueue({ body: TRANSITIONS }, { status: 204 });
    const result = await jira().invoke(
      call('transition', { key: 'SEC-42', transition_name: 'start WORK' }),
    );
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /jira/rest/api/3/issue/SEC-42/transitions',
      'POST /jira/rest/api/3/issue/SEC-42/transitions',
    ]);
    expect(fake.requests[1]?.json).toEqual({ transition: { id: '21' } });
    expect(result.output).toEqual({
      key: 'SEC-42',
      transition_id: '21',
      transition_name: 'Start work',
      status: 'In Progress',
    });
    expect(result.exchange?.method).toBe('POST');
  });

  it('also finds a transition by the status it leads to', async () => {
    fake.enqueue({ body: TRANSITIONS }, { status: 204 });
    const result = await jira().invoke(
      call('transition', { key: 'SEC-42', transition_name: 'In Progress' }),
    );
    expect(result.output).toMatchObject({ transition_id: '21' });
  });

  it('rejects an unavailable transition, naming the available ones, without posting', async () => {
    fake.enqueue({ body: TRANSITIONS });
    const error = await connectorFailure(
      jira().invoke(call('transition', { key: 'SEC-42', transition_name: 'Reopen' })),
    );
    expect(error).toMatchObject({ code: 'rejected', retryable: false });
    expect(error.message).toContain('available: "Start work", "Done"');
    expect(error.exchange?.method).toBe('GET');
    expect(fake.requests).toHaveLength(1);
  });

  it('reads an unassigned issue without a priority', async () => {
    fake.enqueue({
      body: {
        id: '7',
        key: 'SEC-7',
        fields: { summary: 's', status: { name: 'To Do' }, assignee: null, priority: null },
      },
    });
    const result = await jira().invoke(call('get_ticket', { key: 'SEC-7' }));
    expect(result.output).toEqual({
      key: 'SEC-7',
      id: '7',
      url: `${fake.url}/jira/browse/SEC-7`,
      summary: 's',
      status: 'To Do',
      assignee: null,
      priority: null,
      updated: null,
    });
  });

  it('reports a response without the expected fields as invalid_output', async () => {
    fake.enqueue({ status: 201, body: { self: 'x' } });
    const error = await connectorFailure(jira().invoke(call('create_ticket', CREATE_INPUT)));
    expect(error).toMatchObject({ code: 'invalid_output', status: 201 });
    expect(error.exchange).toBeDefined();
  });

  it('reconciles create_ticket by its call label with JQL', async () => {
    fake.enqueue({ body: { issues: [{ id: '10043', key: 'SEC-43' }] } });
    const request = call('create_ticket', CREATE_INPUT);
    const answer = await jira().reconcile?.(request);
    expect(answer?.state).toBe('done');
    expect(fake.requests[0]?.path).toBe('/jira/rest/api/3/search/jql');
    expect(fake.requests[0]?.query.get('jql')).toBe(
      `labels = "${callLabel(request.idempotencyKey)}"`,
    );
    expect(fake.requests[0]?.query.get('maxResults')).toBe('1');
  });

  it('answers unknown for comments and transitions, which cannot be looked up', async () => {
    const connector = jira();
    for (const request of [
      call('comment', { key: 'SEC-1', text: 'x' }),
      call('transition', { key: 'SEC-1', transition_name: 'Done' }),
    ]) {
      expect((await connector.reconcile?.(request))?.state).toBe('unknown');
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('rejects invalid issue keys and labels with spaces before sending', async () => {
    const connector = jira();
    for (const request of [
      call('get_ticket', { key: 'SEC 42' }),
      call('create_ticket', { ...CREATE_INPUT, labels: ['two words'] }),
      call('create_ticket', { ...CREATE_INPUT, case_number: '12' }),
    ]) {
      expect((await connectorFailure(connector.invoke(request))).code).toBe('invalid_input');
    }
    expect(fake.requests).toHaveLength(0);
  });

  describe('api_version 2 (Data Center)', () => {
    const dc = (): Connector => jira(`    api_version: 2\n`, BEARER, '');

    it('sends text fields to /rest/api/2 with the PAT', async () => {
      fake.enqueue(
        { status: 201, body: { id: '5', key: 'SEC-5' } },
        { status: 201, body: { id: '9' } },
      );
      const connector = dc();
      await connector.invoke(call('create_ticket', CREATE_INPUT));
      await connector.invoke(call('comment', { key: 'SEC-5', text: 'Contained.' }));
      expect(fake.requests[0]?.path).toBe('/rest/api/2/issue');
      expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(fake.requests[0]?.json).toMatchObject({
        fields: {
          description:
            'Three prompts tried to exfiltrate the system prompt.\n\n[Warden case #12|https://warden.example.com/api/v1/cases/12]',
        },
      });
      expect(fake.requests[1]?.json).toEqual({ body: 'Contained.' });
    });

    it('reconciles with /rest/api/2/search', async () => {
      fake.enqueue({ body: { startAt: 0, total: 0, issues: [] } });
      expect((await dc().reconcile?.(call('create_ticket', CREATE_INPUT)))?.state).toBe('not_done');
      expect(fake.requests[0]?.path).toBe('/rest/api/2/search');
    });

    it('cannot assign by Cloud account id', async () => {
      const error = await connectorFailure(
        dc().invoke(call('create_ticket', { ...CREATE_INPUT, assignee_account_id: 'abc' })),
      );
      expect(error.code).toBe('invalid_input');
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('configuration', () => {
    const refusal = (auth: string, extra = '', secrets = { T: 'x' }): string =>
      configError(() => loadJira(jiraYaml('https://example.atlassian.net', auth, extra), secrets))
        .message;

    it.each([
      ['', '', 'connectors.tickets.api_token is required'],
      [`    email: a@example.com\n    api_token: plain-token`, '', 'must be a ${secret:NAME}'],
      [`    email: a@example.com\n    bearer_token: "\${secret:T}"`, '', 'cannot be combined'],
      [`    api_token: "\${secret:T}"`, '', 'connectors.tickets.email is required'],
      [
        `    bearer_token: "\${secret:T}"`,
        '    priority_map: { severe: P1 }',
        'not a Warden severity',
      ],
      [`    bearer_token: "\${secret:T}"`, '    api_version: 4', 'must be 3 (Jira Cloud) or 2'],
      [
        `    bearer_token: "\${secret:T}"`,
        '    labels: [two words]',
        'labels[0] must have no spaces',
      ],
      [`    bearer_token: "\${secret:T}"`, '    unknown_key: 1', 'is not a known key'],
    ])('rejects %j %j', (auth, extra, expected) => {
      expect(refusal(auth, extra)).toContain(expected);
    });

    it('requires a project key', () => {
      expect(() =>
        loadJira(
          `connectors:\n  tickets:\n    type: jira\n    base_url: https://example.atlassian.net\n    bearer_token: "\${secret:T}"\n`,
          { T: 'x' },
        ),
      ).toThrow(/connectors\.tickets\.project is required/);
    });
  });
});

describe('jira formatting', () => {
  it('makes a label without spaces, the same for the same key', () => {
    expect(callLabel('run/1/step/-')).toBe(callLabel('run/1/step/-'));
    expect(callLabel('run/1/step/-')).not.toBe(callLabel('run/1/step/0'));
    expect(callLabel('a key with spaces')).toMatch(/^warden-call-[0-9a-f]{32}$/);
  });

  it('cuts summaries to one line of 255 characters', () => {
    const summary = summaryLine(`${'x'.repeat(300)}\nsecond`);
    expect(summary).toHaveLength(255);
    expect(summary.endsWith('…')).toBe(true);
  });

  it('builds a document without empty text nodes', () => {
    expect(adfDocument('\n\n  \n')).toEqual({ type: 'doc', version: 1, content: [] });
  });
});
