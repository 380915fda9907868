import type { FastifyInstance } from 'fastify';
import { severityIdFromLabel, isSeverityId, type SeverityId } from '../../core/alert.js';
import {
  CASE_PHASES,
  CASE_STATUSES,
  CLOSURE_REASONS,
  type CaseStatus,
  type CaseUpdate,
} from '../../core/case.js';
import { caseTasks, TASK_TIMELINE_KINDS } from '../../core/case-tasks.js';
import type { ModelTier } from '../../core/inventory.js';
import type { CaseWorkflow } from '../../pipeline/case-workflow.js';
import type { CaseFilter, Store } from '../../store/store.js';
import { principalWith } from '../auth.js';
import {
  bodyObject,
  oneOf,
  optionalString,
  queryError,
  limitParam,
  queryList,
  requiredBoolean,
  requiredString,
  type Fields,
} from '../request-fields.js';

export interface CaseRouteDeps {
  store: Store;
  cases: CaseWorkflow;
}

/** How many alerts a case read returns inline. */
const CASE_ALERTS_INLINE = 100;
/** How many of the newest timeline entries a case read returns; older ones via /timeline. */
const TIMELINE_INLINE = 200;

function caseFilterOf(query: Fields): CaseFilter {
  const filter: CaseFilter = {};
  const status = queryList(query, 'status');
  if (status) {
    for (const s of status) {
      if (!(CASE_STATUSES as readonly string[]).includes(s)) {
        throw queryError('status', `must be one of: ${CASE_STATUSES.join(', ')}`);
      }
    }
    filter.status = status as CaseStatus[];
  }
  const severity = queryList(query, 'severity');
  if (severity) {
    filter.severityId = severity.map((s): SeverityId => {
      const id = /^\d+$/.test(s) ? Number(s) : severityIdFromLabel(s);
      if (!isSeverityId(id))
        throw queryError('severity', 'must be a severity label (e.g. high) or id 0-6');
      return id;
    });
  }
  const tier = queryList(query, 'tier');
  if (tier) {
    filter.tier = tier.map((t): ModelTier => {
      if (t !== '1' && t !== '2' && t !== '3') throw queryError('tier', 'must be 1, 2 or 3');
      return Number(t) as ModelTier;
    });
  }
  const units = queryList(query, 'business_unit');
  if (units) filter.businessUnit = units;
  if (typeof query.model === 'string' && query.model !== '') filter.model = query.model;
  return filter;
}

const LIST_PARAMS = ['status', 'severity', 'tier', 'business_unit', 'model', 'limit', 'cursor'];

export function caseRoutes(app: FastifyInstance, deps: CaseRouteDeps): void {
  app.get<{ Querystring: Fields }>('/api/v1/cases', async (request) => {
    const principal = principalWith(request, 'cases:read');
    for (const key of Object.keys(request.query)) {
      if (!LIST_PARAMS.includes(key)) {
        throw queryError(
          key,
          `is not a known parameter (expected one of: ${LIST_PARAMS.join(', ')})`,
        );
      }
    }
    const filter = caseFilterOf(request.query);
    if (principal.units !== null) filter.scopeUnits = principal.units;
    const cursor = typeof request.query.cursor === 'string' ? request.query.cursor : undefined;
    return deps.store.listCases(filter, {
      limit: limitParam(request.query),
      ...(cursor ? { cursor } : {}),
    });
  });

  app.get<{ Params: { id: string } }>('/api/v1/cases/:id', async (request) => {
    const principal = principalWith(request, 'cases:read');
    const c = await deps.cases.visibleCase(principal, request.params.id);
    const [alerts, timeline, evidence, taskEntries] = await Promise.all([
      deps.store.listCaseAlerts(c.id, CASE_ALERTS_INLINE),
      deps.store.listTimeline(c.id, { limit: TIMELINE_INLINE + 1 }),
      deps.store.listEvidence(c.id),
      deps.store.listTimelineKinds(c.id, TASK_TIMELINE_KINDS),
    ]);
    const timelineTruncated = timeline.length > TIMELINE_INLINE;
    return {
      ...c,
      alerts,
      alertsTruncated: c.alertCount > alerts.length,
      timeline: timelineTruncated ? timeline.slice(1) : timeline,
      timelineTruncated,
      tasks: caseTasks(taskEntries),
      evidence,
    };
  });

  app.get<{ Params: { id: string }; Querystring: Fields }>(
    '/api/v1/cases/:id/timeline',
    async (request) => {
      const principal = principalWith(request, 'cases:read');
      for (const key of Object.keys(request.query)) {
        if (key !== 'limit' && key !== 'before') {
          throw queryError(key, 'is not a known parameter (expected one of: limit, before)');
        }
      }
      const c = await deps.cases.visibleCase(principal, request.params.id);
      const limit = limitParam(request.query);
      const before = typeof request.query.before === 'string' ? request.query.before : undefined;
      const entries = await deps.store.listTimeline(c.id, {
        limit: limit + 1,
        ...(before ? { before } : {}),
      });
      const more = entries.length > limit;
      const items = more ? entries.slice(1) : entries;
      // The next page holds what was written before the oldest entry of this one.
      return { items, nextBefore: more ? (items[0]?.id ?? null) : null };
    },
  );

  app.patch<{ Params: { id: string } }>('/api/v1/cases/:id', async (request) => {
    const principal = principalWith(request, 'cases:write');
    const where = 'case update';
    const body = bodyObject(request.body, ['assignee', 'phase', 'status'], where);
    const update: CaseUpdate = {};
    if (body.assignee !== undefined) {
      update.assignee =
        body.assignee === null ? null : requiredString(body, 'assignee', where, 200);
    }
    if (body.phase !== undefined) update.phase = oneOf(body.phase, CASE_PHASES, 'phase', where);
    if (body.status !== undefined) {
      update.status = oneOf(body.status, ['open', 'in_progress'] as const, 'status', where);
    }
    return deps.cases.update(principal, request.params.id, update);
  });

  app.post<{ Params: { id: string } }>('/api/v1/cases/:id/comments', async (request, reply) => {
    const principal = principalWith(request, 'cases:write');
    const body = bodyObject(request.body, ['body'], 'comment');
    const c = await deps.cases.comment(
      principal,
      request.params.id,
      requiredString(body, 'body', 'comment'),
    );
    return reply.code(201).send(c);
  });

  app.get<{ Params: { id: string } }>('/api/v1/cases/:id/tasks', async (request) => {
    const principal = principalWith(request, 'cases:read');
    return { items: await deps.cases.tasks(principal, request.params.id) };
  });

  app.post<{ Params: { id: string } }>('/api/v1/cases/:id/tasks', async (request, reply) => {
    const principal = principalWith(request, 'cases:write');
    const body = bodyObject(request.body, ['text'], 'task');
    const task = await deps.cases.addTask(
      principal,
      request.params.id,
      requiredString(body, 'text', 'task', 2_000),
    );
    return reply.code(201).send(task);
  });

  app.post<{ Params: { id: string; taskId: string } }>(
    '/api/v1/cases/:id/tasks/:taskId',
    async (request) => {
      const principal = principalWith(request, 'cases:write');
      const where = 'task update';
      const body = bodyObject(request.body, ['done', 'note'], where);
      return deps.cases.markTask(
        principal,
        request.params.id,
        request.params.taskId,
        requiredBoolean(body, 'done', where),
        optionalString(body, 'note', where, 2_000) ?? null,
      );
    },
  );

  app.post<{ Params: { id: string } }>('/api/v1/cases/:id/close', async (request) => {
    const principal = principalWith(request, 'cases:write');
    const where = 'case close';
    const body = bodyObject(request.body, ['reason', 'note'], where);
    const reason = oneOf(body.reason, CLOSURE_REASONS, 'reason', where);
    return deps.cases.close(
      principal,
      request.params.id,
      reason,
      optionalString(body, 'note', where) ?? null,
    );
  });

  app.post<{ Params: { id: string } }>('/api/v1/cases/:id/reopen', async (request) => {
    const principal = principalWith(request, 'cases:write');
    const body = bodyObject(request.body ?? {}, ['note'], 'case reopen');
    return deps.cases.reopen(
      principal,
      request.params.id,
      optionalString(body, 'note', 'case reopen') ?? null,
    );
  });
}
