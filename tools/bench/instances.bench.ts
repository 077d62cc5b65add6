import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient } from '@trainyard/client';
import { postgresUnavailableReason, startPostgresServer, startRoundRobinProxy, startServerProcess, type ServerProcess } from '@trainyard/test-services';
import { createWriteToken, startS3Process } from './bench-helpers';
import type { BenchRow } from './bench-row';
import { median, timeMs } from './stats';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const CLIENTS = 50;
const VERSION_BYTES = 10 * 1024 * 1024;
const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };

/** What a pull does on the wire: read the version's bundle, then download every blob and verify its SHA-256. */
const pullOnce = async (url: string, token: string): Promise<void> => {
  const bundle = await createTrainyardClient({ url, token }).sync.describeVersion.query({ model: 'weights', ref: { version: 1 } });
  for (const artifact of bundle.artifacts) {
    const response = await fetch(`${url}/blobs/sha256/${artifact.sha256}`, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok || !response.body) throw new Error(`GET blob: HTTP ${response.status}`);
    const hash = createHash('sha256');
    for await (const chunk of response.body) hash.update(chunk);
    if (hash.digest('hex') !== artifact.sha256) throw new Error('blob hash mismatch');
  }
};

interface Batch {
  /** Each successful pull's duration. */
  pulls: number[];
  failures: number;
  /** From the first request to the last pull finished. */
  wallMs: number;
}

const concurrentPulls = async (url: string, token: string): Promise<Batch> => {
  const pulls: number[] = [];
  let failures = 0;
  const wallMs = await timeMs(() =>
    Promise.all(
      Array.from({ length: CLIENTS }, () =>
        timeMs(() => pullOnce(url, token)).then(
          (ms) => void pulls.push(ms),
          () => void (failures += 1),
        ),
      ),
    ),
  );
  return { pulls, failures, wallMs };
};

/**
 * Two shared-server processes on one PostgreSQL and one S3 bucket (s3rver in its own process),
 * behind a round-robin HTTP proxy, against one instance behind the same proxy, alternated in
 * the same run. On 2 cores two instances cannot be faster: this shows that nothing breaks.
 */
export const instancesBench = async (): Promise<BenchRow[]> => {
  const unavailable = postgresUnavailableReason();
  if (unavailable) return [{ benchmark: 'two shared-server instances', value: `skipped: ${unavailable}`, target: '—', pass: false }];
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-instances-'));
  const postgres = await startPostgresServer();
  const s3 = await startS3Process();
  const servers: ServerProcess[] = [];
  try {
    const databaseUrl = await postgres.createDatabase('bench_instances');
    for (const name of ['a', 'b']) {
      servers.push(
        await startServerProcess({
          TRAINYARD_DATA_DIR: join(scratch, name),
          DATABASE_URL: databaseUrl,
          ARTIFACT_STORE: `s3://${s3.bucket}/instances`,
          S3_ENDPOINT: s3.endpoint,
          // 50 clients on one token: the per-instance rate limit is not what is measured.
          TRAINYARD_RATE_LIMIT_PER_SECOND: '0',
          ...credentials,
        }),
      );
    }
    const token = await createWriteToken(databaseUrl, 'bench');

    const [first, second] = servers;
    if (!first || !second) throw new Error('instances did not start');
    const bytes = randomBytes(VERSION_BYTES);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const put = await fetch(`${first.url}/blobs/sha256/${sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    if (!put.ok) throw new Error(`PUT blob: HTTP ${put.status}`);
    const client = createTrainyardClient({ url: first.url, token });
    await client.models.register.mutate({ name: 'weights' });
    const artifact = await client.artifacts.register.mutate({ sha256, name: 'model.bin', type: 'model' });
    await client.models.createVersion.mutate({ model: 'weights', artifactIds: [artifact.id] });

    const one = await startRoundRobinProxy([first.url]);
    const two = await startRoundRobinProxy([first.url, second.url]);
    const batches: Record<'one' | 'two', Batch[]> = { one: [], two: [] };
    try {
      await concurrentPulls(two.url, token); // warm-up: connections, the Prisma clients, s3rver's cache
      for (let run = 0; run < RUNS; run += 1) {
        process.stderr.write(`  run ${run + 1} of ${RUNS}\n`);
        batches.one.push(await concurrentPulls(one.url, token));
        batches.two.push(await concurrentPulls(two.url, token));
      }
    } finally {
      await one.close();
      await two.close();
    }
    const summary = (kind: 'one' | 'two') => ({
      pull: median(batches[kind].flatMap((batch) => batch.pulls)),
      wall: median(batches[kind].map((batch) => batch.wallMs)),
      ok: batches[kind].reduce((sum, batch) => sum + batch.pulls.length, 0),
      failed: batches[kind].reduce((sum, batch) => sum + batch.failures, 0),
    });
    const ones = summary('one');
    const twos = summary('two');
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    const succeeded = (s: { ok: number; failed: number }): string => `${s.ok}/${s.ok + s.failed} pulls ok`;
    return [
      {
        benchmark: `${CLIENTS} concurrent clients pulling a 10 MB version (describe + verified download), two instances round-robin: median pull`,
        value: `${seconds(twos.pull)} (${succeeded(twos)})`,
        baseline: `${seconds(ones.pull)} (one instance, same proxy; ${succeeded(ones)})`,
        ratio: `${(twos.pull / ones.pull).toFixed(2)}×`,
        target: 'every pull succeeds (no scaling expected on 2 cores)',
        pass: twos.failed === 0 && ones.failed === 0,
      },
      {
        benchmark: `… the same, all ${CLIENTS} pulls done (wall time)`,
        value: seconds(twos.wall),
        baseline: `${seconds(ones.wall)} (one instance)`,
        ratio: `${(twos.wall / ones.wall).toFixed(2)}×`,
        target: 'every pull succeeds',
        pass: twos.failed === 0 && ones.failed === 0,
      },
    ];
  } finally {
    for (const server of servers.splice(0)) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await s3.stop();
    await postgres.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
};
