import { createTrainyardClient } from '@trainyard/client';
import { sha256Hex } from '@trainyard/core';
import { createScheduledTaskClaims, type Database, openDatabase } from '@trainyard/db';
import {
  postgresUnavailableReason,
  type PostgresServer,
  type RoundRobinProxy,
  type S3TestServer,
  startPostgresServer,
  startRoundRobinProxy,
  startS3Server,
} from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';
import { type SharedServer, startSharedServer } from './test-support/shared-server';
import { createServerToken, createVersionWithFiles, randomBlob, revokeServerToken, waitForEntry } from './test-support/sync-fixtures';

const skip = postgresUnavailableReason();
const fastRetry = { TRAINYARD_SYNC_RETRY_BASE_MS: '50', TRAINYARD_SYNC_RETRY_MAX_MS: '500' };
const laptop = useLocalTestServer(fastRetry);
const teammate = useLocalTestServer(fastRetry);

/** GC and the abandoned-upload sweep are scheduled this often on each instance. */
const INTERVAL_MS = 1_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface LogLine {
  instance: 'a' | 'b';
  message: string;
  fields: Record<string, unknown>;
  at: number;
}
const logs: LogLine[] = [];
const loggerOf = (instance: 'a' | 'b') => ({
  info: (fields: Record<string, unknown>, message: string) => void logs.push({ instance, message, fields, at: Date.now() }),
  error: (fields: Record<string, unknown>, message: string) => void logs.push({ instance, message, fields, at: Date.now() }),
});
const runsOf = (task: string): LogLine[] => logs.filter((line) => line.message === 'running scheduled task' && line.fields['task'] === task);

let postgres: PostgresServer;
let s3: S3TestServer;
let databaseUrl: string;
let database: Database;
let instances: SharedServer[] = [];
let proxy: RoundRobinProxy;
let tokens: { write: string; read: string };

describe.skipIf(skip)(`two shared-server instances on one PostgreSQL and one S3 bucket, behind round-robin clients${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    postgres = await startPostgresServer();
    s3 = await startS3Server();
    databaseUrl = await postgres.createDatabase('instances');
    const env = { TRAINYARD_GC_INTERVAL_MINUTES: String(INTERVAL_MS / 60_000) };
    // Both at once, as a deployment rolls out: the migration lock makes one apply, the other wait.
    instances = await Promise.all(
      (['a', 'b'] as const).map((name) => startSharedServer({ databaseUrl, s3: { endpoint: s3.endpoint, bucket: s3.bucket }, env, logger: loggerOf(name) })),
    );
    proxy = await startRoundRobinProxy(instances.map((instance) => instance.url));
    tokens = {
      write: (await createServerToken(databaseUrl, 'laptop', 'write')).token,
      read: (await createServerToken(databaseUrl, 'teammate', 'read')).token,
    };
    database = await openDatabase({ kind: 'postgresql', url: databaseUrl });
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    for (const instance of instances) await instance.stop();
    await database?.close();
    await s3?.stop();
    await postgres?.stop();
  });

  it('a push through the round-robin lands (negotiation, upload start and completion on different instances) and a pull through it gets the same bytes', async () => {
    const large = randomBlob(72 * 1024 * 1024); // over SMALL_BLOB_BYTES: five 16 MiB parts, one upload's steps span both instances
    const small = randomBlob(10_000);
    await createVersionWithFiles(laptop.server, laptop.client, 'detector', [
      { name: 'model.bin', bytes: large },
      { name: 'vocab.txt', bytes: small },
    ]);
    await laptop.client.sync.addRemote.mutate({ name: 'team', url: proxy.url, token: tokens.write });
    const before = proxy.served();
    const push = await laptop.client.sync.push.mutate({ remote: 'team', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(laptop.client, push.id, ['done', 'failed'])).toMatchObject({ state: 'done', error: null });
    const during = proxy.served().map((count, index) => count - (before[index] ?? 0));
    expect(
      during.every((count) => count > 0),
      `requests per instance: ${during.join(', ')}`,
    ).toBe(true);

    // Every instance sees the version, whichever registered it.
    for (const instance of instances) {
      const client = createTrainyardClient({ url: instance.url, token: tokens.read });
      expect((await client.models.listVersions.query({ model: 'detector' })).items).toHaveLength(1);
    }

    await teammate.client.sync.addRemote.mutate({ name: 'team', url: proxy.url, token: tokens.read });
    const pull = await teammate.client.sync.pull.mutate({ remote: 'team', model: 'detector', ref: { version: 1 } });
    expect(await waitForEntry(teammate.client, pull.id, ['done', 'failed'])).toMatchObject({ state: 'done', error: null });
    for (const bytes of [large, small]) {
      const response = await fetch(`${teammate.server.url}/blobs/sha256/${sha256Hex(bytes)}`, {
        headers: { authorization: `Bearer ${teammate.server.token}` },
      });
      expect(response.status).toBe(200);
      expect(sha256Hex(Buffer.from(await response.arrayBuffer()))).toBe(sha256Hex(bytes));
    }
  }, 180_000);

  it('a token authenticates on every instance, and once revoked is refused on every instance at once (no per-instance cache)', async () => {
    const token = await createServerToken(databaseUrl, 'short-lived', 'read');
    const status = async (url: string): Promise<number> =>
      (
        await fetch(`${url}/trpc/models.list?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`, {
          headers: { authorization: `Bearer ${token.token}` },
        })
      ).status;
    for (const instance of instances) expect(await status(instance.url)).toBe(200);
    // Round-robin: consecutive requests alternate between the instances.
    expect([await status(proxy.url), await status(proxy.url)]).toEqual([200, 200]);

    await revokeServerToken(databaseUrl, token.id);
    for (const instance of instances) expect(await status(instance.url)).toBe(401);
    expect([await status(proxy.url), await status(proxy.url)]).toEqual([401, 401]);
  });

  it('runs GC, the abandoned-upload sweep and the job-token prune once per interval between both instances, and sweeps an abandoned upload once', async () => {
    // An upload started through the round-robin and never finished, from two days ago.
    const writer = createTrainyardClient({ url: proxy.url, token: tokens.write });
    const plan = await writer.sync.startUpload.mutate({ sha256: sha256Hex(Buffer.from('never sent')), size: 20 * 1024 * 1024 });
    expect(plan.sessionId).not.toBeNull();
    await database.sql.query(`UPDATE "UploadSession" SET "createdAt" = now() - interval '2 days' WHERE "id" = $1`, [plan.sessionId]);

    const from = Date.now();
    await sleep(6 * INTERVAL_MS);
    const to = Date.now();
    await vi.waitFor(async () => expect(await database.sql.query(`SELECT 1 FROM "UploadSession" WHERE "id" = $1`, [plan.sessionId])).toHaveLength(0), {
      timeout: 10 * INTERVAL_MS,
    });
    await sleep(2 * INTERVAL_MS); // another chance for a second sweep, which must not happen

    const claims = createScheduledTaskClaims(database.sql, 'test');
    const recorded = new Map((await claims.lastRuns()).map((run) => [run.task, run]));
    for (const task of ['blob-gc', 'upload-sweep', 'job-token-prune']) {
      const runs = runsOf(task);
      // Each instance asks every interval: without the claims there would be about two runs per interval.
      const inWindow = runs.filter((run) => run.at >= from && run.at <= to).length;
      expect(inWindow, `${task} runs in ${to - from} ms`).toBeLessThanOrEqual(Math.floor((to - from) / (0.95 * INTERVAL_MS)) + 1);
      expect(inWindow, `${task} runs in ${to - from} ms`).toBeGreaterThanOrEqual(3);
      // Never two runs close together, whichever instance ran them: the claim keeps their starts at
      // least 95 % of the interval apart by the database's clock (each run logs the start its claim
      // recorded; the times the answers arrived vary with query latency). 1 ms for rounding to ms.
      // Sorted: the two instances' log lines may arrive out of order.
      const starts = runs.map((run) => Date.parse(String(run.fields['startedAt']))).sort((a, b) => a - b);
      const gaps = starts.slice(1).map((start, index) => start - (starts[index] ?? 0));
      expect(Math.min(...gaps), `${task} gaps: ${gaps.join(', ')}`).toBeGreaterThanOrEqual(0.95 * INTERVAL_MS - 1);
      // The tasks go on running while the test reads: the table's count must match the logged runs
      // up to the one it recorded last (whose log line may follow the read by a moment).
      const last = recorded.get(task);
      expect(last, task).toBeDefined();
      const lastStart = last?.startedAt.getTime() ?? 0;
      const loggedStarts = (): number[] => runsOf(task).map((run) => Date.parse(String(run.fields['startedAt'])));
      await vi.waitFor(() => expect(loggedStarts()).toContain(lastStart));
      expect(loggedStarts().filter((start) => start <= lastStart)).toHaveLength(last?.runs ?? -1);
    }
    // No claim, GC or sweep failed on either instance.
    expect(logs.filter((line) => /failed/.test(line.message))).toEqual([]);
    expect(logs.filter((line) => line.message === 'swept abandoned uploads').map((line) => line.fields)).toEqual([{ swept: 1 }]);
  }, 60_000);
});
