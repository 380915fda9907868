import type { FastifyInstance } from 'fastify';
import { ROLES } from '../../core/access.js';
import {
  describeAuditProblem,
  formatAuditAnchor,
  parseAuditAnchor,
} from '../../core/audit-chain.js';
import type { AccessTokens } from '../../pipeline/access-tokens.js';
import { auditHead, verifyAuditLog } from '../../pipeline/audit-verification.js';
import type { Store } from '../../store/store.js';
import { principalWith } from '../auth.js';
import {
  bodyObject,
  oneOf,
  optionalString,
  queryError,
  queryList,
  type Fields,
} from '../request-fields.js';
import { invalidField, WardenError } from '../../core/errors.js';

export interface AdminRouteDeps {
  store: Store;
  tokens: AccessTokens;
}

export function adminRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  app.get('/api/v1/stats', async (request) => {
    principalWith(request, 'cases:read');
    const counts = await deps.store.counts();
    return {
      ...counts,
      // Alerts folded into each case: the noise Warden took off the analyst's queue.
      alertToCaseCompression: counts.cases === 0 ? null : counts.alerts / counts.cases,
      eventToCaseCompression: counts.cases === 0 ? null : counts.events / counts.cases,
    };
  });

  app.get('/api/v1/audit/head', async (request) => {
    principalWith(request, 'audit:read');
    const head = await auditHead(deps.store);
    if (!head) throw new WardenError('not_found', 'the audit log is empty');
    return { seq: head.seq, hash: head.hash, at: head.at, anchor: formatAuditAnchor(head) };
  });

  app.get<{ Querystring: Fields }>('/api/v1/audit/verify', async (request) => {
    principalWith(request, 'audit:read');
    for (const key of Object.keys(request.query)) {
      if (key !== 'anchor') throw queryError(key, 'is not a known parameter (expected: anchor)');
    }
    // ?anchor=SEQ:HASH, repeated or comma-separated.
    const anchors = (queryList(request.query, 'anchor') ?? []).map((text) =>
      parseAuditAnchor(text),
    );
    const result = await verifyAuditLog(deps.store, undefined, anchors);
    return {
      ...result,
      problems: result.problems.map((p) => ({ ...p, message: describeAuditProblem(p) })),
    };
  });

  app.post('/api/v1/tokens', async (request, reply) => {
    const principal = principalWith(request, 'tokens:manage');
    const where = 'token';
    const body = bodyObject(request.body, ['role', 'units', 'name'], where);
    const role = oneOf(body.role, ROLES, 'role', where);
    let units: string[] | null = null;
    if (body.units !== undefined && body.units !== null) {
      if (!Array.isArray(body.units) || body.units.some((u) => typeof u !== 'string' || u === '')) {
        throw invalidField('units', 'must be an array of business unit ids', where);
      }
      units = body.units as string[];
    }
    const name = optionalString(body, 'name', where, 200);
    const { token, secret } = await deps.tokens.create({
      role,
      units,
      createdBy: principal.name,
      ...(name ? { name } : {}),
    });
    return reply.code(201).send({ id: token.id, name: token.name, role, units, token: secret });
  });

  app.get('/api/v1/tokens', async (request) => {
    principalWith(request, 'tokens:manage');
    return { items: await deps.tokens.list() };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', async (request, reply) => {
    const principal = principalWith(request, 'tokens:manage');
    await deps.tokens.revoke(request.params.id, principal.name);
    return reply.code(204).send();
  });
}
