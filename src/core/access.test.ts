import { describe, expect, it } from 'vitest';
import {
  ROLES,
  can,
  inScope,
  isRole,
  requirePermission,
  type Permission,
  type Principal,
  type Role,
} from './access.js';
import { WardenError } from './errors.js';

function principal(role: Role, units: string[] | null = null): Principal {
  return { tokenId: 't-1', name: 'someone', role, units };
}

const PERMISSIONS: Permission[] = [
  'alerts:read',
  'alerts:ingest',
  'cases:read',
  'cases:write',
  'audit:read',
  'tokens:manage',
  'deadletters:manage',
];

const EXPECTED: Record<Role, Permission[]> = {
  ingest: ['alerts:ingest'],
  viewer: ['alerts:read', 'cases:read'],
  analyst: ['alerts:read', 'alerts:ingest', 'cases:read', 'cases:write'],
  responder: ['alerts:read', 'alerts:ingest', 'cases:read', 'cases:write'],
  admin: PERMISSIONS,
};

describe('roles', () => {
  it('knows the five roles and nothing else', () => {
    expect([...ROLES]).toEqual(['ingest', 'viewer', 'analyst', 'responder', 'admin']);
    for (const role of ROLES) expect(isRole(role)).toBe(true);
    for (const value of ['Admin', 'root', '', null, undefined, 1, {}]) {
      expect(isRole(value)).toBe(false);
    }
  });
});

describe('can and requirePermission', () => {
  it.each(ROLES.map((role) => [role]))('grants %s exactly its permissions', (role) => {
    const p = principal(role);
    for (const permission of PERMISSIONS) {
      const expected = EXPECTED[role].includes(permission);
      expect(can(p, permission), permission).toBe(expected);
      if (expected) expect(() => requirePermission(p, permission)).not.toThrow();
      else expect(() => requirePermission(p, permission)).toThrow(WardenError);
    }
  });

  it('refuses with forbidden (403) and names who may', () => {
    try {
      requirePermission(principal('viewer'), 'cases:write');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WardenError);
      expect(error).toMatchObject({ code: 'forbidden', status: 403 });
      expect((error as Error).message).toBe(
        'role "viewer" may not cases write (needs one of: analyst, responder, admin)',
      );
    }
  });

  it('does not depend on the principal’s units', () => {
    expect(can(principal('admin', []), 'tokens:manage')).toBe(true);
    expect(can(principal('viewer', null), 'tokens:manage')).toBe(false);
  });
});

describe('inScope', () => {
  it('lets an unscoped principal see every unit and unscoped records', () => {
    const p = principal('viewer', null);
    expect(inScope(p, 'fraud')).toBe(true);
    expect(inScope(p, null)).toBe(true);
    expect(inScope(p, undefined)).toBe(true);
  });

  it('limits a scoped principal to its units, and hides unscoped records', () => {
    const p = principal('analyst', ['fraud', 'retail']);
    expect(inScope(p, 'fraud')).toBe(true);
    expect(inScope(p, 'retail')).toBe(true);
    expect(inScope(p, 'payments')).toBe(false);
    expect(inScope(p, null)).toBe(false);
    expect(inScope(p, undefined)).toBe(false);
  });

  it('shows nothing to a principal scoped to no units', () => {
    expect(inScope(principal('admin', []), 'fraud')).toBe(false);
    expect(inScope(principal('admin', []), null)).toBe(false);
  });
});
