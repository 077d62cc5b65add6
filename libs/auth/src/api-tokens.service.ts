import { randomBytes } from 'node:crypto';
import type { TokenScope } from '@trainyard/contracts';
import { DomainError, newId, sha256Hex } from '@trainyard/core';
import type { Database } from '@trainyard/db';

export interface ApiTokenOutput {
  id: string;
  name: string;
  scope: TokenScope;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const TOKEN_PREFIX = 'tyd_';
/** `lastUsedAt` is written at most this often per token, so reads do not turn into writes. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * API tokens of a shared server: 32 random bytes, shown once at creation, stored only as
 * their SHA-256 (a fast hash is right here: the token has 256 bits of entropy, nothing to
 * brute-force). Scopes: read < write < admin.
 */
export const createApiTokenService = (database: Database) => {
  const { prisma } = database;
  const lastTouched = new Map<string, number>();

  return {
    async create(name: string, scope: TokenScope): Promise<{ token: string; record: ApiTokenOutput }> {
      if (!/^[\w .:@-]{1,100}$/.test(name)) throw new DomainError('INVALID_ARGUMENT', 'Token name: 1–100 letters, digits, spaces and . : @ - _');
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const row = await prisma.apiToken.create({
        data: { id: newId(), name, scope, tokenHash: sha256Hex(token), prefix: token.slice(0, TOKEN_PREFIX.length + 6) },
      });
      return { token, record: toOutput(row) };
    },

    async list(): Promise<ApiTokenOutput[]> {
      return (await prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' } })).map(toOutput);
    },

    async revoke(idOrPrefix: string): Promise<ApiTokenOutput> {
      const rows = await prisma.apiToken.findMany({
        where: /^[0-9a-f-]{36}$/.test(idOrPrefix) ? { id: idOrPrefix } : { OR: [{ prefix: idOrPrefix }, { name: idOrPrefix }] },
      });
      if (rows.length === 0) throw new DomainError('NOT_FOUND', `No token ${idOrPrefix}`);
      if (rows.length > 1) throw new DomainError('CONFLICT', `${rows.length} tokens match ${idOrPrefix}; give the id`);
      const row = await prisma.apiToken.update({ where: { id: rows[0]?.id ?? '' }, data: { revokedAt: rows[0]?.revokedAt ?? new Date() } });
      return toOutput(row);
    },

    /** The token's owner and scope, or undefined for an unknown or revoked token. */
    async authenticate(token: string): Promise<{ actor: string; scope: TokenScope; tokenId: string } | undefined> {
      if (!token.startsWith(TOKEN_PREFIX)) return undefined;
      const row = await prisma.apiToken.findUnique({ where: { tokenHash: sha256Hex(token) } });
      if (!row || row.revokedAt) return undefined;
      const now = Date.now();
      if (now - (lastTouched.get(row.id) ?? 0) > LAST_USED_RESOLUTION_MS) {
        lastTouched.set(row.id, now);
        await prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } });
      }
      return { actor: `token:${row.name}`, scope: row.scope as TokenScope, tokenId: row.id };
    },
  };
};

const toOutput = (row: {
  id: string;
  name: string;
  scope: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}): ApiTokenOutput => ({
  id: row.id,
  name: row.name,
  scope: row.scope as TokenScope,
  prefix: row.prefix,
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  revokedAt: row.revokedAt,
});

export type ApiTokenService = ReturnType<typeof createApiTokenService>;
