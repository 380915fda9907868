import { createHash } from 'node:crypto';
import {
  CASE_INPUT_PROPERTIES,
  caseLink,
  createdTicket,
  oneLineSummary,
  reconcileByLookup,
  toWardenSeverity,
  withReference,
  type WardenSeverity,
} from '../case-ticket.js';
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
import {
  authorizationHeader,
  type AuthorizationHeader,
  type HttpCredentials,
} from '../http/http-credentials.js';
import { sendJsonApiRequest } from '../http/json-api.js';
import { SecretRedactor } from '../secrets.js';

/**
 * ServiceNow records (incidents by default) for Warden cases through the
 * Table API: open one, add work notes, resolve it, read it. Configured in
 * connectors.yaml (servicenow-connector-config.ts); see
 * docs/connectors/servicenow.md.
 */

/** Warden severities (the keys of `urgency_map` and `impact_map`) are the ticketing connectors' own. */
export { WARDEN_SEVERITIES, toWardenSeverity, type WardenSeverity } from '../case-ticket.js';

/** ServiceNow's urgency and impact scale: 1 (high) to 3 (low). */
export type ServiceNowLevel = '1' | '2' | '3';

/** `username` + `password` (Basic) or an OAuth access `token` (Bearer). */
export type ServiceNowCredentials = HttpCredentials;

export interface ServiceNowConnectorConfig {
  readonly name: string;
  /** The instance, e.g. `https://example.service-now.com`, without a trailing slash. */
  readonly baseUrl: string;
  readonly credentials: ServiceNowCredentials;
  /** @default incident */
  readonly table: string;
  /** sys_id of the group new records are assigned to. */
  readonly assignmentGroup?: string;
  /** sys_id of the user new records are raised for (the caller). */
  readonly callerId?: string;
  readonly urgencyMap: Readonly<Record<WardenSeverity, ServiceNowLevel>>;
  readonly impactMap: Readonly<Record<WardenSeverity, ServiceNowLevel>>;
  /** Warden's own URL, for the link to the case in descriptions. */
  readonly wardenUrl?: string;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  /** Every secret value from the config, redacted wherever text is recorded. */
  readonly secretValues: readonly string[];
}

/**
 * With ServiceNow's default priority matrix these give critical → 1
 * (Critical), high → 3 (Moderate), medium → 4 (Low), low → 5 (Planning).
 */
export const SERVICENOW_DEFAULT_URGENCY: Readonly<Record<WardenSeverity, ServiceNowLevel>> =
  Object.freeze({
    fatal: '1',
    critical: '1',
    high: '2',
    medium: '2',
    unknown: '2',
    low: '3',
    informational: '3',
  });
export const SERVICENOW_DEFAULT_IMPACT: Readonly<Record<WardenSeverity, ServiceNowLevel>> =
  Object.freeze({
    fatal: '1',
    critical: '1',
    high: '2',
    medium: '3',
    unknown: '3',
    low: '3',
    informational: '3',
  });

export const SERVICENOW_DEFAULTS = Object.freeze({
  table: 'incident',
  timeoutMs: 10_000,
  concurrency: 4,
});

export const SERVICENOW_ACTIONS = {
  createTicket: 'create_ticket',
  addWorkNote: 'add_work_note',
  resolve: 'resolve',
  getTicket: 'get_ticket',
} as const;

/** The incident states this connector sets or recognises as resolved. */
const STATE_RESOLVED = '6';
const STATE_CLOSED = '7';
/** The default length of `short_description` on task tables. */
const SHORT_DESCRIPTION_MAX = 160;
/** The length of `correlation_id` on task tables. */
const CORRELATION_ID_MAX = 100;

// ---------------------------------------------------------------------------
// Action schemas

const SYS_ID = {
  type: 'string',
  pattern: '^[0-9a-f]{32}$',
  description: 'The record sys_id (32 hex digits), e.g. from create_ticket',
};
const RECORD_OUTPUT_PROPERTIES = {
  number: { type: 'string' },
  sys_id: { type: 'string' },
  url: { type: 'string' },
};
const RECORD_OUTPUT = {
  type: 'object',
  properties: RECORD_OUTPUT_PROPERTIES,
  required: ['number', 'sys_id', 'url'],
  additionalProperties: false,
};

function actionSpecs(): Record<string, ConnectorActionSpec> {
  const specs: ConnectorActionSpec[] = [
    {
      name: SERVICENOW_ACTIONS.createTicket,
      description: 'Open a ServiceNow record (an incident by default) for a case',
      effect: 'write',
      inputSchema: {
        type: 'object',
        properties: CASE_INPUT_PROPERTIES,
        required: Object.keys(CASE_INPUT_PROPERTIES),
        additionalProperties: false,
      },
      outputSchema: RECORD_OUTPUT,
    },
    {
      name: SERVICENOW_ACTIONS.addWorkNote,
      description: 'Add a work note to a ServiceNow record',
      effect: 'write',
      inputSchema: {
        type: 'object',
        properties: { sys_id: SYS_ID, text: { type: 'string', minLength: 1 } },
        required: ['sys_id', 'text'],
        additionalProperties: false,
      },
      outputSchema: RECORD_OUTPUT,
    },
    {
      name: SERVICENOW_ACTIONS.resolve,
      description: 'Resolve a ServiceNow incident (state 6) with close notes',
      effect: 'write',
      inputSchema: {
        type: 'object',
        properties: {
          sys_id: SYS_ID,
          close_code: {
            type: 'string',
            minLength: 1,
            description: "Resolution code as your instance names it, e.g. 'Solution provided'",
          },
          close_notes: { type: 'string', minLength: 1 },
        },
        required: ['sys_id', 'close_notes'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: { ...RECORD_OUTPUT_PROPERTIES, state: { type: 'string' } },
        required: ['number', 'sys_id', 'url', 'state'],
        additionalProperties: false,
      },
    },
    {
      name: SERVICENOW_ACTIONS.getTicket,
      description: 'Read a ServiceNow record: state, priority, assignment, last update',
      effect: 'read',
      inputSchema: {
        type: 'object',
        properties: { sys_id: SYS_ID },
        required: ['sys_id'],
        additionalProperties: false,
      },
      outputSchema: {
        type: 'object',
        properties: {
          ...RECORD_OUTPUT_PROPERTIES,
          short_description: { type: 'string' },
          state: { type: 'string' },
          state_label: { type: 'string' },
          priority: { type: 'string' },
          priority_label: { type: 'string' },
          assigned_to: { type: ['string', 'null'] },
          assignment_group: { type: ['string', 'null'] },
          updated: { type: ['string', 'null'] },
        },
        required: [
          'number',
          'sys_id',
          'url',
          'short_description',
          'state',
          'state_label',
          'priority',
          'priority_label',
          'assigned_to',
          'assignment_group',
          'updated',
        ],
        additionalProperties: false,
      },
    },
  ];
  return Object.fromEntries(specs.map((spec) => [spec.name, spec]));
}

// ---------------------------------------------------------------------------
// The connector

export function createServiceNowConnector(config: ServiceNowConnectorConfig): Connector {
  return new ServiceNowConnector(config);
}

type JsonObject = { [key: string]: JsonValue };

interface TableRequest {
  readonly method: 'GET' | 'POST' | 'PATCH';
  /** After `/api/now/table/<table>`: '' or `/<sys_id>`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body?: JsonValue;
  readonly safeToRepeat: boolean;
}

interface TableResponse {
  readonly status: number;
  /** `result` of the response body. */
  readonly result: JsonValue | undefined;
  readonly exchange: WireExchange;
}

const RECORD_FIELDS = 'number,sys_id';
const GET_FIELDS = [
  'number',
  'sys_id',
  'short_description',
  'state',
  'priority',
  'assigned_to',
  'assignment_group',
  'sys_updated_on',
].join(',');

class ServiceNowConnector implements Connector {
  readonly type = 'servicenow';
  readonly name: string;
  readonly actions = actionSpecs();
  readonly concurrency: number;
  readonly rateLimit?: RateLimit;
  private readonly redactor: SecretRedactor;
  private readonly authorization: AuthorizationHeader;

  constructor(private readonly config: ServiceNowConnectorConfig) {
    this.name = config.name;
    this.concurrency = config.concurrency;
    if (config.rateLimit) this.rateLimit = config.rateLimit;
    this.authorization = authorizationHeader(config.credentials);
    this.redactor = new SecretRedactor([...config.secretValues, ...this.authorization.secrets]);
  }

  async invoke(call: ConnectorCall): Promise<ConnectorResult> {
    const input = asObject(call.input);
    switch (call.action) {
      case SERVICENOW_ACTIONS.createTicket:
        return this.createTicket(call, input);
      case SERVICENOW_ACTIONS.addWorkNote:
        return this.addWorkNote(call, input);
      case SERVICENOW_ACTIONS.resolve:
        return this.resolve(call, input);
      case SERVICENOW_ACTIONS.getTicket:
        return this.getTicket(call, input);
      default:
        throw new ConnectorError('unknown_action', `${this.name}: no action "${call.action}"`);
    }
  }

  /**
   * The Table API does not deduplicate inserts, but every record this
   * connector opens carries the call's idempotency key in `correlation_id`:
   * the record is looked up by it. A resolve is `done` when the record is
   * resolved or closed; otherwise nothing tells whether it arrived (someone
   * may have reopened it), and work notes cannot be found again: `unknown`.
   */
  async reconcile(call: ConnectorCall): Promise<Reconciliation> {
    if (
      call.action !== SERVICENOW_ACTIONS.createTicket &&
      call.action !== SERVICENOW_ACTIONS.resolve
    ) {
      return { state: 'unknown' };
    }
    const where = `${this.name}.${call.action}`;
    return reconcileByLookup(where, this.redactor, async () =>
      call.action === SERVICENOW_ACTIONS.resolve
        ? this.reconcileResolve(call, where)
        : createdTicket(await this.findCreated(call, where)),
    );
  }

  // -------------------------------------------------------------------------
  // Actions

  private async createTicket(call: ConnectorCall, input: JsonObject): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const severity = toWardenSeverity(text(input.severity)) ?? 'unknown';
    const body: JsonObject = {
      short_description: shortDescription(text(input.title)),
      description: this.description(text(input.description), Number(input.case_number)),
      urgency: this.config.urgencyMap[severity],
      impact: this.config.impactMap[severity],
      ...(this.config.assignmentGroup === undefined
        ? {}
        : { assignment_group: this.config.assignmentGroup }),
      ...(this.config.callerId === undefined ? {} : { caller_id: this.config.callerId }),
      correlation_id: correlationId(call.idempotencyKey),
      correlation_display: 'Warden',
    };
    const response = await this.send(where, call, {
      method: 'POST',
      path: '',
      query: { sysparm_fields: RECORD_FIELDS, sysparm_exclude_reference_link: 'true' },
      body,
      // The Table API does not deduplicate: an insert that may have arrived is not sent again.
      safeToRepeat: false,
    });
    return { output: this.recordOutput(where, response), exchange: response.exchange };
  }

  private async addWorkNote(call: ConnectorCall, input: JsonObject): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const response = await this.send(where, call, {
      method: 'PATCH',
      path: `/${encodeURIComponent(text(input.sys_id))}`,
      query: { sysparm_fields: RECORD_FIELDS, sysparm_exclude_reference_link: 'true' },
      body: { work_notes: text(input.text) },
      // Each PATCH with work_notes adds another journal entry.
      safeToRepeat: false,
    });
    return { output: this.recordOutput(where, response), exchange: response.exchange };
  }

  private async resolve(call: ConnectorCall, input: JsonObject): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const body: JsonObject = {
      state: STATE_RESOLVED,
      ...(typeof input.close_code === 'string' ? { close_code: input.close_code } : {}),
      close_notes: text(input.close_notes),
    };
    const response = await this.send(where, call, {
      method: 'PATCH',
      path: `/${encodeURIComponent(text(input.sys_id))}`,
      query: {
        sysparm_fields: `${RECORD_FIELDS},state`,
        sysparm_exclude_reference_link: 'true',
      },
      body,
      safeToRepeat: false,
    });
    const record = this.expectRecord(where, response);
    return {
      output: {
        ...this.recordOutput(where, response),
        state: typeof record.state === 'string' ? record.state : STATE_RESOLVED,
      },
      exchange: response.exchange,
    };
  }

  private async getTicket(call: ConnectorCall, input: JsonObject): Promise<ConnectorResult> {
    const where = `${this.name}.${call.action}`;
    const response = await this.fetchRecord(where, call, text(input.sys_id), GET_FIELDS);
    const record = this.expectRecord(where, response);
    const number = displayed(record.number);
    const sysId = displayed(record.sys_id);
    if (number.value === '' || sysId.value === '') {
      this.invalidOutput(where, response, 'the response has no number or sys_id');
    }
    const state = displayed(record.state);
    const priority = displayed(record.priority);
    const assignedTo = displayed(record.assigned_to);
    const group = displayed(record.assignment_group);
    const updated = displayed(record.sys_updated_on);
    return {
      output: {
        number: number.value,
        sys_id: sysId.value,
        url: this.recordUrl(sysId.value),
        short_description: displayed(record.short_description).value,
        state: state.value,
        state_label: state.display,
        priority: priority.value,
        priority_label: priority.display,
        assigned_to: assignedTo.value === '' ? null : assignedTo.display,
        assignment_group: group.value === '' ? null : group.display,
        updated: updated.value === '' ? null : updated.value,
      },
      exchange: response.exchange,
    };
  }

  /** The record a create_ticket call opened, found by its correlation_id; undefined when none. */
  private async findCreated(
    call: ConnectorCall,
    where: string,
  ): Promise<ConnectorResult | undefined> {
    const response = await this.send(where, call, {
      method: 'GET',
      path: '',
      query: {
        sysparm_query: `correlation_id=${correlationId(call.idempotencyKey)}`,
        sysparm_limit: '1',
        sysparm_fields: RECORD_FIELDS,
      },
      safeToRepeat: true,
    });
    if (!Array.isArray(response.result)) {
      return this.invalidOutput(where, response, 'the response has no result list');
    }
    const [first] = response.result;
    if (first === undefined) return undefined;
    return {
      output: this.recordOutput(where, { ...response, result: first }),
      exchange: response.exchange,
    };
  }

  private async reconcileResolve(call: ConnectorCall, where: string): Promise<Reconciliation> {
    const sysId = text(asObject(call.input).sys_id);
    const response = await this.fetchRecord(where, call, sysId, `${RECORD_FIELDS},state`);
    const record = this.expectRecord(where, response);
    const state = displayed(record.state).value;
    // Not resolved: it never arrived, or someone reopened it since. No way to tell.
    if (state !== STATE_RESOLVED && state !== STATE_CLOSED) return { state: 'unknown' };
    const flat: JsonObject = {
      number: displayed(record.number).value,
      sys_id: displayed(record.sys_id).value,
    };
    return {
      state: 'done',
      result: {
        output: { ...this.recordOutput(where, { ...response, result: flat }), state },
        exchange: response.exchange,
      },
    };
  }

  // -------------------------------------------------------------------------
  // HTTP

  private fetchRecord(
    where: string,
    call: ConnectorCall,
    sysId: string,
    fields: string,
  ): Promise<TableResponse> {
    return this.send(where, call, {
      method: 'GET',
      path: `/${encodeURIComponent(sysId)}`,
      query: {
        sysparm_fields: fields,
        // Values and labels both: `state` is "6", its label "Resolved".
        sysparm_display_value: 'all',
        sysparm_exclude_reference_link: 'true',
      },
      safeToRepeat: true,
    });
  }

  private async send(
    where: string,
    call: ConnectorCall,
    request: TableRequest,
  ): Promise<TableResponse> {
    const url = new URL(
      `${this.config.baseUrl}/api/now/table/${encodeURIComponent(this.config.table)}${request.path}`,
    );
    for (const [name, value] of Object.entries(request.query)) url.searchParams.set(name, value);
    const response = await sendJsonApiRequest(
      { method: request.method, url, authorization: this.authorization, body: request.body },
      {
        where,
        timeoutMs: this.config.timeoutMs,
        signal: call.signal,
        redactor: this.redactor,
        safeToRepeat: request.safeToRepeat,
        errorText: serviceNowErrorText,
      },
    );
    let body: JsonValue | undefined;
    try {
      body = JSON.parse(response.text) as JsonValue;
    } catch {
      body = undefined;
    }
    const result = asObject(body ?? null).result;
    const answered = { status: response.status, result, exchange: response.exchange };
    if (result === undefined) this.invalidOutput(where, answered, 'the response has no result');
    return answered;
  }

  private description(text: string, caseNumber: number): string {
    const link = caseLink(caseNumber, this.config.wardenUrl);
    return withReference(text, link.href === undefined ? link.text : `${link.text}: ${link.href}`);
  }

  private recordUrl(sysId: string): string {
    return `${this.config.baseUrl}/nav_to.do?uri=${this.config.table}.do?sys_id=${sysId}`;
  }

  private recordOutput(where: string, response: TableResponse): JsonObject {
    const record = this.expectRecord(where, response);
    const number = record.number;
    const sysId = record.sys_id;
    if (typeof number !== 'string' || number === '' || typeof sysId !== 'string' || sysId === '') {
      return this.invalidOutput(where, response, 'the response has no number or sys_id');
    }
    return { number, sys_id: sysId, url: this.recordUrl(sysId) };
  }

  private expectRecord(where: string, response: TableResponse): JsonObject {
    const record = response.result;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return this.invalidOutput(where, response, 'the response result is not a record');
    }
    return record;
  }

  private invalidOutput(where: string, response: TableResponse, problem: string): never {
    throw new ConnectorError('invalid_output', `${where}: ${problem}`, {
      status: response.status,
      exchange: response.exchange,
    });
  }
}

/**
 * The call's idempotency key as `correlation_id` when it fits (100
 * characters, nothing an encoded query would read as an operator), else a
 * hash of it: the same key always gives the same value.
 */
export function correlationId(idempotencyKey: string): string {
  if (/^[A-Za-z0-9._:/@-]+$/.test(idempotencyKey) && idempotencyKey.length <= CORRELATION_ID_MAX) {
    return idempotencyKey;
  }
  return `warden-sha256-${createHash('sha256').update(idempotencyKey).digest('hex')}`;
}

/** `short_description` is one line of at most 160 characters on task tables. */
export function shortDescription(title: string): string {
  return oneLineSummary(title, SHORT_DESCRIPTION_MAX);
}

/**
 * ServiceNow's error body `{ error: { message, detail }, status: "failure" }`
 * as one line; any other body as it is. Reads the recorded (redacted) text.
 */
export function serviceNowErrorText(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return body;
  const { message, detail } = error as { message?: unknown; detail?: unknown };
  const parts = [message, detail].filter(
    (part): part is string => typeof part === 'string' && part.trim() !== '',
  );
  return parts.length === 0 ? body : parts.join(': ');
}

/** A field read with `sysparm_display_value=all` (`{ value, display_value }`), or a plain value. */
function displayed(field: JsonValue | undefined): { value: string; display: string } {
  if (typeof field === 'string') return { value: field, display: field };
  const object = asObject(field ?? null);
  const value = typeof object.value === 'string' ? object.value : '';
  const display = typeof object.display_value === 'string' ? object.display_value : value;
  return { value, display };
}

function asObject(value: JsonValue): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

/** The input's strings (and numbers) as text; the guard has checked the types already. */
function text(value: JsonValue | undefined): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}
