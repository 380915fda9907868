import { randomBytes } from 'node:crypto';
import { parseJsonObject } from '../../connectors/http/json-api.js';
import type { FakeReply, FakeRequest, VendorFake, VendorFakeFactory } from '../vendor-fake.js';

/**
 * The PagerDuty Events API v2 for the demo, under `/pagerduty`: `POST
 * /pagerduty/v2/enqueue`. Incidents are kept by dedup_key (per routing
 * key): a trigger opens one (or, while it is open, is added to it), an
 * acknowledge and a resolve move it on — triggered → acknowledged →
 * resolved — and a trigger after the resolve opens a new one, as PagerDuty
 * does. Answers 202 `{status: "success", message: "Event processed",
 * dedup_key}`, or 400 `{status: "invalid event", message, errors}` for an
 * event PagerDuty would refuse. Any routing key is accepted (and never
 * recorded). Every event is recorded.
 */

const PREFIX = '/pagerduty';
const ENQUEUE = `${PREFIX}/v2/enqueue`;
const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const ACTIONS = ['trigger', 'acknowledge', 'resolve'];

export type PagerDutyFakeStatus = 'triggered' | 'acknowledged' | 'resolved';

interface Incident {
  readonly number: number;
  status: PagerDutyFakeStatus;
  summary: string;
  severity: string;
  /** Events received for this incident, the opening trigger included. */
  events: number;
}

type Event = {
  routing_key?: unknown;
  event_action?: unknown;
  dedup_key?: unknown;
  payload?: { summary?: unknown; source?: unknown; severity?: unknown } & Record<string, unknown>;
};

export const createPagerDutyFake: VendorFakeFactory = (record): VendorFake => {
  const incidents = new Map<string, Incident>();
  let opened = 0;

  const enqueue = (request: FakeRequest): FakeReply => {
    const event = parseJsonObject(request.text) as Event | undefined;
    if (event === undefined) return invalid(['Could not parse the request body as JSON']);
    const errors = eventErrors(event);
    if (errors.length > 0) return invalid(errors);

    const action = String(event.event_action);
    const dedupKey =
      typeof event.dedup_key === 'string' && event.dedup_key !== ''
        ? event.dedup_key
        : randomBytes(16).toString('hex');
    // Dedup keys are per service, that is per routing key.
    const id = `${String(event.routing_key)}\u0000${dedupKey}`;
    const incident = incidents.get(id);
    const open = incident !== undefined && incident.status !== 'resolved';

    if (action === 'trigger') {
      const payload = event.payload ?? {};
      const summary = String(payload.summary);
      const severity = String(payload.severity);
      if (open) {
        incident.events += 1;
        incident.summary = summary;
        incident.severity = severity;
        record('pagerduty', 'added trigger to open incident', dedupKey, {
          incident: incident.number,
          status: incident.status,
          events: incident.events,
          summary,
          severity,
        });
      } else {
        opened += 1;
        incidents.set(id, { number: opened, status: 'triggered', summary, severity, events: 1 });
        record('pagerduty', 'triggered incident', dedupKey, {
          incident: opened,
          summary,
          severity,
          source: payload.source,
          ...(payload.custom_details === undefined
            ? {}
            : { custom_details: payload.custom_details }),
        });
      }
    } else if (!open) {
      // PagerDuty accepts the event and drops it: there is nothing open to change.
      record('pagerduty', `ignored ${action} (no open incident)`, dedupKey, {});
    } else {
      incident.events += 1;
      const from = incident.status;
      if (action === 'resolve') incident.status = 'resolved';
      else if (incident.status === 'triggered') incident.status = 'acknowledged';
      record(
        'pagerduty',
        action === 'resolve' ? 'resolved incident' : 'acknowledged incident',
        dedupKey,
        { incident: incident.number, from, to: incident.status },
      );
    }
    return {
      status: 202,
      body: { status: 'success', message: 'Event processed', dedup_key: dedupKey },
    };
  };

  return {
    prefix: PREFIX,
    description:
      'PagerDuty Events API v2: POST /pagerduty/v2/enqueue; incidents by dedup_key, triggered → acknowledged → resolved',
    handle(request) {
      if (request.path !== PREFIX && !request.path.startsWith(`${PREFIX}/`)) return undefined;
      if (request.path !== ENQUEUE) return { status: 404, body: { error: 'Not Found' } };
      if (request.method !== 'POST') return { status: 405, body: { error: 'Method Not Allowed' } };
      return enqueue(request);
    },
  };
};

/** The checks PagerDuty makes, with its wording. */
function eventErrors(event: Event): string[] {
  const errors: string[] = [];
  const blank = (value: unknown): boolean => typeof value !== 'string' || value.trim() === '';
  if (blank(event.routing_key)) errors.push("'routing_key' is missing or blank");
  if (!ACTIONS.includes(String(event.event_action))) {
    errors.push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)");
  }
  if (typeof event.dedup_key === 'string' && event.dedup_key.length > 255) {
    errors.push("'dedup_key' must be at most 255 characters");
  }
  if (event.event_action === 'trigger') {
    const payload = event.payload;
    if (typeof payload !== 'object' || payload === null) {
      errors.push("'payload' is missing or blank");
    } else {
      if (blank(payload.summary)) errors.push("'payload.summary' is missing or blank");
      if (blank(payload.source)) errors.push("'payload.source' is missing or blank");
      if (!SEVERITIES.includes(String(payload.severity))) {
        errors.push(
          "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
        );
      }
    }
  } else if (ACTIONS.includes(String(event.event_action)) && blank(event.dedup_key)) {
    errors.push("'dedup_key' is missing or blank");
  }
  return errors;
}

function invalid(errors: string[]): FakeReply {
  return {
    status: 400,
    body: { status: 'invalid event', message: 'Event object is invalid', errors },
  };
}
