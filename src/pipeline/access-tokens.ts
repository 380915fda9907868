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

/**
 * How long a token, once found, is trusted without reading the store again.
 * Every commit of the writer thread resets the read connection's page cache,
 * so a lookup rereads its pages: about a fifth of the request thread's time
 * per single-alert request. A token revoked through this object (the API)
 * stops working at once; one revoked by another process (`warden token
 * revoke`) within this time.
 */
export const TOKEN_CACHE_MS = 1000;
/** Far more than any estate's tokens: a bound, not a working size. */
const TOKENS_CACHED = 1000;

export interface AccessTokensOptions {
  clock?: () => Date;
  /** See `TOKEN_CACHE_MS`; 0 reads the store on every request. */
  cacheMs?: number;
}

interface Resolved {
  principal: Principal;
  /** `performance.now()` after which the store is read again. */
  until: number;
}

export interface CreatedToken {
  token: ApiToken;
  /** Shown once; only its hash is stored. */
  secret: string;
}

/** Bearer tokens: issue, resolve to a principal, and bootstrap the admin token. */
export class AccessTokens {
  private readonly clock: () => Date;
  private readonly cacheMs: number;
  /** Principals of tokens found lately, by token hash; never an unknown token. */
  private readonly resolved = new Map<string, Resolved>();
  /** Bumped whenever tokens change here, so that a lookup begun before does not cache its answer. */
  private generation = 0;

  constructor(
    private readonly store: Store,
    options: AccessTokensOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.cacheMs = options.cacheMs ?? TOKEN_CACHE_MS;
  }

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
    // An id given again replaces that token (a rotated admin secret).
    this.forget();
    return { token, secret };
  }

  /** Every token, without its hash. */
  async list(): Promise<Omit<ApiToken, 'tokenHash'>[]> {
    return (await this.store.listTokens()).map(({ tokenHash: _hash, ...rest }) => rest);
  }

  /**
   * Revokes a token: its secret stops working at once here, and within
   * `TOKEN_CACHE_MS` in a server whose AccessTokens did not revoke it. The token of
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
    this.forget();
  }

  private forget(): void {
    this.generation += 1;
    this.resolved.clear();
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
    const tokenHash = hashToken(match[1]);
    const now = performance.now();
    const cached = this.resolved.get(tokenHash);
    if (cached && cached.until > now) return cached.principal;
    // A revocation while the store is read must not be undone by caching this answer.
    const generation = this.generation;
    const token = await this.store.findTokenByHash(tokenHash);
    if (!token) {
      this.resolved.delete(tokenHash);
      throw new WardenError('unauthorized', 'unknown or revoked token');
    }
    const principal: Principal = Object.freeze({
      tokenId: token.id,
      name: token.name,
      role: token.role,
      units: token.units ? Object.freeze([...token.units]) : null,
    }) as Principal;
    if (this.cacheMs > 0 && generation === this.generation) {
      if (this.resolved.size >= TOKENS_CACHED) this.resolved.clear();
      this.resolved.set(tokenHash, { principal, until: now + this.cacheMs });
    }
    return principal;
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
