import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiTokenService } from './api-tokens.service';
import { createJobTokenService, JOB_TOKEN_PREFIX } from './job-tokens.service';

let database: Database;
const jobId = '01a22000-0000-7000-8000-0000000000a1';
const otherJob = '01a22000-0000-7000-8000-0000000000a2';
const channel = 'a'.repeat(64);

describe('job tokens (real PGlite)', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.close();
  });

  it('mints a token for one attempt that names its job and readable blobs; only its SHA-256 is stored', async () => {
    const tokens = createJobTokenService(database);
    const { token } = await tokens.mint({ jobId, attempt: 2, readableBlobs: [channel, channel], ttlMs: 60_000 });
    expect(token.startsWith(JOB_TOKEN_PREFIX)).toBe(true);
    expect(await tokens.authenticate(token)).toMatchObject({ jobId, attempt: 2, readableBlobs: [channel] });
    const rows = await database.sql.query<{ tokenHash: string }>(`SELECT "tokenHash" FROM "JobToken" WHERE "jobId" = $1`, [jobId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('stops working when its job’s tokens are revoked, and revoking one job leaves another’s alone', async () => {
    const tokens = createJobTokenService(database);
    const mine = await tokens.mint({ jobId, attempt: 3, readableBlobs: [], ttlMs: 60_000 });
    const theirs = await tokens.mint({ jobId: otherJob, attempt: 1, readableBlobs: [], ttlMs: 60_000 });
    expect(await tokens.revokeForJob(jobId)).toBeGreaterThanOrEqual(1);
    expect(await tokens.authenticate(mine.token)).toBeUndefined();
    expect(await tokens.authenticate(theirs.token)).toMatchObject({ jobId: otherJob });
  });

  it('stops working at its expiry even if never revoked', async () => {
    const tokens = createJobTokenService(database);
    const { token } = await tokens.mint({ jobId: otherJob, attempt: 2, readableBlobs: [], ttlMs: 50 });
    expect(await tokens.authenticate(token)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await tokens.authenticate(token)).toBeUndefined();
  });

  it('is no API token, and an API token is no job token', async () => {
    const jobTokens = createJobTokenService(database);
    const apiTokens = createApiTokenService(database);
    const job = await jobTokens.mint({ jobId, attempt: 9, readableBlobs: [], ttlMs: 60_000 });
    const api = await apiTokens.create('admin-for-test', 'admin');
    expect(await apiTokens.authenticate(job.token)).toBeUndefined();
    expect(await jobTokens.authenticate(api.token)).toBeUndefined();
  });

  it('refuses a grant that is not one job’s: a bad id, a blob that is not a SHA-256, no lifetime', async () => {
    const tokens = createJobTokenService(database);
    await expect(tokens.mint({ jobId: '../x', attempt: 1, readableBlobs: [], ttlMs: 1_000 })).rejects.toThrow(/job id/);
    await expect(tokens.mint({ jobId, attempt: 1, readableBlobs: ['../../etc/passwd'], ttlMs: 1_000 })).rejects.toThrow(/SHA-256/);
    await expect(tokens.mint({ jobId, attempt: 1, readableBlobs: [], ttlMs: 0 })).rejects.toThrow(/lifetime/);
  });

  it('prunes tokens that ended long enough ago (revoked or expired), never a live one', async () => {
    const tokens = createJobTokenService(database);
    const pruneJob = '01a22000-0000-7000-8000-0000000000a3';
    const live = await tokens.mint({ jobId: pruneJob, attempt: 1, readableBlobs: [], ttlMs: 3_600_000 });
    const revoked = await tokens.mint({ jobId: pruneJob, attempt: 2, readableBlobs: [], ttlMs: 3_600_000 });
    const expired = await tokens.mint({ jobId: pruneJob, attempt: 3, readableBlobs: [], ttlMs: 3_600_000 });
    const lately = await tokens.mint({ jobId: pruneJob, attempt: 4, readableBlobs: [], ttlMs: 3_600_000 });
    const daysAgo = (days: number): Date => new Date(Date.now() - days * 86_400_000);
    await database.sql.query(`UPDATE "JobToken" SET "revokedAt" = $1 WHERE "id" = $2`, [daysAgo(8), revoked.tokenId]);
    await database.sql.query(`UPDATE "JobToken" SET "expiresAt" = $1 WHERE "id" = $2`, [daysAgo(8), expired.tokenId]);
    await database.sql.query(`UPDATE "JobToken" SET "revokedAt" = $1 WHERE "id" = $2`, [daysAgo(1), lately.tokenId]);

    expect(await tokens.pruneEnded(7 * 86_400_000)).toBe(2);
    const left = await database.sql.query<{ id: string }>(`SELECT "id" FROM "JobToken" WHERE "jobId" = $1 ORDER BY "attempt"`, [pruneJob]);
    expect(left.map((row) => row.id)).toEqual([live.tokenId, lately.tokenId]);
    expect(await tokens.authenticate(live.token)).toMatchObject({ jobId: pruneJob, attempt: 1 });
  });
});
