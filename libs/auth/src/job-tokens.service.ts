import { randomBytes } from 'node:crypto';
import { DomainError, isUuid, newId, sha256Hex } from '@trainyard/core';
import type { Database } from '@trainyard/db';

/** Job tokens start with this, so a request's token is told apart from an API token before any lookup. */
export const JOB_TOKEN_PREFIX = 'tyj_';
const SHA256 = /^[0-9a-f]{64}$/;

export interface JobTokenGrant {
  jobId: string;
  attempt: number;
  /** The blobs the runner may read: the job's input channels, by SHA-256. */
  readableBlobs: readonly string[];
  /** How long the token lives at most (it is revoked earlier, when the attempt ends). */
  ttlMs: number;
}

/** What a valid job token allows: one job's attempt, and reading exactly these blobs. */
export interface JobTokenScope {
  tokenId: string;
  jobId: string;
  attempt: number;
  readableBlobs: readonly string[];
}

/**
 * Job-scoped tokens (docs/runner.md): minted when a runner executor starts an attempt, handed to
 * the runner in its environment, stored only as their SHA-256 (32 random bytes: nothing to
 * brute-force), valid until revoked (the attempt ended) or expired, whichever comes first.
 */
export const createJobTokenService = (database: Database) => {
  const { prisma } = database;
  return {
    async mint(grant: JobTokenGrant): Promise<{ token: string; tokenId: string; expiresAt: Date }> {
      if (!isUuid(grant.jobId)) throw new DomainError('INVALID_ARGUMENT', 'Invalid job id', { jobId: grant.jobId });
      if (!grant.readableBlobs.every((hash) => SHA256.test(hash))) throw new DomainError('INVALID_ARGUMENT', 'Readable blobs must be SHA-256 hex digests');
      if (!(grant.ttlMs > 0)) throw new DomainError('INVALID_ARGUMENT', 'A job token needs a positive lifetime');
      const token = `${JOB_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const expiresAt = new Date(Date.now() + grant.ttlMs);
      const row = await prisma.jobToken.create({
        data: {
          id: newId(),
          jobId: grant.jobId,
          attempt: grant.attempt,
          tokenHash: sha256Hex(token),
          readableBlobs: [...new Set(grant.readableBlobs)],
          expiresAt,
        },
      });
      return { token, tokenId: row.id, expiresAt };
    },

    /** The token's scope, or undefined for an unknown, revoked or expired token (or one that is not a job token). */
    async authenticate(token: string): Promise<JobTokenScope | undefined> {
      if (!token.startsWith(JOB_TOKEN_PREFIX)) return undefined;
      const row = await prisma.jobToken.findUnique({ where: { tokenHash: sha256Hex(token) } });
      if (!row || row.revokedAt || row.expiresAt.getTime() <= Date.now()) return undefined;
      return { tokenId: row.id, jobId: row.jobId, attempt: row.attempt, readableBlobs: row.readableBlobs };
    },

    /**
     * Deletes tokens that stopped working (revoked or expired) more than `olderThanMs` ago, so the
     * table does not grow with every attempt ever run; a live token is never touched.
     */
    async pruneEnded(olderThanMs: number): Promise<number> {
      const before = new Date(Date.now() - olderThanMs);
      const { count } = await prisma.jobToken.deleteMany({ where: { OR: [{ revokedAt: { lt: before } }, { expiresAt: { lt: before } }] } });
      return count;
    },

    /** Revokes every live token of the job (its attempt ended: finished, failed, cancelled or lost). */
    async revokeForJob(jobId: string): Promise<number> {
      const { count } = await prisma.jobToken.updateMany({ where: { jobId, revokedAt: null }, data: { revokedAt: new Date() } });
      return count;
    },
  };
};

export type JobTokenService = ReturnType<typeof createJobTokenService>;
