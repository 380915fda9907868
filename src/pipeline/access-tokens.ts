import { randomBytes } from 'node:crypto';
import type { Principal, Role } from '../core/access.js';
import { WardenError } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import { sha256Hex } from '../core/sha256.js';
import type { ApiToken, Store } from '../store/store.js';

export const ADMIN_ENV_TOKEN_ID = 'admin-env';
export const ADMIN_BOOTSTRAP_TOKEN_ID = 'admin-bootstrap';

export function hashToken(secret: string): string {
  return sha256Hex(secret);
}

function newSecret(): string {
  return `wdn_${randomBytes(32).toString('base64url')}`;
}

export interface CreatedToken {
  token: ApiToken;
  /** Shown once; only its hash is stored. */
  secret: string;
}

/** Bearer tokens: issue, resolve to a principal, and bootstrap the admin token. */
export class AccessTokens {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async create(input: {
    role: Role;
    units: string[] | null;
    name?: string;
    createdBy: string;
    id?: string;
    secret?: string;
  }): Promise<CreatedToken> {
    const secret = input.secret ?? newSecret();
    const id = input.id ?? uuidv7();
    const token: ApiToken = {
      id,
      name: input.name ?? `${input.role}-${id.slice(-6)}`,
      tokenHash: hashToken(secret),
      role: input.role,
      units: input.units,
      createdAt: this.clock().toISOString(),
      createdBy: input.createdBy,
    };
    await this.store.transaction(async (tx) => {
      if (input.id) await tx.upsertToken(token);
      else await tx.insertToken(token);
      await tx.appendAudit({
        at: token.createdAt,
        actor: input.createdBy,
        action: 'token.created',
        subject: token.id,
        data: { name: token.name, role: token.role, units: token.units },
      });
    });
    return { token, secret };
  }

  /** Every token, without its hash. */
  async list(): Promise<Omit<ApiToken, 'tokenHash'>[]> {
    return (await this.store.listTokens()).map(({ tokenHash: _hash, ...rest }) => rest);
  }

  /**
   * Revokes a token: its secret stops working at once. The token of
   * `WARDEN_ADMIN_TOKEN` comes back on the next start while the variable is set.
   */
  async revoke(id: string, revokedBy: string): Promise<void> {
    const at = this.clock().toISOString();
    await this.store.transaction(async (tx) => {
      if (!(await tx.deleteToken(id))) throw new WardenError('not_found', `token ${id} not found`);
      await tx.appendAudit({
        at,
        actor: revokedBy,
        action: 'token.revoked',
        subject: id,
        data: {},
      });
    });
  }

  async resolve(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      throw new WardenError(
        'unauthorized',
        authorization
          ? 'Authorization header must be "Bearer TOKEN"'
          : 'missing Authorization: Bearer TOKEN header',
      );
    }
    const token = await this.store.findTokenByHash(hashToken(match[1]));
    if (!token) throw new WardenError('unauthorized', 'unknown or revoked token');
    return { tokenId: token.id, name: token.name, role: token.role, units: token.units };
  }

  /**
   * Make sure an admin can get in: the token in `envSecret` when given
   * (re-registered on every start, so rotating the variable rotates the token),
   * else a generated one on first start. Returns the secret only when it was
   * generated now, for the caller to print once.
   */
  async ensureAdmin(envSecret: string | undefined): Promise<string | undefined> {
    if (envSecret) {
      const existing = await this.store.findTokenByHash(hashToken(envSecret));
      if (existing?.id !== ADMIN_ENV_TOKEN_ID) {
        await this.create({
          id: ADMIN_ENV_TOKEN_ID,
          name: 'admin (WARDEN_ADMIN_TOKEN)',
          role: 'admin',
          units: null,
          createdBy: 'system:bootstrap',
          secret: envSecret,
        });
      }
      return undefined;
    }
    if (await this.store.getToken(ADMIN_BOOTSTRAP_TOKEN_ID)) return undefined;
    const { secret } = await this.create({
      id: ADMIN_BOOTSTRAP_TOKEN_ID,
      name: 'admin (generated on first start)',
      role: 'admin',
      units: null,
      createdBy: 'system:bootstrap',
    });
    return secret;
  }
}
