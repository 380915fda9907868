import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WardenError } from '../core/errors.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import {
  ADMIN_BOOTSTRAP_TOKEN_ID,
  ADMIN_ENV_TOKEN_ID,
  AccessTokens,
  hashToken,
} from './access-tokens.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');

describe('AccessTokens', () => {
  let dir: string;
  let store: SqliteStore;
  let tokens: AccessTokens;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-tokens-'));
    store = new SqliteStore({ dataDir: dir });
    tokens = new AccessTokens(store, { clock: () => NOW });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rejection(authorization: string | undefined): Promise<WardenError> {
    try {
      await tokens.resolve(authorization);
    } catch (error) {
      if (error instanceof WardenError) return error;
      throw error;
    }
    throw new Error(`expected ${JSON.stringify(authorization)} to be refused`);
  }

  it('hashes a secret as SHA-256 hex', () => {
    expect(hashToken('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  describe('create and resolve', () => {
    it('issues a token, stores only its hash, and resolves it to a principal', async () => {
      const { token, secret } = await tokens.create({
        role: 'analyst',
        units: ['payments'],
        name: 'soc-bot',
        createdBy: 'alice',
      });
      expect(secret).toMatch(/^wdn_[A-Za-z0-9_-]{43}$/);
      expect(token).toMatchObject({
        name: 'soc-bot',
        role: 'analyst',
        units: ['payments'],
        createdAt: NOW.toISOString(),
        createdBy: 'alice',
        tokenHash: hashToken(secret),
      });
      expect(await store.getToken(token.id)).toEqual(token);

      expect(await tokens.resolve(`Bearer ${secret}`)).toEqual({
        tokenId: token.id,
        name: 'soc-bot',
        role: 'analyst',
        units: ['payments'],
      });
    });

    it('issues a different secret each time and names unnamed tokens after role and id', async () => {
      const a = await tokens.create({ role: 'viewer', units: null, createdBy: 'alice' });
      const b = await tokens.create({ role: 'viewer', units: null, createdBy: 'alice' });
      expect(a.secret).not.toBe(b.secret);
      expect(a.token.id).not.toBe(b.token.id);
      expect(a.token.name).toBe(`viewer-${a.token.id.slice(-6)}`);
      expect((await tokens.resolve(`Bearer ${b.secret}`)).tokenId).toBe(b.token.id);
    });

    it('audits the issue without the secret or its hash', async () => {
      const { token, secret } = await tokens.create({
        role: 'admin',
        units: null,
        createdBy: 'alice',
      });
      const entries = await store.readAudit(0, 10);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: 'alice',
        action: 'token.created',
        subject: token.id,
        data: { name: token.name, role: 'admin', units: null },
      });
      const text = JSON.stringify(entries);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(token.tokenHash);
    });

    it('accepts the scheme in any case and surrounding whitespace after the token', async () => {
      const { secret, token } = await tokens.create({
        role: 'viewer',
        units: null,
        createdBy: 'a',
      });
      expect((await tokens.resolve(`bearer ${secret}`)).tokenId).toBe(token.id);
      expect((await tokens.resolve(`BEARER   ${secret}  `)).tokenId).toBe(token.id);
    });

    it('refuses a missing header with unauthorized', async () => {
      const error = await rejection(undefined);
      expect(error.code).toBe('unauthorized');
      expect(error.status).toBe(401);
      expect(error.message).toBe('missing Authorization: Bearer TOKEN header');
      expect((await rejection('')).code).toBe('unauthorized');
    });

    it.each([
      'Bearer',
      'Bearer ',
      'Basic dXNlcjpwYXNz',
      'Token wdn_abc',
      'wdn_abc',
      'Bearer a b',
      'Bearerwdn_abc',
    ])('refuses the malformed header %j with unauthorized', async (header) => {
      const error = await rejection(header);
      expect(error.code).toBe('unauthorized');
      expect(error.message).toBe('Authorization header must be "Bearer TOKEN"');
    });

    it('refuses an unknown token with unauthorized', async () => {
      await tokens.create({ role: 'admin', units: null, createdBy: 'a' });
      const error = await rejection('Bearer wdn_not-a-real-token');
      expect(error.code).toBe('unauthorized');
      expect(error.message).toBe('unknown or revoked token');
    });
  });

  describe('the cache of resolved tokens', () => {
    /** Counts the store's token lookups; `hold` keeps the next one waiting until released. */
    function countLookups() {
      const lookup = store.findTokenByHash.bind(store);
      const counted = { reads: 0, hold: undefined as Promise<void> | undefined };
      store.findTokenByHash = async (hash) => {
        counted.reads += 1;
        const answer = await lookup(hash);
        const hold = counted.hold;
        counted.hold = undefined;
        if (hold) await hold;
        return answer;
      };
      return counted;
    }

    it('reads the store once for a token used again within the cache time', async () => {
      const { secret, token } = await tokens.create({
        role: 'analyst',
        units: ['payments'],
        createdBy: 'a',
      });
      const counted = countLookups();
      const first = await tokens.resolve(`Bearer ${secret}`);
      const second = await tokens.resolve(`Bearer ${secret}`);
      expect(second).toEqual(first);
      expect(second).toMatchObject({ tokenId: token.id, role: 'analyst', units: ['payments'] });
      expect(counted.reads).toBe(1);
      // What every later request is handed cannot be changed by one of them.
      expect(() => (second.units as string[]).push('lending')).toThrow();
    });

    it('reads the store every time with a cache time of 0', async () => {
      const uncached = new AccessTokens(store, { cacheMs: 0 });
      const { secret } = await uncached.create({ role: 'viewer', units: null, createdBy: 'a' });
      const counted = countLookups();
      await uncached.resolve(`Bearer ${secret}`);
      await uncached.resolve(`Bearer ${secret}`);
      expect(counted.reads).toBe(2);
    });

    it('refuses a token revoked here at once', async () => {
      const { secret, token } = await tokens.create({ role: 'admin', units: null, createdBy: 'a' });
      await tokens.resolve(`Bearer ${secret}`);
      await tokens.revoke(token.id, 'alice');
      expect((await rejection(`Bearer ${secret}`)).message).toBe('unknown or revoked token');
    });

    it('refuses a token revoked by another process once the cache time has passed', async () => {
      tokens = new AccessTokens(store, { cacheMs: 50 });
      const { secret, token } = await tokens.create({ role: 'admin', units: null, createdBy: 'a' });
      await tokens.resolve(`Bearer ${secret}`);
      // The CLI's own AccessTokens, as `warden token revoke` runs it.
      await new AccessTokens(store).revoke(token.id, 'cli:root');
      expect((await tokens.resolve(`Bearer ${secret}`)).tokenId).toBe(token.id);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect((await rejection(`Bearer ${secret}`)).code).toBe('unauthorized');
    });

    it('does not cache a token found before a revocation that finished while it was read', async () => {
      const { secret, token } = await tokens.create({ role: 'admin', units: null, createdBy: 'a' });
      const counted = countLookups();
      let release = (): void => undefined;
      counted.hold = new Promise<void>((resolve) => (release = resolve));
      const inFlight = tokens.resolve(`Bearer ${secret}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await tokens.revoke(token.id, 'alice');
      release();
      // Found valid when it was read: that one request is let through, and no other.
      expect((await inFlight).tokenId).toBe(token.id);
      expect((await rejection(`Bearer ${secret}`)).code).toBe('unauthorized');
    });

    it('remembers no refusal: a token created elsewhere works at once', async () => {
      const cli = new AccessTokens(store);
      const secret = 'wdn_made-by-the-cli-after-a-refusal';
      expect((await rejection(`Bearer ${secret}`)).code).toBe('unauthorized');
      await cli.create({ role: 'viewer', units: null, createdBy: 'cli:root', id: 'cli-1', secret });
      expect((await tokens.resolve(`Bearer ${secret}`)).tokenId).toBe('cli-1');
    });
  });

  describe('ensureAdmin with WARDEN_ADMIN_TOKEN', () => {
    it('registers the env secret as the admin token and returns nothing to print', async () => {
      expect(await tokens.ensureAdmin('env-secret-1')).toBeUndefined();
      expect(await tokens.resolve('Bearer env-secret-1')).toMatchObject({
        tokenId: ADMIN_ENV_TOKEN_ID,
        role: 'admin',
        units: null,
      });
      expect(await store.getToken(ADMIN_BOOTSTRAP_TOKEN_ID)).toBeUndefined();
      expect(await store.recordedAuditCount()).toBe(1);
    });

    it('is idempotent: a restart with the same secret writes nothing', async () => {
      await tokens.ensureAdmin('env-secret-1');
      const before = await store.getToken(ADMIN_ENV_TOKEN_ID);
      expect(await tokens.ensureAdmin('env-secret-1')).toBeUndefined();
      expect(await store.getToken(ADMIN_ENV_TOKEN_ID)).toEqual(before);
      expect(await store.recordedAuditCount()).toBe(1);
      expect((await tokens.resolve('Bearer env-secret-1')).tokenId).toBe(ADMIN_ENV_TOKEN_ID);
    });

    it('rotates: a new secret replaces the old one', async () => {
      await tokens.ensureAdmin('env-secret-1');
      await tokens.ensureAdmin('env-secret-2');
      expect((await tokens.resolve('Bearer env-secret-2')).tokenId).toBe(ADMIN_ENV_TOKEN_ID);
      expect((await rejection('Bearer env-secret-1')).code).toBe('unauthorized');
      expect((await store.getToken(ADMIN_ENV_TOKEN_ID))?.tokenHash).toBe(hashToken('env-secret-2'));
      expect(await store.recordedAuditCount()).toBe(2);
    });
  });

  describe('ensureAdmin without WARDEN_ADMIN_TOKEN', () => {
    it('generates an admin secret once, returns it once, and keeps it valid', async () => {
      const secret = await tokens.ensureAdmin(undefined);
      expect(secret).toMatch(/^wdn_/);
      expect(await tokens.resolve(`Bearer ${secret}`)).toMatchObject({
        tokenId: ADMIN_BOOTSTRAP_TOKEN_ID,
        role: 'admin',
        units: null,
      });

      expect(await tokens.ensureAdmin(undefined)).toBeUndefined();
      expect(await tokens.ensureAdmin('')).toBeUndefined();
      expect((await tokens.resolve(`Bearer ${secret}`)).tokenId).toBe(ADMIN_BOOTSTRAP_TOKEN_ID);
      expect(await store.recordedAuditCount()).toBe(1);
    });

    it('remembers the generated admin across a restart', async () => {
      const secret = await tokens.ensureAdmin(undefined);
      await store.close();
      store = new SqliteStore({ dataDir: dir });
      tokens = new AccessTokens(store, { clock: () => NOW });
      expect(await tokens.ensureAdmin(undefined)).toBeUndefined();
      expect((await tokens.resolve(`Bearer ${secret}`)).tokenId).toBe(ADMIN_BOOTSTRAP_TOKEN_ID);
    });
  });
});
