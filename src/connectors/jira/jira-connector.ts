import { CASE_INPUT_PROPERTIES, createdTicket, reconcileByLookup } from '../case-ticket.js';
import {
  ConnectorError,
  type Connector,
  type ConnectorActionSpec,
  type ConnectorCall,
  type ConnectorResult,
  type JsonValue,
  type RateLimit,
  type Reconciliation,
  type WireExchange,
} from '../connector.js';
import type { SecretString } from '../connector-config-reader.js';
import {
  basicAuthorization,
  bearerAuthorization,
  type AuthorizationHeader,
} from '../http/http-credentials.js';
import { sendJsonApiRequest } from '../http/json-api.js';
import { SecretRedactor } from '../secrets.js';
import {
  adfDocument,
  callLabel,
  caseLink,
  summaryLine,
  toWardenSeverity,
  wikiText,
  type WardenSeverity,
} from './jira-format.js';

/**
 * Jira issues for Warden cases: create one, comment on it, move it through
 * its workflow, read its status. Jira Cloud REST API v3 by default; API v2
 * for Jira Data Center (`api_version: 2`), whose fields are text rather
 * than Atlassian Document Format. Configured in connectors.yaml
 * (jira-connector-config.ts); see docs/connectors/jira.md.
 */

export type JiraApiVersion = 2 | 3;

export type JiraCredentials =
  | { readonly kind: 'basic'; readonly email: SecretString; readonly apiToken: SecretString }
  | { readonly kind: 'bearer'; readonly token: SecretString };

export interface JiraConnectorConfig {
  readonly name: string;
  /** The site, e.g. `https://example.atlassian.net`, without a trailing slash. */
  readonly baseUrl: string;
  readonly apiVersion: JiraApiVersion;
  readonly credentials: JiraCredentials;
  /** Project key new issues go to, e.g. `SEC`. */
  readonly project: string;
  readonly issueType: string;
  /** Put on every issue created, besides the call's own label. */
  readonly labels: readonly string[];
  /** Warden severity → Jira priority name; undefined: never set a priority. */
  readonly priorityMap: Readonly<Record<WardenSeverity, string>> | undefined;
  /** Warden's own URL, for the link to the case in descriptions. */
  readonly wardenUrl?: string;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  /** Every secret value from the config, redacted wherever text is recorded. */
  readonly secretValues: readonly string[];
}

export const JIRA_DEFAULT_PRIORITIES: Readonly<Record<WardenSeverity, string>> = Object.freeze({
  fatal: 'Highest',
  critical: 'Highest',
  high: 'High',
  medium: 'Medium',
  unknown: 'Medium',
  low: 'Low',
  informational: 'Lowest',
});

export const JIRA_DEFAULTS = Object.freeze({
  apiVersion: 3,
  issueType: 'Task',
  labels: ['warden'] as readonly string[],
  timeoutMs: 10_000,
  concurrency: 4,
});

export const JIRA_ACTIONS = {
  createTicket: 'create_ticket',
  comment: 'comment',
  transition: 'transition',
  getTicket: 'get_ticket',
} as const;

// ---------------------------------------------------------------------------
// Action schemas

/** `SEC-42` or the numeric issue id. */
const ISSUE_KEY = {
  type: 'string',
  pattern: '^([A-Z][A-Z0-9_]*-[1-9][0-9]*|[1-9][0-9]*)$',
  description: 'Issue key such as SEC-42 (or the numeric issue id)',
};
const LABEL = { type: 'string', pattern: '^\\S+$', maxLength: 255 };
const TICKET_OUTPUT = {
  type: 'object',
  properties: {
    key: { type: 'string' },
    id: { type: 'string' },
    url: { type: 'string' },
  },
  required: ['key', 'id', 'url'],
  additionalProperties: false,
};

function actionSpecs(): Record<string, ConnectorActionSpec> {
  const specs: ConnectorActionSpec[] = [
    {
      name: JIRA_ACTIONS.createTicket,
      description: 'Create a Jira issue for a case',
      effect: 'write',
      inputSchema: {
        type: 'object',
        properties: {
          ...CASE_INPUT_PROPERTIES,
          labels: { type: 'array', items: LABEL, maxItems: 20 },
          assignee_account_id: { type: 'string', minLength: 1 },
        },
        required: Object.keys(CASE_INPUT_PROPERTIES),
        additionalProperties: false,
      },
      outputSchema: TICKET_OUTPUT,
    },
    {
      name: JIRA_ACTIONS.comment,
      description: 'Add a comment to a Jira issue',
      effect: 'write',
      inputSchema: {
        type: 'object',
        properties: { key: ISSUE_KEY, text: { type: 'string', minLength: 1 } },
        required: ['key', 'text'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: {
          key: { type: 'string' },
          comment_id: { type: 'string' },
          url: { type: 'string' },
        },
        required: ['key', 'comment_id', 'url'],
        additionalProperties: false,
      },
    },
    {
      name: JIRA_ACTIONS.transition,
      description: 'Move a Jira issue through its workflow by transition name',
      effect: 'write',
      inputSchema: {
        type: 'object',
        properties: { key: ISSUE_KEY, transition_name: { type: 'string', minLength: 1 } },
        required: ['key', 'transition_name'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: {
          key: { type: 'string' },
          transition_id: { type: 'string' },
          transition_name: { type: 'string' },
          status: { type: 'string' },
        },
        required: ['key', 'transition_id', 'transition_name'],
        additionalProperties: false,
      },
    },
    {
      name: JIRA_ACTIONS.getTicket,
      description: 'Read a Jira issue: status, assignee, priority, last update',
      effect: 'read',
      inputSchema: {
        type: 'object',
        properties: { key: ISSUE_KEY },
        required: ['key'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: {
          key: { type: 'string' },
          id: { type: 'string' },
          url: { type: 'string' },
          summary: { type: 'string' },
          status: { type: 'string' },
          status_category: { type: 'string' },
          assignee: {
            oneOf: [
              { type: 'null' },
              {
                type: 'object',
                properties: {
                  display_name: { type: 'string' },
                  account_id: { type: 'string' },
                  name: { type: 'string' },
                },
                additionalProperties: false,
              },
            ],
          },
          priority: { type: ['string', 'null'] },
          updated: { type: ['string', 'null'] },
        },
        required: ['key', 'id', 'url', 'summary', 'status', 'assignee', 'priority', 'updated'],
        additionalProperties: false,
      },
    },
  ];
  return Object.fromEntries(specs.map((spec) => [spec.name, spec]));
}

// ---------------------------------------------------------------------------
// The connector

export function createJiraConnector(config: JiraConnectorConfig): Connector {
  return new JiraConnector(config);
}

type JsonObject = { [key: string]: JsonValue };

interface JiraRequest {
  readonly method: 'GET' | 'POST';
  /** After `/rest/api/<version>`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: JsonValue;
  readonly safeToRepeat: boolean;
}

interface JiraResponse {
  readonly status: number;
  /** Parsed JSON; undefined for an empty body (204). */
  readonly body: JsonValue | undefined;
  readonly exchange: WireExchange;
}

class JiraConnector implements Connector {
  readonly type = 'jira';
  readonly name: string;
  readonly actions = actionSpecs();
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly redactor: SecretRedactor;
  private readonly authorization: AuthorizationHeader;

  constructor(private readonly config: JiraConnectorConfig) {
    this.name = config.name;
    this.concurrency = config.concurrency;
    if (config.rateLimit) this.rateLimit = config.rateLimit;
    const credentials = config.credentials;
    this.authorization =
      credentials.kind === 'basic'
        ? basicAuthorization(credentials.email, credentials.apiToken)
        : bearerAuthorization(credentials.token);
    this.redactor = new SecretRedactor([...config.secretValues, ...this.authorization.secrets]);
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const input = asObject(call.input);
    switch (call.action) {
      case JIRA_ACTIONS.createTicket:
        return this.createTicket(call, input);
      case JIRA_ACTIONS.comment:
        return this.comment(call, input);
      case JIRA_ACTIONS.transition:
        return this.transition(call, input);
      case JIRA_ACTIONS.getTicket:
        return this.getTicket(call, input);
      default:
        throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
  }

  /**
   * Jira does not deduplicate creates, but every issue this connector
   * creates carries a label derived from the call's idempotency key: the
   * issue is looked up by it. Comments and transitions cannot be found
   * again reliably, so they stay `unknown`.
   */
  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    if (call.action !== JIRA_ACTIONS.createTicket) return { state: 'unknown' };
    const where = `${this.name}.${call.action}`;
    return reconcileByLookup(where, this.redactor, async () =>
      createdTicket(await this.findCreated(call, where)),
    );
  }

  // -------------------------------------------------------------------------
  // Actions

  private async createTicket(call: ConnectorCall, input: JsonObject): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const severity = toWardenSeverity(text(input.severity));
    const caseNumber = Number(input.case_number);
    const link = caseLink(caseNumber, this.config.wardenUrl);
    const labels = [
      ...new Set([
        ...this.config.labels,
        ...(Array.isArray(input.labels) ? input.labels.map(text) : []),
        callLabel(call.idempotencyKey),
      ]),
    ];
    const fields: JsonObject = {
      project: { key: this.config.project },
      issuetype: { name: this.config.issueType },
      summary: summaryLine(text(input.title)),
      description:
        this.config.apiVersion === 3
          ? adfDocument(text(input.description), link)
          : wikiText(text(input.description), link),
      labels,
    };
    const priority = severity === undefined ? undefined : this.config.priorityMap?.[severity];
    if (priority !== undefined) fields.priority = { name: priority };
    if (typeof input.assignee_account_id === 'string') {
      if (this.config.apiVersion === 2) {
        throw new ConnectorError(
          'invalid_input',
          `${where}: assignee_account_id is a Jira Cloud account id; api_version 2 (Data Center) cannot assign by it`,
        );
      }
      fields.assignee = { accountId: input.assignee_account_id };
    }
    const response = await this.send(where, call, {
      method: 'POST',
      path: '/issue',
      body: { fields },
      // Jira does not deduplicate: a create that may have arrived is not sent again.
      safeToRepeat: false,
    });
    const created = this.expectObject(where, response);
    const key = this.expectString(where, response, created.key, 'key');
    const id = this.expectString(where, response, created.id, 'id');
    return { output: { key, id, url: this.browseUrl(key) }, exchange: response.exchange };
  }

  private async comment(call: ConnectorCall, input: JsonObject): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const key = text(input.key);
    const body = this.config.apiVersion === 3 ? adfDocument(text(input.text)) : text(input.text);
    const response = await this.send(where, call, {
      method: 'POST',
      path: `/issue/${encodeURIComponent(key)}/comment`,
      body: { body },
      safeToRepeat: false,
    });
    const comment = this.expectObject(where, response);
    const commentId = this.expectString(where, response, comment.id, 'id');
    return {
      output: {
        key,
        comment_id: commentId,
        url: `${this.browseUrl(key)}?focusedCommentId=${encodeURIComponent(commentId)}`,
      },
      exchange: response.exchange,
    };
  }

  /**
   * Transitions have ids that differ per workflow, so the name is looked up
   * among those available from the issue's current status: the
   * transition's own name first, else the name of the status it leads to.
   */
  private async transition(call: ConnectorCall, input: JsonObject): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const key = text(input.key);
    const path = `/issue/${encodeURIComponent(key)}/transitions`;
    const listed = await this.send(where, call, { method: 'GET', path, safeToRepeat: true });
    const list = this.expectObject(where, listed).transitions;
    if (!Array.isArray(list)) this.invalidOutput(where, listed, 'the response has no transitions');
    const transitions = list.map((item) => {
      const entry = asObject(item);
      const to = asObject(entry.to ?? null);
      return {
        id: this.expectString(where, listed, entry.id, 'transitions[].id'),
        name: this.expectString(where, listed, entry.name, 'transitions[].name'),
        status: typeof to.name === 'string' ? to.name : undefined,
      };
    });
    const wanted = text(input.transition_name).trim().toLowerCase();
    const chosen =
      transitions.find((t) => t.name.toLowerCase() === wanted) ??
      transitions.find((t) => t.status?.toLowerCase() === wanted);
    if (chosen === undefined) {
      const available = transitions.map((t) => `"${t.name}"`).join(', ') || 'none';
      throw new ConnectorError(
        'rejected',
        `${where}: ${key} has no transition "${text(input.transition_name)}" from its current status (available: ${available})`,
        { exchange: listed.exchange, status: listed.status },
      );
    }
    const response = await this.send(where, call, {
      method: 'POST',
      path,
      body: { transition: { id: chosen.id } },
      safeToRepeat: false,
    });
    return {
      output: {
        key,
        transition_id: chosen.id,
        transition_name: chosen.name,
        ...(chosen.status === undefined ? {} : { status: chosen.status }),
      },
      exchange: response.exchange,
    };
  }

  private async getTicket(call: ConnectorCall, input: JsonObject): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const response = await this.send(where, call, {
      method: 'GET',
      path: `/issue/${encodeURIComponent(text(input.key))}`,
      query: { fields: 'summary,status,assignee,priority,updated' },
      safeToRepeat: true,
    });
    const issue = this.expectObject(where, response);
    const key = this.expectString(where, response, issue.key, 'key');
    const fields = asObject(issue.fields ?? null);
    const status = asObject(fields.status ?? null);
    const category = asObject(status.statusCategory ?? null);
    const assignee = fields.assignee;
    const priority = asObject(fields.priority ?? null);
    const output: JsonObject = {
      key,
      id: this.expectString(where, response, issue.id, 'id'),
      url: this.browseUrl(key),
      summary: typeof fields.summary === 'string' ? fields.summary : '',
      status: this.expectString(where, response, status.name, 'fields.status.name'),
      ...(typeof category.key === 'string' ? { status_category: category.key } : {}),
      assignee: assignee === null || assignee === undefined ? null : person(asObject(assignee)),
      priority: typeof priority.name === 'string' ? priority.name : null,
      updated: typeof fields.updated === 'string' ? fields.updated : null,
    };
    return { output, exchange: response.exchange };
  }

  /** The issue a create_ticket call made, found by its call label; undefined when none. */
  private async findCreated(
    call: ConnectorCall,
    where: string,
  ): Promise<ConnectorResult | undefined> {
    const response = await this.send(where, call, {
      method: 'GET',
      // /search/jql replaces the deprecated /search on Jira Cloud; Data Center has only /search.
      path: this.config.apiVersion === 3 ? '/search/jql' : '/search',
      query: {
        jql: `labels = "${callLabel(call.idempotencyKey)}"`,
        fields: 'summary',
        maxResults: '1',
      },
      safeToRepeat: true,
    });
    const issues = this.expectObject(where, response).issues;
    if (!Array.isArray(issues)) this.invalidOutput(where, response, 'the response has no issues');
    const [first] = issues;
    if (first === undefined) return undefined;
    const issue = asObject(first);
    const key = this.expectString(where, response, issue.key, 'issues[0].key');
    const id = this.expectString(where, response, issue.id, 'issues[0].id');
    return { output: { key, id, url: this.browseUrl(key) }, exchange: response.exchange };
  }

  // -------------------------------------------------------------------------
  // HTTP

  private async send(
    where: string,
    call: ConnectorCall,
    request: JiraRequest,
  ): Promise<JiraResponse> {
    const url = new URL(`${this.config.baseUrl}/rest/api/${this.config.apiVersion}${request.path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      url.searchParams.set(name, value);
    }
    const response = await sendJsonApiRequest(
      { method: request.method, url, authorization: this.authorization, body: request.body },
      {
        where,
        timeoutMs: this.config.timeoutMs,
        signal: call.signal,
        redactor: this.redactor,
        safeToRepeat: request.safeToRepeat,
        errorText: jiraErrorText,
      },
    );
    let body: JsonValue | undefined;
    if (response.text.trim() !== '') {
      try {
        body = JSON.parse(response.text) as JsonValue;
      } catch {
        this.invalidOutput(
          where,
          { status: response.status, body: undefined, exchange: response.exchange },
          'the response is not JSON',
        );
      }
    }
    return { status: response.status, body, exchange: response.exchange };
  }

  private browseUrl(key: string): string {
    return `${this.config.baseUrl}/browse/${encodeURIComponent(key)}`;
  }

  private expectObject(where: string, response: JiraResponse): JsonObject {
    const body = response.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return this.invalidOutput(where, response, 'the response is not a JSON object');
    }
    return body;
  }

  private expectString(
    where: string,
    response: JiraResponse,
    value: JsonValue | undefined,
    field: string,
  ): string {
    if (typeof value === 'string' && value !== '') return value;
    return this.invalidOutput(where, response, `the response has no ${field}`);
  }

  private invalidOutput(where: string, response: JiraResponse, problem: string): never {
    throw new ConnectorError('invalid_output', `${where}: ${problem}`, {
      status: response.status,
      exchange: response.exchange,
    });
  }
}

/**
 * Jira's error body `{ errorMessages: [...], errors: { field: message } }`
 * as one line; any other body as it is. Reads the recorded (redacted) text.
 */
export function jiraErrorText(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return body;
  const { errorMessages, errors } = parsed as { errorMessages?: unknown; errors?: unknown };
  const parts: string[] = [];
  if (Array.isArray(errorMessages)) {
    parts.push(...errorMessages.filter((m): m is string => typeof m === 'string'));
  }
  if (typeof errors === 'object' && errors !== null && !Array.isArray(errors)) {
    for (const [field, message] of Object.entries(errors)) {
      parts.push(`${field}: ${typeof message === 'string' ? message : JSON.stringify(message)}`);
    }
  }
  return parts.length === 0 ? body : parts.join('; ');
}

function person(user: JsonObject): JsonObject {
  return {
    ...(typeof user.displayName === 'string' ? { display_name: user.displayName } : {}),
    ...(typeof user.accountId === 'string' ? { account_id: user.accountId } : {}),
    ...(typeof user.name === 'string' ? { name: user.name } : {}),
  };
}

function asObject(value: JsonValue): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

/** The input's strings (and numbers) as text; the guard has checked the types already. */
function text(value: JsonValue | undefined): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}
