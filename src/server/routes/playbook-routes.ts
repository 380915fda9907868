import type { FastifyInstance } from 'fastify';
import { inScope } from '../../core/access.js';
import { WardenError } from '../../core/errors.js';
import type { ApprovalWorkflow } from '../../pipeline/approval-workflow.js';
import type { CaseWorkflow } from '../../pipeline/case-workflow.js';
import type { ApprovalStatus, Store } from '../../store/store.js';
import { principalWith } from '../auth.js';
import {
  bodyObject,
  oneOf,
  optionalString,
  queryError,
  limitParam,
  queryList,
  type Fields,
} from '../request-fields.js';

export interface PlaybookRouteDeps {
  store: Store;
  cases: CaseWorkflow;
  approvals: ApprovalWorkflow;
}

const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'timed_out'];
const APPROVAL_PARAMS = ['status', 'limit', 'cursor'];

/** Approvals people answer, and the runs (with their traces) playbooks leave on cases. */
export function playbookRoutes(app: FastifyInstance, deps: PlaybookRouteDeps): void {
  app.get<{ Querystring: Fields }>('/api/v1/approvals', async (request) => {
    const principal = principalWith(request, 'cases:read');
    for (const key of Object.keys(request.query)) {
      if (!APPROVAL_PARAMS.includes(key)) {
        throw queryError(
          key,
          `is not a known parameter (expected one of: ${APPROVAL_PARAMS.join(', ')})`,
        );
      }
    }
    const status = queryList(request.query, 'status') ?? ['pending'];
    for (const s of status) {
      if (!(APPROVAL_STATUSES as readonly string[]).includes(s)) {
        throw queryError('status', `must be one of: ${APPROVAL_STATUSES.join(', ')}`);
      }
    }
    const cursor = typeof request.query.cursor === 'string' ? request.query.cursor : undefined;
    return deps.approvals.list(
      principal,
      { status: status as ApprovalStatus[] },
      { limit: limitParam(request.query), ...(cursor ? { cursor } : {}) },
    );
  });

  app.get<{ Params: { id: string } }>('/api/v1/approvals/:id', async (request) => {
    const principal = principalWith(request, 'cases:read');
    return deps.approvals.visible(principal, request.params.id);
  });

  app.post<{ Params: { id: string } }>('/api/v1/approvals/:id', async (request) => {
    // Who may answer is the approval's own list of roles, checked by the workflow.
    const principal = principalWith(request, 'cases:read');
    const where = 'approval answer';
    const body = bodyObject(request.body, ['decision', 'comment'], where);
    const decision = oneOf(body.decision, ['approve', 'deny'] as const, 'decision', where);
    const comment = optionalString(body, 'comment', where);
    return deps.approvals.answer(principal, request.params.id, {
      approve: decision === 'approve',
      ...(comment === undefined ? {} : { comment }),
    });
  });

  app.get<{ Params: { id: string } }>('/api/v1/runs/:id', async (request) => {
    const principal = principalWith(request, 'cases:read');
    const run = await deps.store.getRun(request.params.id);
    if (!run || !inScope(principal, run.businessUnit)) {
      throw new WardenError('not_found', `run ${request.params.id} not found`);
    }
    return { ...run, trace: await deps.store.listRunEvents(run.id) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/cases/:id/runs', async (request) => {
    const principal = principalWith(request, 'cases:read');
    const c = await deps.cases.visibleCase(principal, request.params.id);
    return { items: await deps.store.listRunsForCase(c.id) };
  });
}
