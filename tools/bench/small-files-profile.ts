// Where the time of a push of many small files goes (issue #24): times the pieces of it against
// a real shared server process (PostgreSQL + s3rver), and counts what each blob costs — database
// transactions (pg_stat_database), connections to S3 and to the server (TCP proxies).
// Run: npx tsx tools/bench/small-files-profile.ts [count] [sizeBytes]   (not part of the bench table)
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createApiTokenService } from '@trainyard/auth';
import { createTrainyardClient } from '@trainyard/client';
import { openDatabase } from '@trainyard/db';
import { startPostgresServer, startServerProcess, startTcpProxy } from '@trainyard/test-services';
import pg from 'pg';
import pLimit from 'p-limit';
import { startS3Process } from './bench-helpers';
import { timeMs } from './stats';

const COUNT = Number(process.argv[2] ?? 1_000);
const SIZE = Number(process.argv[3] ?? 10 * 1024);
const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };

const blobs = Array.from({ length: COUNT }, () => {
  const bytes = randomBytes(SIZE);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
});

const report = (what: string, ms: number, extra = ''): void => {
  process.stdout.write(`${what.padEnd(70)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${((ms / COUNT) * 1000).toFixed(0).padStart(6)} µs/blob ${extra}\n`);
};

const scratch = mkdtempSync(join(tmpdir(), 'trainyard-profile-'));
const postgres = await startPostgresServer();
const s3 = await startS3Process();
const s3Proxy = await startTcpProxy(Number(new URL(s3.endpoint).port));
const databaseUrl = await postgres.createDatabase('profile');
const shared = await startServerProcess({
  TRAINYARD_DATA_DIR: join(scratch, 'shared'),
  DATABASE_URL: databaseUrl,
  ARTIFACT_STORE: `s3://${s3.bucket}/profile`,
  S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
  ...credentials,
});
const serverProxy = await startTcpProxy(Number(new URL(shared.url).port));
const database = await openDatabase({ kind: 'postgresql', url: databaseUrl });
const { token } = await createApiTokenService(database).create('profile', 'write');
await database.close();
const stats = new pg.Client({ connectionString: databaseUrl });
await stats.connect();
const transactions = async (): Promise<{ commits: number; inserted: number; updated: number }> => {
  // Statistics are sent to the collector at the end of a transaction; force a fresh snapshot.
  await stats.query('SELECT pg_stat_clear_snapshot()');
  const [row] = (await stats.query(`SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database WHERE datname = current_database()`)).rows as Array<
    Record<string, string>
  >;
  return { commits: Number(row?.['xact_commit']), inserted: Number(row?.['tup_inserted']), updated: Number(row?.['tup_updated']) };
};
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1_200)); // pg stats flush at most once a second

try {
  const url = `http://127.0.0.1:${serverProxy.port}`;
  process.stdout.write(`${COUNT} blobs of ${SIZE} bytes; shared server (PostgreSQL + s3rver, separate processes)\n`);

  // 1. The S3 floor: PutObject straight to s3rver, one SDK client (keep-alive), N in flight.
  for (const concurrency of [16, 32]) {
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const limit = pLimit(concurrency);
    const ms = await timeMs(() =>
      Promise.all(blobs.map((b, i) => limit(() => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `floor-${concurrency}/${i}`, Body: b.bytes }))))),
    );
    report(`S3 PutObject direct (SDK, ${concurrency} in flight)`, ms);
    client.destroy();
  }

  // 2. The server's per-request cost without storage: an authenticated tRPC call (token check + one query).
  const trpc = createTrainyardClient({ url, token });
  {
    const limit = pLimit(16);
    const before = await transactions();
    const ms = await timeMs(() => Promise.all(blobs.map((b) => limit(() => trpc.sync.missingBlobs.mutate({ hashes: [b.sha256] })))));
    await settle();
    const after = await transactions();
    report(
      'sync.missingBlobs with 1 hash (auth + 1 query), 16 in flight',
      ms,
      `${((after.commits - before.commits) / COUNT).toFixed(1)} DB transactions/request`,
    );
  }

  // 3. What a push does per small blob today: PUT /blobs/sha256/<hash>, 16 in flight.
  for (const [concurrency, slice] of [
    [16, blobs.slice(0, COUNT / 2)],
    [32, blobs.slice(COUNT / 2)],
  ] as const) {
    const limit = pLimit(concurrency);
    const before = await transactions();
    const s3Bytes = s3Proxy.uploadedBytes();
    const s3Connections = s3Proxy.acceptedConnections();
    const serverConnections = serverProxy.acceptedConnections();
    const ms = await timeMs(() =>
      Promise.all(
        slice.map((b) =>
          limit(async () => {
            const response = await fetch(`${url}/blobs/sha256/${b.sha256}`, {
              method: 'PUT',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
              body: b.bytes,
            });
            if (!response.ok) throw new Error(`PUT ${response.status}: ${await response.text()}`);
            await response.arrayBuffer();
          }),
        ),
      ),
    );
    await settle();
    const after = await transactions();
    report(
      `PUT /blobs, ${concurrency} in flight (${slice.length} blobs, time scaled to ${COUNT})`,
      (ms * COUNT) / slice.length,
      `${((after.commits - before.commits) / slice.length).toFixed(1)} DB transactions/blob, ${((after.inserted - before.inserted) / slice.length).toFixed(1)} rows inserted/blob, ` +
        `${((s3Proxy.uploadedBytes() - s3Bytes) / slice.length / 1024).toFixed(1)} KiB to S3/blob, ` +
        `${s3Proxy.acceptedConnections() - s3Connections} connections to S3, ${serverProxy.acceptedConnections() - serverConnections} to the server`,
    );
  }

  // 4. The batched path: POST /blob-batches of ~1 MiB each, 4 in flight (what a push does now).
  {
    const fresh = Array.from({ length: COUNT }, () => {
      const bytes = randomBytes(SIZE);
      return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    });
    const perBatch = Math.max(1, Math.min(1_000, Math.floor((1024 * 1024) / SIZE)));
    const groups = Array.from({ length: Math.ceil(COUNT / perBatch) }, (_unused, index) => fresh.slice(index * perBatch, (index + 1) * perBatch));
    const limit = pLimit(4);
    const before = await transactions();
    const s3Connections = s3Proxy.acceptedConnections();
    const serverConnections = serverProxy.acceptedConnections();
    const ms = await timeMs(() =>
      Promise.all(
        groups.map((group) =>
          limit(async () => {
            const manifest = Buffer.from(`${JSON.stringify({ blobs: group.map((b) => ({ sha256: b.sha256, size: b.bytes.length })) })}\n`);
            const response = await fetch(`${url}/blob-batches`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
              body: Buffer.concat([manifest, ...group.map((b) => b.bytes)]),
            });
            if (!response.ok) throw new Error(`POST ${response.status}: ${await response.text()}`);
            await response.arrayBuffer();
          }),
        ),
      ),
    );
    await settle();
    const after = await transactions();
    report(
      `POST /blob-batches, ${groups.length} batches of ${perBatch}, 4 in flight`,
      ms,
      `${((after.commits - before.commits) / groups.length).toFixed(1)} DB transactions/batch, ` +
        `${s3Proxy.acceptedConnections() - s3Connections} connections to S3, ${serverProxy.acceptedConnections() - serverConnections} to the server`,
    );

    // 5. Reading them back in batches (what a pull does now), against one GET /blobs each.
    const readLimit = pLimit(4);
    const batchRead = await timeMs(() =>
      Promise.all(
        groups.map((group) =>
          readLimit(async () => {
            const response = await fetch(`${url}/blob-batches/read`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ hashes: group.map((b) => b.sha256) }),
            });
            if (!response.ok) throw new Error(`read ${response.status}`);
            await response.arrayBuffer();
          }),
        ),
      ),
    );
    report(`POST /blob-batches/read, ${groups.length} batches, 4 in flight`, batchRead);
    const single = pLimit(4);
    const perBlob = await timeMs(() =>
      Promise.all(
        fresh.map((b) =>
          single(async () => {
            const response = await fetch(`${url}/blobs/sha256/${b.sha256}`, { headers: { authorization: `Bearer ${token}` } });
            await response.arrayBuffer();
          }),
        ),
      ),
    );
    report('GET /blobs, one per blob, 4 in flight (the pull before batches)', perBlob);

    // 6. Registering the version once its blobs are there: one sync.receiveVersion with every artifact.
    const bundle = {
      model: { name: 'profile', description: '', tags: [], metadata: {} },
      version: { version: 1, description: '', metrics: {}, tags: [] },
      artifacts: fresh.map((b, index) => ({
        name: `shard-${index}`,
        type: 'checkpoint' as const,
        mediaType: 'application/octet-stream',
        sha256: b.sha256,
        size: SIZE,
        metadata: {},
      })),
      lineage: { datasetSnapshot: null, trainingJob: null, parentVersion: null },
      origin: { registry: 'local', model: 'profile', version: 1 },
    };
    report(
      `sync.receiveVersion of a bundle of ${COUNT} artifacts (once)`,
      await timeMs(() => trpc.sync.receiveVersion.mutate({ idempotencyKey: 'version:profile-1', bundle })),
    );
  }
} finally {
  await stats.end();
  shared.child.kill('SIGTERM');
  await shared.exited;
  await serverProxy.close();
  await s3Proxy.close();
  await s3.stop();
  await postgres.stop();
  rmSync(scratch, { recursive: true, force: true });
}
