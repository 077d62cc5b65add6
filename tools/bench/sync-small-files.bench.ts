import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { postgresUnavailableReason, startPostgresServer, startServerProcess, type ServerProcess } from '@trainyard/test-services';
import pLimit from 'p-limit';
import { awsAvailable, createWriteToken, ratioRow, startS3Process, timeCommand, timedTransfer } from './bench-helpers';
import type { BenchRow } from './bench-row';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };
/** The two shapes issue #24 names: many small checkpoint shards, and very many tiny files. */
const SHAPES = [
  { name: 'files-1k', count: 1_000, size: 10 * 1024, label: '1 000 × 10 KB' },
  { name: 'files-10k', count: 10_000, size: 1024, label: '10 000 × 1 KB' },
] as const;
/** BENCH_SYNC_SHAPE=files-1k (or files-10k) runs one shape: more runs of the quick one in the same time. */
const DATASETS = SHAPES.filter((shape) => !process.env['BENCH_SYNC_SHAPE'] || shape.name === process.env['BENCH_SYNC_SHAPE']);
if (DATASETS.length === 0) throw new Error(`BENCH_SYNC_SHAPE names no shape; use ${SHAPES.map((shape) => shape.name).join(' or ')}`);

const rcloneAvailable = (): boolean => {
  try {
    execFileSync('rclone', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** rclone configured for the S3 server by environment variables only (remote `bench:`), no config file. */
const rcloneEnv = (endpoint: string): Record<string, string> => ({
  RCLONE_CONFIG: '/dev/null',
  // rclone's S3 client refuses to start with a custom CA bundle on a plain-http endpoint.
  AWS_CA_BUNDLE: '',
  RCLONE_CONFIG_BENCH_TYPE: 's3',
  RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
  RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
  RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: credentials.AWS_ACCESS_KEY_ID,
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: credentials.AWS_SECRET_ACCESS_KEY,
  RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
  RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
});

/**
 * Each transfer starts with the disk's dirty pages written out (`sync`), whichever tool ran
 * before: every process here shares one disk, so without it a tool that makes its files durable
 * (our pull fsyncs each blob before recording it) waits for the writeback of what the previous
 * step wrote — s3rver's copy of the push — while one that never syncs (rclone, aws) does not.
 * On separate machines that data would not be on the puller's disk at all.
 */
const settled = <T>(measure: () => Promise<T>): Promise<T> => {
  execFileSync('sync');
  return measure();
};

const putFile = async (server: ServerProcess, bytes: Buffer, hash: string): Promise<void> => {
  const response = await fetch(`${server.url}/blobs/sha256/${hash}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (!response.ok) throw new Error(`PUT ${response.status}`);
};

/** Writes the files into `dir` and makes them one version of `model` on the laptop. */
const prepareVersion = async (laptop: ServerProcess, client: TrainyardClient, dir: string, dataset: (typeof DATASETS)[number]): Promise<void> => {
  mkdirSync(dir);
  const limit = pLimit(8);
  const ids = await Promise.all(
    Array.from({ length: dataset.count }, (_unused, index) =>
      limit(async () => {
        const bytes = randomBytes(dataset.size);
        writeFileSync(join(dir, `shard-${String(index).padStart(5, '0')}.bin`), bytes);
        const hash = createHash('sha256').update(bytes).digest('hex');
        await putFile(laptop, bytes, hash);
        return (await client.artifacts.register.mutate({ sha256: hash, name: `shard-${index}`, type: 'checkpoint' })).id;
      }),
    ),
  );
  await client.models.register.mutate({ name: dataset.name });
  await client.models.createVersion.mutate({ model: dataset.name, artifactIds: ids });
};

interface Times {
  push: number[];
  pull: number[];
  rcloneUp: number[];
  rcloneDown: number[];
  awsUp: number[];
  awsDown: number[];
}

/**
 * Many small files (issue #24): push and pull of one version to a fresh shared server
 * (PostgreSQL + s3rver, separate processes) against `rclone copy --transfers 32` and
 * `aws s3 sync` of the same files to and from the same S3 server, in the same run.
 */
export const syncSmallFilesBench = async (): Promise<BenchRow[]> => {
  const unavailable =
    postgresUnavailableReason() ?? (awsAvailable() ? undefined : 'aws CLI not installed') ?? (rcloneAvailable() ? undefined : 'rclone not installed');
  if (unavailable) return [{ benchmark: 'push and pull of many small files', value: `skipped: ${unavailable}`, target: '—', pass: false }];
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-small-'));
  const postgres = await startPostgresServer();
  const s3 = await startS3Process();
  const processes: ServerProcess[] = [];
  const stop = async (server: ServerProcess): Promise<void> => {
    processes.splice(processes.indexOf(server), 1);
    server.child.kill('SIGTERM');
    await server.exited;
  };
  const rclone = rcloneEnv(s3.endpoint);
  try {
    const laptop = await startServerProcess({ TRAINYARD_DATA_DIR: join(scratch, 'laptop'), TRAINYARD_DEMO_DATA: 'off' });
    processes.push(laptop);
    const client = createTrainyardClient({ url: laptop.url, token: laptop.token });
    for (const dataset of DATASETS) {
      process.stderr.write(`  preparing a version of ${dataset.label}…\n`);
      await prepareVersion(laptop, client, join(scratch, dataset.name), dataset);
    }
    const times = new Map(DATASETS.map((d) => [d.name, { push: [], pull: [], rcloneUp: [], rcloneDown: [], awsUp: [], awsDown: [] } as Times]));
    for (let run = 0; run < RUNS; run++) {
      process.stderr.write(`  small files: run ${run + 1} of ${RUNS}\n`);
      const databaseUrl = await postgres.createDatabase(`bench_small_${run}`);
      const shared = await startServerProcess({
        TRAINYARD_DATA_DIR: join(scratch, `shared-${run}`),
        DATABASE_URL: databaseUrl,
        ARTIFACT_STORE: `s3://${s3.bucket}/small-${run}`,
        S3_ENDPOINT: s3.endpoint,
        ...credentials,
      });
      processes.push(shared);
      const token = await createWriteToken(databaseUrl, `bench-${run}`);
      await client.sync.addRemote.mutate({ name: `small-${run}`, url: shared.url, token });
      // A teammate's fresh laptop pulls what was pushed: nothing of it is there yet.
      const puller = await startServerProcess({ TRAINYARD_DATA_DIR: join(scratch, `puller-${run}`), TRAINYARD_DEMO_DATA: 'off' });
      processes.push(puller);
      const pullerClient = createTrainyardClient({ url: puller.url, token: puller.token });
      await pullerClient.sync.addRemote.mutate({ name: 'team', url: shared.url, token });
      for (const dataset of DATASETS) {
        const dir = join(scratch, dataset.name);
        const measured = times.get(dataset.name) as Times;
        measured.push.push(await settled(() => timedTransfer(client, 'push', `small-${run}`, dataset.name)));
        measured.pull.push(await settled(() => timedTransfer(pullerClient, 'pull', 'team', dataset.name)));
        const rcloneTarget = `bench:${s3.bucket}/rclone-${dataset.name}-${run}`;
        measured.rcloneUp.push(await settled(() => timeCommand('rclone', ['copy', '--transfers', '32', dir, rcloneTarget], rclone)));
        const rcloneDown = join(scratch, `rclone-down-${run}`);
        measured.rcloneDown.push(await settled(() => timeCommand('rclone', ['copy', '--transfers', '32', rcloneTarget, rcloneDown], rclone)));
        const awsTarget = `s3://${s3.bucket}/aws-${dataset.name}-${run}/`;
        measured.awsUp.push(
          await settled(() => timeCommand('aws', ['--endpoint-url', s3.endpoint, 's3', 'sync', dir, awsTarget, '--only-show-errors'], credentials)),
        );
        const awsDown = join(scratch, `aws-down-${run}`);
        measured.awsDown.push(
          await settled(() => timeCommand('aws', ['--endpoint-url', s3.endpoint, 's3', 'sync', awsTarget, awsDown, '--only-show-errors'], credentials)),
        );
        for (const down of [rcloneDown, awsDown]) {
          if (readdirSync(down).length !== dataset.count) throw new Error(`${down} holds ${readdirSync(down).length} files, not ${dataset.count}`);
          rmSync(down, { recursive: true, force: true });
        }
      }
      await stop(puller);
      await stop(shared);
    }
    return DATASETS.flatMap((dataset) => {
      const measured = times.get(dataset.name) as Times;
      return [
        ratioRow(
          `push a version of ${dataset.label} to a shared server on S3`,
          measured.push,
          measured.rcloneUp,
          'rclone copy --transfers 32, same files',
          1.2,
        ),
        ratioRow(`push a version of ${dataset.label}, against aws s3 sync`, measured.push, measured.awsUp, 'aws s3 sync, same files', 1.2),
        ratioRow(`pull a version of ${dataset.label} from a shared server on S3`, measured.pull, measured.rcloneDown, 'rclone copy --transfers 32 down', 1.2),
        ratioRow(`pull a version of ${dataset.label}, against aws s3 sync`, measured.pull, measured.awsDown, 'aws s3 sync down', 1.2),
      ];
    });
  } finally {
    for (const server of processes.splice(0)) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await s3.stop();
    await postgres.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
};
