import type { FastifyRequest } from 'fastify';
import { requirePermission, type Permission, type Principal } from '../core/access.js';
import { WardenError } from '../core/errors.js';
import type { AccessTokens } from '../pipeline/access-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** onRequest hook: every /api call must carry a valid bearer token. */
export function bearerAuth(tokens: AccessTokens) {
  return async (request: FastifyRequest): Promise<void> => {
    request.principal = await tokens.resolve(request.headers.authorization);
  };
}

/** The caller, checked for one permission. */
export function principalWith(request: FastifyRequest, permission: Permission): Principal {
  const principal = request.principal;
  if (!principal)
    throw new WardenError('unauthorized', 'missing Authorization: Bearer TOKEN header');
  requirePermission(principal, permission);
  return principal;
}
