import { WardenError } from './errors.js';

/** From least to most: `ingest` only sends alerts (a SIEM's or monitor's webhook token). */
export const ROLES = ['ingest', 'viewer', 'analyst', 'responder', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The roles that may answer an approval. An ingest token lives in another
 * system and a viewer only reads: letting either release containment would
 * be a privilege escalation.
 */
export const APPROVER_ROLES = ['analyst', 'responder', 'admin'] as const satisfies readonly Role[];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export type Permission =
  | 'alerts:read'
  | 'alerts:ingest'
  | 'cases:read'
  | 'cases:write'
  | 'audit:read'
  | 'tokens:manage'
  | 'deadletters:manage';

const GRANTS: Record<Role, readonly Permission[]> = {
  ingest: ['alerts:ingest'],
  viewer: ['alerts:read', 'cases:read'],
  analyst: ['alerts:read', 'alerts:ingest', 'cases:read', 'cases:write'],
  // Responders gain response actions with the playbook engine; for now they work cases like analysts.
  responder: ['alerts:read', 'alerts:ingest', 'cases:read', 'cases:write'],
  admin: [
    'alerts:read',
    'alerts:ingest',
    'cases:read',
    'cases:write',
    'audit:read',
    'tokens:manage',
    'deadletters:manage',
  ],
};

/** Who is calling: resolved from a bearer token. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Business units this principal may see; null = every unit. */
  units: string[] | null;
}

export function can(principal: Principal, permission: Permission): boolean {
  return GRANTS[principal.role].includes(permission);
}

export function requirePermission(principal: Principal, permission: Permission): void {
  if (!can(principal, permission)) {
    throw new WardenError(
      'forbidden',
      `role "${principal.role}" may not ${permission.replace(':', ' ')} (needs one of: ${ROLES.filter((r) => GRANTS[r].includes(permission)).join(', ')})`,
    );
  }
}

/** Whether a record of `unit` is visible to the principal (unscoped records only to unscoped principals). */
export function inScope(principal: Principal, unit: string | null | undefined): boolean {
  return principal.units === null || (unit != null && principal.units.includes(unit));
}
