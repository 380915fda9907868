import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Case, TimelineEntry } from '../src/core/case.js';
import { storedCaseRow } from '../src/store/sqlite/case-row.test-support.js';
import { bearer, spikeAlert, startHarness, type Harness } from './support/warden-harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    retailViewer: { role: 'viewer', units: ['retail-banking'] },
    retailAnalyst: { role: 'analyst', units: ['retail-banking'] },
  });
});
afterAll(async () => {
  await h.close();
});

interface IngestBody {
  accepted: number;
  new: number;
  duplicates: number;
  rejected: number;
  results: {
    index: number;
    id?: string;
    status: string;
    caseId?: string;
    error?: { code: string; field?: string };
  }[];
}

async function post(
  url: string,
  payload: unknown,
  secret = h.tokens.analyst,
  contentType = 'application/json',
) {
  return h.app.inject({
    method: 'POST',
    url,
    headers: { ...bearer(secret), 'content-type': contentType },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

async function counts() {
  return h.warden.store.counts();
}

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
  status: number,
  code: string,
  field?: string,
) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json() as { code: string; status: number; field?: string; detail: string };
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  if (field !== undefined) expect(body.field).toBe(field);
  expect(body.detail.length).toBeGreaterThan(0);
  return body;
}

describe('POST /api/v1/alerts', () => {
  it('stores one alert and answers 202 with its id and case', async () => {
    const response = await post('/api/v1/alerts', spikeAlert('198.51.100.10'));
    expect(response.statusCode).toBe(202);
    const body = response.json<IngestBody>();
    expect(body).toMatchObject({ accepted: 1, new: 1, duplicates: 0, rejected: 0 });
    const id = body.results[0]?.id as string;
    const stored = await h.app.inject({
      url: `/api/v1/alerts/${id}`,
      headers: bearer(h.tokens.viewer),
    });
    expect(stored.statusCode).toBe(200);
    expect(stored.json()).toMatchObject({
      id,
      type: 'inference_spike',
      severityId: 4,
      severity: 'High',
      source: { format: 'native', product: 'Model Monitor' },
      enrichment: { modelId: 'customer-churn', businessUnit: 'retail-banking', tier: 1 },
      raw: spikeAlert('198.51.100.10'),
    });
  });

  it('keeps a lone JSON payload verbatim, as sent, and stores a long description in it once', async () => {
    const description = `Requests from one range ${'well above the baseline; '.repeat(12)}`;
    const payload = { ...spikeAlert('198.51.100.11', { title: 'verbatim test' }), description };
    // Pretty-printed, as a person with curl might send it.
    const sent = `${JSON.stringify(payload, null, 2)}\n`;
    const body = (await post('/api/v1/alerts', sent)).json<IngestBody>();
    const id = body.results[0]?.id as string;
    const db = new Database(join(h.dataDir, 'warden.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT doc, raw FROM alerts WHERE id = ?').get(id) as {
        doc: string;
        raw: string;
      };
      expect(row.raw).toBe(sent.trim());
      expect(row.doc).not.toContain('well above the baseline');
    } finally {
      db.close();
    }
    const stored = await h.warden.store.getAlert(id);
    expect(stored?.description).toBe(description);
    expect(stored?.raw).toEqual(payload);
  });

  it('accepts a JSON array and reports a repeat as a duplicate of the first', async () => {
    const alert = spikeAlert('198.51.100.20', { title: 'array test' });
    const body = (await post('/api/v1/alerts', [alert, alert])).json<IngestBody>();
    expect(body).toMatchObject({ accepted: 2, new: 1, duplicates: 1 });
    expect(body.results[1]?.id).toBe(body.results[0]?.id);
    const stored = await h.warden.store.getAlert(body.results[0]?.id as string);
    expect(stored?.count).toBe(2);
  });

  it('accepts NDJSON and reports a bad line by its index while storing the rest', async () => {
    const before = await counts();
    const ndjson = [
      JSON.stringify(spikeAlert('198.51.100.30', { title: 'nd 1' })),
      '{not json',
      JSON.stringify({ type: 'inference_spike' }),
      JSON.stringify(spikeAlert('198.51.100.31', { title: 'nd 2' })),
    ].join('\n');
    const response = await post('/api/v1/alerts', ndjson, h.tokens.analyst, 'application/x-ndjson');
    expect(response.statusCode).toBe(202);
    const body = response.json<IngestBody>();
    expect(body).toMatchObject({ accepted: 2, new: 2, rejected: 2 });
    expect(body.results.map((r) => r.status)).toEqual(['new', 'rejected', 'rejected', 'new']);
    expect(body.results[1]?.error?.code).toBe('malformed_json');
    expect(body.results[2]?.error).toMatchObject({ code: 'missing_field', field: 'title' });
    expect((await counts()).alerts).toBe(before.alerts + 2);
  });

  it('normalises an OCSF Detection Finding, detected or named with ?source=ocsf', async () => {
    const finding = {
      class_uid: 2004,
      category_uid: 2,
      activity_id: 1,
      type_uid: 200401,
      severity_id: 5,
      time: Date.parse('2026-11-26T09:00:00Z'),
      message: 'Jailbreak attempt against the support chatbot',
      metadata: { version: '1.3.0', product: { name: 'Guardrail', vendor_name: 'Example' } },
      finding_info: {
        uid: 'f-1',
        title: 'LLM jailbreak',
        attacks: [{ technique: { uid: 'AML.T0054', name: 'LLM Jailbreak' } }],
      },
      resources: [{ uid: 'support-chatbot', type: 'AI Model' }],
      src_endpoint: { ip: '203.0.113.77' },
    };
    for (const url of ['/api/v1/alerts', '/api/v1/alerts?source=ocsf']) {
      const body = (
        await post(url, { ...finding, finding_info: { ...finding.finding_info, uid: url } })
      ).json<IngestBody>();
      const alert = (
        await h.app.inject({
          url: `/api/v1/alerts/${body.results[0]?.id}`,
          headers: bearer(h.tokens.admin),
        })
      ).json<{
        type: string;
        severityId: number;
        atlasTechniques: string[];
        source: { format: string };
        enrichment: { businessUnit: string };
      }>();
      expect(alert).toMatchObject({ type: 'jailbreak', severityId: 5, source: { format: 'ocsf' } });
      expect(alert.atlasTechniques).toContain('AML.T0054');
      expect(alert.enrichment.businessUnit).toBe('customer-experience');
    }
  });

  describe('bad input is refused with a specific problem and changes nothing', () => {
    const cases: [string, () => ReturnType<typeof post>, number, string, string?][] = [
      ['malformed JSON', () => post('/api/v1/alerts', '{"type": '), 400, 'malformed_json'],
      [
        'unknown source format',
        () => post('/api/v1/alerts?source=splunk-ish', spikeAlert('198.51.100.1')),
        400,
        'unknown_source_format',
        'source',
      ],
      [
        'missing required field',
        () => post('/api/v1/alerts', { type: 'inference_spike' }),
        422,
        'missing_field',
        'title',
      ],
      [
        'invalid field',
        () => post('/api/v1/alerts', spikeAlert('not-an-ip')),
        422,
        'invalid_field',
        'observables.ips[0]',
      ],
      [
        'unrecognised format',
        () => post('/api/v1/alerts', { hello: 'world' }),
        422,
        'undetected_source_format',
      ],
      [
        'wrong content type',
        () => post('/api/v1/alerts', 'type=x', h.tokens.analyst, 'text/plain'),
        415,
        'unsupported_media_type',
      ],
      ['empty body', () => post('/api/v1/alerts', '', h.tokens.analyst), 400, 'empty_body'],
      ['empty array', () => post('/api/v1/alerts', []), 400, 'empty_body'],
      [
        'body too large',
        () =>
          post('/api/v1/alerts', {
            ...spikeAlert('198.51.100.1'),
            description: 'x'.repeat(11 * 1024 * 1024),
          }),
        413,
        'body_too_large',
      ],
      [
        'bad token',
        () => post('/api/v1/alerts', spikeAlert('198.51.100.1'), 'wrong-token'),
        401,
        'unauthorized',
      ],
      [
        'no token',
        () =>
          h.app.inject({
            method: 'POST',
            url: '/api/v1/alerts',
            payload: spikeAlert('198.51.100.1'),
          }),
        401,
        'unauthorized',
      ],
      [
        'wrong role',
        () => post('/api/v1/alerts', spikeAlert('198.51.100.1'), h.tokens.viewer),
        403,
        'forbidden',
      ],
    ];
    for (const [name, send, status, code, field] of cases) {
      it(name, async () => {
        const before = await counts();
        const auditBefore = await h.warden.store.recordedAuditCount();
        expectProblem(await send(), status, code, field);
        expect(await counts()).toEqual(before);
        expect(await h.warden.store.recordedAuditCount()).toBe(auditBefore);
      });
    }

    it('a batch where every alert is bad lists each error by index', async () => {
      const response = await post('/api/v1/alerts?source=native', [
        { type: 'nope', title: 't' },
        { title: 'x' },
      ]);
      const body = expectProblem(response, 422, 'invalid_field') as unknown as {
        errors: { index: number; error: { code: string; field: string } }[];
      };
      expect(body.errors.map((e) => [e.index, e.error.code, e.error.field])).toEqual([
        [0, 'invalid_field', 'type'],
        [1, 'missing_field', 'type'],
      ]);
    });
  });

  it('sends WWW-Authenticate with 401', async () => {
    const response = await h.app.inject({ url: '/api/v1/cases' });
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });
});

describe('cases', () => {
  let caseId: string;

  beforeAll(async () => {
    const body = (
      await post('/api/v1/alerts', spikeAlert('192.0.2.200', { title: 'for case tests' }))
    ).json<IngestBody>();
    caseId = body.results[0]?.caseId as string;
  });

  async function readCase(secret = h.tokens.analyst) {
    const response = await h.app.inject({
      url: `/api/v1/cases/${caseId}`,
      headers: bearer(secret),
    });
    return response;
  }

  it('reads a case with alerts, timeline and observables', async () => {
    const c = (await readCase()).json<
      Case & { alerts: { id: string }[]; timeline: TimelineEntry[] }
    >();
    expect(c.id).toBe(caseId);
    expect(c.alerts).toHaveLength(1);
    expect(c.timeline[0]?.kind).toBe('created');
    expect(c.observables.ips).toContain('192.0.2.200');
    expect(c.allowlisted[0]).toMatchObject({ list: 'internal-scanners', ip: '192.0.2.200' });
  });

  it('reads a case as its alerts left it as soon as each is acknowledged; its row and timeline follow once ingest pauses', async () => {
    const ids: string[] = [];
    for (const [i, ip] of ['198.18.7.1', '198.18.7.2', '198.18.7.3'].entries()) {
      const body = (
        await post('/api/v1/alerts', spikeAlert(ip, { title: `burst ${i}` }))
      ).json<IngestBody>();
      const id = body.results[0]?.caseId as string;
      ids.push(id);
      const read = await h.app.inject({
        url: `/api/v1/cases/${id}`,
        headers: bearer(h.tokens.viewer),
      });
      expect(read.json<Case>().alertCount).toBe(i + 1);
      const listed = (
        await h.app.inject({ url: '/api/v1/cases?limit=100', headers: bearer(h.tokens.viewer) })
      ).json<{ items: Case[] }>().items;
      expect(listed.find((c) => c.id === id)?.alertCount).toBe(i + 1);
    }
    expect(new Set(ids).size).toBe(1);
    await vi.waitFor(() => expect(storedCaseRow(h.dataDir, ids[0])?.alertCount).toBe(3));
    const timeline = (
      await h.app.inject({ url: `/api/v1/cases/${ids[0]}`, headers: bearer(h.tokens.viewer) })
    ).json<{ timeline: TimelineEntry[] }>().timeline;
    const linked = timeline.filter((e) => e.kind === 'alerts_linked');
    expect(linked.reduce((sum, e) => sum + (e.data.linked as number), 0)).toBe(2);
  });

  it('reads a case by its number', async () => {
    const { number } = (await readCase()).json<Case>();
    const byNumber = await h.app.inject({
      url: `/api/v1/cases/${number}`,
      headers: bearer(h.tokens.viewer),
    });
    expect(byNumber.json<Case>().id).toBe(caseId);
  });

  it('comments, assigns, moves phase, closes with a reason and reopens — each on the timeline and in the audit log', async () => {
    const send = (method: 'POST' | 'PATCH', path: string, payload: unknown) =>
      h.app.inject({
        method,
        url: `/api/v1/cases/${caseId}${path}`,
        headers: bearer(h.tokens.analyst),
        payload: payload as object,
      });
    expect(
      (await send('POST', '/comments', { body: 'Looks like the weekly scan' })).statusCode,
    ).toBe(201);
    const assigned = await send('PATCH', '', { assignee: 'dana' });
    expect(assigned.json<Case>()).toMatchObject({ assignee: 'dana', status: 'in_progress' });
    expect((await send('PATCH', '', { phase: 'containment' })).json<Case>().phase).toBe(
      'containment',
    );
    const closed = await send('POST', '/close', { reason: 'benign', note: 'internal scanner' });
    expect(closed.json<Case>()).toMatchObject({
      status: 'closed',
      closureReason: 'benign',
      closureNote: 'internal scanner',
    });
    expectProblem(await send('PATCH', '', { phase: 'recovery' }), 409, 'case_closed');
    expect((await send('POST', '/reopen', { note: 'recheck' })).json<Case>().status).toBe('open');

    const c = (await readCase()).json<{ timeline: TimelineEntry[] }>();
    const kinds = c.timeline.map((t) => t.kind);
    expect(kinds).toEqual([
      'created',
      // The demo router queued a playbook for the new case (this test does not run it).
      'playbook_queued',
      'comment',
      'assigned',
      'status_changed',
      'phase_changed',
      'closed',
      // The demo's close-out playbook starts on every closed tier-1 case.
      'playbook_queued',
      'reopened',
    ]);
    expect(c.timeline.find((t) => t.kind === 'comment')).toMatchObject({
      actor: 'analyst',
      message: 'Looks like the weekly scan',
    });

    const audit = await h.warden.store.readAudit(0, 10_000);
    // Ingest audits once per commit, naming the cases it opened or changed.
    const opening = audit.find(
      (a) =>
        a.action === 'ingest.committed' &&
        (a.data.cases as { caseId: string; opened?: boolean }[]).some(
          (x) => x.caseId === caseId && x.opened,
        ),
    );
    expect(opening?.actor).toBe('system:ingest');
    const actions = audit.filter((a) => a.subject === caseId).map((a) => a.action);
    expect(actions).toEqual(
      kinds
        .slice(2)
        .filter((k) => k !== 'playbook_queued')
        .map((k) => `case.${k}`),
    );
    const verified = await h.app.inject({
      url: '/api/v1/audit/verify',
      headers: bearer(h.tokens.admin),
    });
    expect(verified.json()).toMatchObject({ ok: true });
  });

  it('the writer thread sees a close made on the request thread: the next related alert opens a new case', async () => {
    const ip = '203.0.113.77';
    const first = (
      await post('/api/v1/alerts', spikeAlert(ip, { title: 'before close' }))
    ).json<IngestBody>().results[0];
    const closed = await h.app.inject({
      method: 'POST',
      url: `/api/v1/cases/${first?.caseId}/close`,
      headers: bearer(h.tokens.analyst),
      payload: { reason: 'false_positive' },
    });
    expect(closed.statusCode).toBe(200);

    const repeat = (
      await post('/api/v1/alerts', spikeAlert(ip, { title: 'before close' }))
    ).json<IngestBody>().results[0];
    const related = (
      await post('/api/v1/alerts', spikeAlert(ip, { title: 'after close' }))
    ).json<IngestBody>().results[0];
    // A repeat of a closed case's alert is news: stored anew, on a new case.
    expect(repeat?.status).toBe('new');
    expect(repeat?.caseId).not.toBe(first?.caseId);
    expect(related?.caseId).toBe(repeat?.caseId);
    const old = await h.warden.store.getCase(first?.caseId as string);
    expect(old).toMatchObject({ status: 'closed', alertCount: 1 });
  });

  it('refuses bad case updates naming the field', async () => {
    const send = (method: 'POST' | 'PATCH', path: string, payload: unknown) =>
      h.app.inject({
        method,
        url: `/api/v1/cases/${caseId}${path}`,
        headers: bearer(h.tokens.analyst),
        payload: payload as object,
      });
    expectProblem(await send('PATCH', '', { phase: 'lunch' }), 422, 'invalid_field', 'phase');
    expectProblem(await send('PATCH', '', { asignee: 'typo' }), 422, 'invalid_field', 'asignee');
    expectProblem(await send('POST', '/comments', {}), 422, 'missing_field', 'body');
    expectProblem(
      await send('POST', '/close', { note: 'no reason' }),
      422,
      'missing_field',
      'reason',
    );
    expectProblem(
      await send('POST', '/close', { reason: 'bored' }),
      422,
      'invalid_field',
      'reason',
    );
    expectProblem(
      await h.app.inject({
        method: 'PATCH',
        url: `/api/v1/cases/${caseId}`,
        headers: bearer(h.tokens.viewer),
        payload: { phase: 'recovery' },
      }),
      403,
      'forbidden',
    );
    expectProblem(
      await h.app.inject({
        url: '/api/v1/cases/00000000-0000-7000-8000-000000000000',
        headers: bearer(h.tokens.viewer),
      }),
      404,
      'not_found',
    );
  });

  it('pages the timeline: a case read carries the newest 200 entries, /timeline the older ones', async () => {
    const comment = (n: number) =>
      h.app.inject({
        method: 'POST',
        url: `/api/v1/cases/${caseId}/comments`,
        headers: bearer(h.tokens.analyst),
        payload: { body: `note ${n}` },
      });
    for (let n = 0; n < 205; n += 1) expect((await comment(n)).statusCode).toBe(201);
    const c = (await readCase()).json<{ timeline: TimelineEntry[]; timelineTruncated: boolean }>();
    expect(c.timelineTruncated).toBe(true);
    expect(c.timeline).toHaveLength(200);
    expect(c.timeline.at(-1)?.message).toBe('note 204');

    const all: TimelineEntry[] = [];
    let before: string | null = '';
    while (before !== null) {
      const page: { items: TimelineEntry[]; nextBefore: string | null } = (
        await h.app.inject({
          url: `/api/v1/cases/${caseId}/timeline?limit=100${before ? `&before=${before}` : ''}`,
          headers: bearer(h.tokens.viewer),
        })
      ).json<{ items: TimelineEntry[]; nextBefore: string | null }>();
      all.unshift(...page.items);
      before = page.nextBefore;
    }
    const full = await h.warden.store.listTimeline(caseId);
    expect(all.map((e) => e.id)).toEqual(full.map((e) => e.id));
    expect(all.length).toBeGreaterThan(205);
    expectProblem(
      await h.app.inject({
        url: `/api/v1/cases/${caseId}/timeline?limit=0`,
        headers: bearer(h.tokens.viewer),
      }),
      400,
      'invalid_field',
      'limit',
    );
  });

  it('lists cases with filters and pagination', async () => {
    const list = async (query: string) =>
      (
        await h.app.inject({ url: `/api/v1/cases${query}`, headers: bearer(h.tokens.viewer) })
      ).json<{ items: Case[]; nextCursor: string | null }>();
    const all = await list('?limit=500');
    expect(all.items.length).toBeGreaterThan(2);
    expect(
      (await list('?business_unit=customer-experience')).items.every(
        (c) => c.businessUnit === 'customer-experience',
      ),
    ).toBe(true);
    expect(
      (await list('?tier=1&model=customer-churn')).items.every(
        (c) => c.tier === 1 && c.modelIds.includes('customer-churn'),
      ),
    ).toBe(true);
    expect((await list('?severity=critical,high')).items.every((c) => c.severityId >= 4)).toBe(
      true,
    );
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await list(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(all.items.map((c) => c.id));
    expectProblem(
      await h.app.inject({ url: '/api/v1/cases?tier=7', headers: bearer(h.tokens.viewer) }),
      400,
      'invalid_field',
      'tier',
    );
    expectProblem(
      await h.app.inject({ url: '/api/v1/cases?colour=red', headers: bearer(h.tokens.viewer) }),
      400,
      'invalid_field',
      'colour',
    );
    expectProblem(
      await h.app.inject({ url: '/api/v1/cases?cursor=zzz', headers: bearer(h.tokens.viewer) }),
      400,
      'invalid_field',
      'cursor',
    );
  });

  it('a business-unit scoped token sees only its units', async () => {
    const scoped = h.tokens.retailViewer;
    const items = (
      await h.app.inject({ url: '/api/v1/cases?limit=500', headers: bearer(scoped) })
    ).json<{ items: Case[] }>().items;
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((c) => c.businessUnit === 'retail-banking')).toBe(true);
    const other = (
      await h.app.inject({
        url: '/api/v1/cases?business_unit=customer-experience',
        headers: bearer(h.tokens.admin),
      })
    ).json<{ items: Case[] }>().items[0];
    expect(other).toBeDefined();
    expectProblem(
      await h.app.inject({ url: `/api/v1/cases/${other?.id}`, headers: bearer(scoped) }),
      404,
      'not_found',
    );
  });
});

describe('case tasks', () => {
  interface Task {
    id: string;
    text: string;
    createdBy: string;
    runId: string | null;
    done: boolean;
    doneAt: string | null;
    doneBy: string | null;
  }
  let caseId: string;
  let otherUnitCase: string;

  beforeAll(async () => {
    caseId = (
      await post(
        '/api/v1/alerts',
        spikeAlert('192.0.2.210', {
          title: 'for task tests',
          observables: { ips: ['192.0.2.210'], model: { id: 'credit-risk-scoring' } },
        }),
      )
    ).json<IngestBody>().results[0]?.caseId as string;
    const chatbot = spikeAlert('192.0.2.211', {
      title: 'chatbot spike',
      observables: { ips: ['192.0.2.211'], model: { id: 'support-chatbot' } },
    });
    otherUnitCase = (await post('/api/v1/alerts', chatbot)).json<IngestBody>().results[0]
      ?.caseId as string;
  });

  const send = (method: 'GET' | 'POST', path: string, payload?: unknown, secret = '') =>
    h.app.inject({
      method,
      url: `/api/v1/cases/${caseId}${path}`,
      headers: bearer(secret || h.tokens.analyst),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it('an analyst adds a task, marks it done and not done again: each on the timeline and in the audit log', async () => {
    const added = await send('POST', '/tasks', { text: 'Confirm the scanner schedule' });
    expect(added.statusCode).toBe(201);
    const task = added.json<Task>();
    expect(task).toMatchObject({
      text: 'Confirm the scanner schedule',
      createdBy: 'analyst',
      runId: null,
      done: false,
      doneAt: null,
      doneBy: null,
    });

    const done = await send('POST', `/tasks/${task.id}`, { done: true, note: 'weekly, Mondays' });
    expect(done.statusCode).toBe(200);
    expect(done.json<Task>()).toMatchObject({ id: task.id, done: true, doneBy: 'analyst' });
    // Marking it done again (a retried request) changes nothing.
    const again = await send('POST', `/tasks/${task.id}`, { done: true }, h.tokens.responder);
    expect(again.json<Task>()).toMatchObject({ done: true, doneBy: 'analyst' });

    const listed = await send('GET', '/tasks', undefined, h.tokens.viewer);
    expect(listed.json<{ items: Task[] }>().items).toEqual([done.json<Task>()]);

    const reopened = await send('POST', `/tasks/${task.id}`, { done: false });
    expect(reopened.json<Task>()).toMatchObject({ done: false, doneAt: null, doneBy: null });

    const c = (await send('GET', '')).json<{ tasks: Task[]; timeline: TimelineEntry[] }>();
    expect(c.tasks).toEqual([reopened.json<Task>()]);
    const taskEntries = c.timeline.filter((t) => t.kind.startsWith('task'));
    expect(taskEntries.map((t) => [t.kind, t.message])).toEqual([
      ['task', 'Confirm the scanner schedule'],
      ['task_done', 'done: Confirm the scanner schedule (weekly, Mondays)'],
      ['task_reopened', 'not done: Confirm the scanner schedule'],
    ]);
    const audit = (await h.warden.store.readAudit(0, 10_000)).filter(
      (a) => a.subject === caseId && a.action.startsWith('case.task'),
    );
    expect(audit.map((a) => a.action)).toEqual([
      'case.task',
      'case.task_done',
      'case.task_reopened',
    ]);
    expect(audit[1]?.data).toMatchObject({ taskId: task.id, note: 'weekly, Mondays' });
  });

  it('refuses bad task requests naming the field, and hides other units’ cases', async () => {
    const task = (await send('POST', '/tasks', { text: 'Check' })).json<Task>();
    expectProblem(await send('POST', '/tasks', {}), 422, 'missing_field', 'text');
    expectProblem(await send('POST', '/tasks', { text: '  ' }), 422, 'invalid_field', 'text');
    expectProblem(await send('POST', '/tasks', { txt: 'typo' }), 422, 'invalid_field', 'txt');
    expectProblem(await send('POST', `/tasks/${task.id}`, {}), 422, 'missing_field', 'done');
    expectProblem(
      await send('POST', `/tasks/${task.id}`, { done: 'yes' }),
      422,
      'invalid_field',
      'done',
    );
    const unknown = expectProblem(
      await send('POST', '/tasks/no-such-task', { done: true }),
      404,
      'not_found',
    );
    expect(unknown.detail).toContain('task no-such-task not found');
    expectProblem(
      await send('POST', '/tasks', { text: 'Check' }, h.tokens.viewer),
      403,
      'forbidden',
    );
    // The retail analyst sees retail cases only: another unit's case is not found, not forbidden.
    const theirs = await h.app.inject({
      method: 'POST',
      url: `/api/v1/cases/${otherUnitCase}/tasks`,
      headers: bearer(h.tokens.retailAnalyst),
      payload: { text: 'peek' },
    });
    expectProblem(theirs, 404, 'not_found');
    expect((await send('GET', '/tasks', undefined, h.tokens.retailAnalyst)).statusCode).toBe(200);
    const other = await h.app.inject({
      url: `/api/v1/cases/${otherUnitCase}/tasks`,
      headers: bearer(h.tokens.analyst),
    });
    expect(other.json<{ items: Task[] }>().items).toEqual([]);
  });
});

describe('tokens, health, metrics, openapi, unknown routes', () => {
  it('a business-unit scoped token ingests only alerts about its units’ models', async () => {
    const before = await counts();
    const ours = spikeAlert('198.18.7.1');
    const theirs = spikeAlert('198.18.8.1', {
      observables: { ips: ['198.18.8.1'], model: { id: 'support-chatbot' } },
    });
    const nobody = spikeAlert('198.18.9.1', {
      observables: { ips: ['198.18.9.1'], model: { id: 'not-in-the-inventory' } },
    });
    const response = await post('/api/v1/alerts', [ours, theirs, nobody], h.tokens.retailAnalyst);
    expect(response.statusCode).toBe(202);
    const body = response.json<IngestBody & { results: { error?: { message: string } }[] }>();
    expect(body).toMatchObject({ accepted: 1, new: 1, rejected: 2 });
    expect(body.results.map((r) => [r.index, r.status, r.error?.code])).toEqual([
      [0, 'new', undefined],
      [1, 'rejected', 'forbidden'],
      [2, 'rejected', 'forbidden'],
    ]);
    expect(body.results[1]?.error?.message).toContain('business unit "customer-experience"');
    expect(body.results[2]?.error?.message).toContain('names no model of the inventory');
    expect((await counts()).alerts).toBe(before.alerts + 1);

    // Its one case is one it can see; a lone alert of another unit is refused whole.
    const caseId = body.results[0]?.caseId ?? '';
    const mine = await h.app.inject({
      url: `/api/v1/cases/${caseId}`,
      headers: bearer(h.tokens.retailAnalyst),
    });
    expect(mine.statusCode).toBe(200);
    expectProblem(await post('/api/v1/alerts', theirs, h.tokens.retailAnalyst), 403, 'forbidden');
    // An unscoped token ingests all three.
    const all = await post('/api/v1/alerts', [theirs, nobody], h.tokens.analyst);
    expect(all.json<IngestBody>()).toMatchObject({ accepted: 2, rejected: 0 });
  });

  it('an admin creates a scoped token over the API; non-admins cannot', async () => {
    const created = await post(
      '/api/v1/tokens',
      { role: 'analyst', units: ['platform-engineering'], name: 'pe' },
      h.tokens.admin,
    );
    expect(created.statusCode).toBe(201);
    const { token } = created.json<{ token: string }>();
    const cases = await h.app.inject({ url: '/api/v1/cases', headers: bearer(token) });
    expect(cases.statusCode).toBe(200);
    expectProblem(
      await post('/api/v1/tokens', { role: 'admin' }, h.tokens.analyst),
      403,
      'forbidden',
    );
    expectProblem(
      await post('/api/v1/tokens', { role: 'king' }, h.tokens.admin),
      422,
      'invalid_field',
      'role',
    );
  });

  it('an ingest token sends alerts and does nothing else; scoped, only its units’ alerts', async () => {
    const created = await post(
      '/api/v1/tokens',
      { role: 'ingest', units: ['retail-banking'], name: 'siem-webhook' },
      h.tokens.admin,
    );
    expect(created.statusCode).toBe(201);
    const { token } = created.json<{ token: string }>();
    const sent = await post('/api/v1/alerts', spikeAlert('198.51.100.90'), token);
    expect(sent.statusCode).toBe(202);
    const result = sent.json<IngestBody>().results[0];
    expect(result).toMatchObject({ status: 'new' });

    const denied = [
      await h.app.inject({ url: '/api/v1/cases', headers: bearer(token) }),
      await h.app.inject({ url: `/api/v1/cases/${result?.caseId}`, headers: bearer(token) }),
      await h.app.inject({ url: `/api/v1/alerts/${result?.id}`, headers: bearer(token) }),
      await h.app.inject({ url: '/api/v1/approvals', headers: bearer(token) }),
      await post(`/api/v1/cases/${result?.caseId}/comments`, { body: 'hi' }, token),
    ];
    for (const response of denied) expectProblem(response, 403, 'forbidden');
    expect(denied[0]?.json<{ detail: string }>().detail).toBe(
      'role "ingest" may not cases read (needs one of: viewer, analyst, responder, admin)',
    );
    const chatbot = spikeAlert('198.51.100.91', {
      observables: { ips: ['198.51.100.91'], model: { id: 'support-chatbot' } },
    });
    expectProblem(await post('/api/v1/alerts', chatbot, token), 403, 'forbidden');
  });

  it('an admin reads the audit head and verifies the log against anchors', async () => {
    const get = (url: string, secret = h.tokens.admin) =>
      h.app.inject({ url, headers: bearer(secret) });
    const head = (await get('/api/v1/audit/head')).json<{
      seq: number;
      hash: string;
      anchor: string;
    }>();
    expect(head.anchor).toBe(`${head.seq}:${head.hash}`);
    const first = (await h.warden.store.readAudit(0, 1))[0];
    const both = `${head.anchor},1:${first?.hash}`;
    const verified = await get(`/api/v1/audit/verify?anchor=${both}`);
    expect(verified.json()).toMatchObject({ ok: true, problems: [] });

    const wrong = await get(`/api/v1/audit/verify?anchor=1:${'0'.repeat(64)}`);
    expect(wrong.json()).toMatchObject({
      ok: false,
      problems: [
        { kind: 'anchor_mismatch', seq: 1, message: expect.stringContaining('entry 1') as string },
      ],
    });
    const beyond = await get(`/api/v1/audit/verify?anchor=${head.seq + 10_000}:${head.hash}`);
    expect(beyond.json()).toMatchObject({ ok: false, problems: [{ kind: 'anchor_missing' }] });
    expectProblem(await get('/api/v1/audit/verify?anchor=latest'), 400, 'invalid_field', 'anchor');
    expectProblem(await get('/api/v1/audit/verify?since=1'), 400, 'invalid_field', 'since');
    expectProblem(await get('/api/v1/audit/head', h.tokens.analyst), 403, 'forbidden');
  });

  it('an admin lists tokens without their hashes and revokes one, which stops working at once', async () => {
    const { token } = (
      await h.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: bearer(h.tokens.admin),
        payload: { role: 'analyst', name: 'to-revoke' },
      })
    ).json<{ token: string }>();
    const listed = await h.app.inject({ url: '/api/v1/tokens', headers: bearer(h.tokens.admin) });
    const items = listed.json<{ items: { id: string; name: string }[] }>().items;
    expect(listed.body).not.toContain('tokenHash');
    const id = items.find((t) => t.name === 'to-revoke')?.id ?? '';
    expect((await h.app.inject({ url: '/api/v1/cases', headers: bearer(token) })).statusCode).toBe(
      200,
    );

    const forbidden = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${id}`,
      headers: bearer(h.tokens.analyst),
    });
    expectProblem(forbidden, 403, 'forbidden');
    const revoked = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${id}`,
      headers: bearer(h.tokens.admin),
    });
    expect(revoked.statusCode).toBe(204);
    expectProblem(
      await h.app.inject({ url: '/api/v1/cases', headers: bearer(token) }),
      401,
      'unauthorized',
    );
    expectProblem(
      await h.app.inject({
        method: 'DELETE',
        url: `/api/v1/tokens/${id}`,
        headers: bearer(h.tokens.admin),
      }),
      404,
      'not_found',
    );
    const audit = await h.warden.store.readAudit(0, 10_000);
    expect(audit.find((a) => a.action === 'token.revoked' && a.subject === id)?.actor).toBe(
      'admin (WARDEN_ADMIN_TOKEN)',
    );
  });

  it('serves /healthz and Prometheus /metrics without a token', async () => {
    expect((await h.app.inject({ url: '/healthz' })).json()).toMatchObject({
      status: 'ok',
      store: 'sqlite',
    });
    const metrics = await h.app.inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/warden_alerts_ingested_total\{outcome="new"\} \d+/);
    expect(metrics.body).toMatch(/warden_alert_case_compression_ratio \d/);
    expect(metrics.body).toContain('warden_process_resident_memory_bytes');
  });

  it('reports compression in /api/v1/stats', async () => {
    const stats = (
      await h.app.inject({ url: '/api/v1/stats', headers: bearer(h.tokens.viewer) })
    ).json<{ alerts: number; cases: number; alertToCaseCompression: number }>();
    expect(stats.alertToCaseCompression).toBeCloseTo(stats.alerts / stats.cases);
  });

  it('serves an OpenAPI document that lists every route', async () => {
    const doc = (
      await h.app.inject({ url: '/api/v1/openapi.json', headers: bearer(h.tokens.viewer) })
    ).json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toBe('3.1.0');
    const routes = h.app.printRoutes({ commonPrefix: false });
    for (const [path, methods] of Object.entries(doc.paths)) {
      const fastifyPath = path.replace(/\{(\w+)\}/g, ':$1');
      expect(routes, `route ${path}`).toContain(fastifyPath.split('/').pop() ?? '');
      expect(Object.keys(methods).length).toBeGreaterThan(0);
    }
    for (const route of [
      '/api/v1/alerts',
      '/api/v1/cases/{id}/close',
      '/api/v1/tokens',
      '/healthz',
      '/metrics',
    ]) {
      expect(doc.paths[route], route).toBeDefined();
    }
  });

  it('answers an unknown route with route_not_found', async () => {
    expectProblem(
      await h.app.inject({ url: '/api/v2/nothing', headers: bearer(h.tokens.viewer) }),
      404,
      'route_not_found',
    );
    expectProblem(await h.app.inject({ url: '/nowhere' }), 404, 'route_not_found');
  });
});
