import { randomBytes } from 'node:crypto';
import type { FakeReply, FakeRequest, VendorFake, VendorFakeFactory } from '../vendor-fake.js';

/**
 * ServiceNow for the demo, under `/servicenow`: the Table API
 * (`/api/now/table/{table}`) as the `servicenow` connector uses it.
 * Records get numbers INC0010001, … (SIR… for sn_si_incident) and 32-hex
 * sys_ids, a priority from urgency × impact, work notes and states; lists
 * filter by `sysparm_query` conditions `field=value` joined with `^`, and
 * `sysparm_fields`, `sysparm_limit` and `sysparm_display_value` apply.
 * Any Basic or Bearer credential is accepted. Not ServiceNow: no ACLs,
 * business rules or other operators.
 */

const PREFIX = '/servicenow';

const NUMBER_PREFIXES: Readonly<Record<string, string>> = {
  incident: 'INC',
  sn_si_incident: 'SIR',
  problem: 'PRB',
  change_request: 'CHG',
  sc_task: 'SCTASK',
};
const STATE_LABELS: Readonly<Record<string, string>> = {
  '1': 'New',
  '2': 'In Progress',
  '3': 'On Hold',
  '6': 'Resolved',
  '7': 'Closed',
  '8': 'Canceled',
};
const PRIORITY_LABELS: Readonly<Record<string, string>> = {
  '1': '1 - Critical',
  '2': '2 - High',
  '3': '3 - Moderate',
  '4': '4 - Low',
  '5': '5 - Planning',
};
const LEVEL_LABELS: Readonly<Record<string, string>> = {
  '1': '1 - High',
  '2': '2 - Medium',
  '3': '3 - Low',
};
/** Fields a caller may set; anything else in a body is ignored, as ServiceNow does. */
const WRITABLE = [
  'short_description',
  'description',
  'urgency',
  'impact',
  'state',
  'assignment_group',
  'assigned_to',
  'caller_id',
  'category',
  'correlation_id',
  'correlation_display',
  'close_code',
  'close_notes',
];

type Row = Record<string, string>;
type Json = Record<string, unknown>;

interface StoredRecord {
  readonly table: string;
  readonly fields: Row;
  readonly workNotes: { text: string; at: string }[];
}

export const createServiceNowFake: VendorFakeFactory = (record): VendorFake => {
  const records = new Map<string, StoredRecord>();
  const counters = new Map<string, number>();

  function handle(request: FakeRequest): FakeReply | undefined {
    if (request.path !== PREFIX && !request.path.startsWith(`${PREFIX}/`)) return undefined;
    const match = /^\/api\/now\/table\/([a-z][a-z0-9_]*)(?:\/([^/]+))?$/.exec(
      request.path.slice(PREFIX.length),
    );
    if (match === null)
      return failure(400, 'Invalid URL', `No demo ServiceNow API at ${request.path}`);
    if (!/^(Basic|Bearer) \S+/.test(String(request.headers.authorization ?? ''))) {
      return failure(401, 'User Not Authenticated', 'Required to provide Auth information');
    }
    const table = match[1] ?? '';
    const sysId = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const method = request.method.toUpperCase();
    let body: Json = {};
    if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
      try {
        const parsed = JSON.parse(request.text || '{}') as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error();
        body = parsed as Json;
      } catch {
        return failure(400, 'Exception while reading request', 'The payload is not valid JSON.');
      }
    }

    if (sysId === undefined) {
      if (method === 'POST') return insert(table, body, request.query);
      if (method === 'GET') return list(table, request.query);
    } else {
      const stored = records.get(sysId);
      if (stored === undefined || stored.table !== table) {
        return failure(
          404,
          'No Record found',
          "Record doesn't exist or ACL restricts the record retrieval",
        );
      }
      if (method === 'GET') return ok(200, { result: view(stored, request.query) });
      if (method === 'PATCH' || method === 'PUT') return update(stored, body, request.query);
    }
    return failure(405, 'Method not Supported', `${method} is not supported for this resource`);
  }

  function insert(table: string, body: Json, query: URLSearchParams): FakeReply {
    const prefix = NUMBER_PREFIXES[table] ?? 'TKT';
    const count = (counters.get(prefix) ?? 10_000) + 1;
    counters.set(prefix, count);
    const now = serviceNowTime();
    const fields: Row = {
      sys_id: randomBytes(16).toString('hex'),
      number: `${prefix}${String(count).padStart(7, '0')}`,
      state: '1',
      urgency: '3',
      impact: '3',
      short_description: '',
      description: '',
      assignment_group: '',
      assigned_to: '',
      caller_id: '',
      correlation_id: '',
      correlation_display: '',
      close_code: '',
      close_notes: '',
      work_notes: '',
      sys_created_on: now,
      sys_updated_on: now,
    };
    for (const name of WRITABLE) {
      const value = body[name];
      if (typeof value === 'string' || typeof value === 'number') fields[name] = String(value);
    }
    fields.priority = priorityOf(fields.urgency ?? '3', fields.impact ?? '3');
    const stored: StoredRecord = { table, fields, workNotes: [] };
    records.set(fields.sys_id ?? '', stored);
    record(
      'servicenow',
      table === 'incident' ? 'opened incident' : `opened ${table}`,
      fields.number ?? '',
      {
        short_description: fields.short_description,
        urgency: fields.urgency,
        impact: fields.impact,
        priority: PRIORITY_LABELS[fields.priority] ?? fields.priority,
        correlation_id: fields.correlation_id,
      },
    );
    return ok(201, { result: view(stored, query) });
  }

  function update(stored: StoredRecord, body: Json, query: URLSearchParams): FakeReply {
    const fields = stored.fields;
    const number = fields.number ?? '';
    const before = fields.state;
    const changed: Row = {};
    for (const name of WRITABLE) {
      const value = body[name];
      if (typeof value === 'string' || typeof value === 'number') {
        fields[name] = String(value);
        changed[name] = String(value);
      }
    }
    fields.priority = priorityOf(fields.urgency ?? '3', fields.impact ?? '3');
    fields.sys_updated_on = serviceNowTime();
    const note = body.work_notes;
    if (typeof note === 'string' && note.trim() !== '') {
      stored.workNotes.push({ text: note, at: fields.sys_updated_on });
      record('servicenow', 'added work note', number, { text: note });
    }
    if (fields.state !== before) {
      const action =
        fields.state === '6' ? 'resolved' : fields.state === '7' ? 'closed' : 'changed state';
      record('servicenow', action, number, {
        state: STATE_LABELS[fields.state ?? ''] ?? fields.state,
        close_code: fields.close_code,
        close_notes: fields.close_notes,
      });
    } else if (Object.keys(changed).length > 0) {
      record('servicenow', 'updated', number, changed);
    }
    return ok(200, { result: view(stored, query) });
  }

  function list(table: string, query: URLSearchParams): FakeReply {
    const conditions = (query.get('sysparm_query') ?? '')
      .split('^')
      .filter((part) => part !== '')
      .map((part) => {
        const at = part.indexOf('=');
        return at < 0 ? undefined : { field: part.slice(0, at), value: part.slice(at + 1) };
      });
    if (conditions.some((condition) => condition === undefined)) {
      return failure(
        400,
        'Invalid query',
        'The demo ServiceNow understands only field=value conditions joined with ^',
      );
    }
    const limit = Number(query.get('sysparm_limit') ?? '10000');
    const found = [...records.values()]
      .filter((stored) => stored.table === table)
      .filter((stored) =>
        conditions.every((condition) => stored.fields[condition?.field ?? ''] === condition?.value),
      )
      .slice(0, Number.isInteger(limit) && limit > 0 ? limit : 10000)
      .map((stored) => view(stored, query));
    return ok(200, { result: found });
  }

  return {
    prefix: PREFIX,
    description: 'ServiceNow Table API: incidents with work notes, resolve, correlation_id lookups',
    handle,
  };
};

/** The record as the Table API shows it: `sysparm_fields` and `sysparm_display_value` applied. */
function view(stored: StoredRecord, query: URLSearchParams): Json {
  const requested = query.get('sysparm_fields');
  const names = requested
    ? requested
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '')
    : Object.keys(stored.fields);
  const mode = query.get('sysparm_display_value') ?? 'false';
  const shown: Json = {};
  for (const name of names) {
    if (!Object.hasOwn(stored.fields, name)) continue;
    const value = stored.fields[name] ?? '';
    const display = displayValue(name, value, stored);
    shown[name] =
      mode === 'all' ? { value, display_value: display } : mode === 'true' ? display : value;
  }
  return shown;
}

function displayValue(name: string, value: string, stored: StoredRecord): string {
  if (name === 'state') return STATE_LABELS[value] ?? value;
  if (name === 'priority') return PRIORITY_LABELS[value] ?? value;
  if (name === 'urgency' || name === 'impact') return LEVEL_LABELS[value] ?? value;
  if (name === 'work_notes') return stored.workNotes.map((note) => note.text).join('\n\n');
  return value;
}

/** ServiceNow's default priority lookup: urgency × impact. */
function priorityOf(urgency: string, impact: string): string {
  const sum = Number(urgency) + Number(impact);
  if (!Number.isFinite(sum)) return '5';
  return String(Math.min(5, Math.max(1, sum - 1)));
}

/** `2025-03-01 12:00:00`, UTC, as the Table API gives values. */
function serviceNowTime(): string {
  return new Date().toISOString().slice(0, 19).replace('T', ' ');
}

function ok(status: number, body: unknown): FakeReply {
  return { status, body };
}

function failure(status: number, message: string, detail: string): FakeReply {
  return { status, body: { error: { message, detail }, status: 'failure' } };
}
