import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient } from '@trainyard/client';
import { loadS3BlobStore } from '@trainyard/artifacts';
import { postgresUnavailableReason, startPostgresServer, startServerProcess, type ServerProcess } from '@trainyard/test-services';
import { awsAvailable, createWriteToken, ratioRow, startS3Process, timeCommand, timedTransfer } from './bench-helpers';
import type { BenchRow } from './bench-row';
import { median, timeMs } from './stats';
import { syncSmallFilesBench } from './sync-small-files.bench';

const GIB = 1024 ** 3;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };

const writeRandomFile = async (path: string, bytes: number): Promise<string> => {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += 8 * 1024 * 1024) {
    const chunk = randomBytes(Math.min(8 * 1024 * 1024, bytes - written));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return hash.digest('hex');
};

/** Reads an object back through SHA-256 the way a shared server verifies an upload. */
const timeReadBack = async (s3: { endpoint: string; bucket: string }, Key: string, concurrency: number): Promise<number> => {
  const { createS3Client, readRangesInOrder } = await loadS3BlobStore();
  process.env['AWS_ACCESS_KEY_ID'] = credentials.AWS_ACCESS_KEY_ID;
  process.env['AWS_SECRET_ACCESS_KEY'] = credentials.AWS_SECRET_ACCESS_KEY;
  const client = createS3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });
  try {
    return await timeMs(async () => {
      const hash = createHash('sha256');
      for await (const chunk of readRangesInOrder(client, { Bucket: s3.bucket, Key, expectedSize: GIB, rangeSize: 8 * 1024 * 1024, concurrency }))
        hash.update(chunk);
      hash.digest('hex');
    });
  } finally {
    client.destroy();
  }
};

const putFile = async (server: ServerProcess, path: string, hash: string): Promise<void> => {
  const response = await fetch(`${server.url}/blobs/sha256/${hash}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(path).size) },
    body: createReadStream(path) as unknown as RequestInit['body'],
    duplex: 'half',
  } as RequestInit);
  if (!response.ok) throw new Error(`PUT ${response.status}`);
};

/**
 * Push of one 1 GiB artifact to a shared server (PostgreSQL + s3rver, each shared server a separate process)
 * from a local server process, against `aws s3 cp` / `aws s3 sync` to the same S3 server.
 * Every run pushes to a fresh shared server (new database, new key prefix), so nothing is skipped.
 */
const syncLargeBench = async (): Promise<BenchRow[]> => {
  const unavailable = postgresUnavailableReason() ?? (awsAvailable() ? undefined : 'aws CLI not installed');
  if (unavailable) return [{ benchmark: 'push to a shared server', value: `skipped: ${unavailable}`, target: '—', pass: false }];
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-sync-'));
  const postgres = await startPostgresServer();
  const s3 = await startS3Process();
  const servers: ServerProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const server of servers.splice(0)) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  };
  try {
    const laptop = await startServerProcess({ TRAINYARD_DATA_DIR: join(scratch, 'laptop'), TRAINYARD_DEMO_DATA: 'off' });
    servers.push(laptop);
    const client = createTrainyardClient({ url: laptop.url, token: laptop.token });

    process.stderr.write('  preparing a 1 GiB version…\n');
    const bigFile = join(scratch, 'model.bin');
    const bigHash = await writeRandomFile(bigFile, GIB);
    await putFile(laptop, bigFile, bigHash);
    await client.models.register.mutate({ name: 'big' });
    const big = await client.artifacts.register.mutate({ sha256: bigHash, name: 'model.bin', type: 'model' });
    await client.models.createVersion.mutate({ model: 'big', artifactIds: [big.id] });

    const bigPush: number[] = [];
    const secondPush: number[] = [];
    const awsCp: number[] = [];
    const awsCpAndVerify: number[] = [];
    const readBackStream: number[] = [];
    const readBackRanges: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      process.stderr.write(`  run ${run + 1} of ${RUNS}\n`);
      const databaseUrl = await postgres.createDatabase(`bench_shared_${run}`);
      const shared = await startServerProcess({
        TRAINYARD_DATA_DIR: join(scratch, `shared-${run}`),
        DATABASE_URL: databaseUrl,
        ARTIFACT_STORE: `s3://${s3.bucket}/shared-${run}`,
        S3_ENDPOINT: s3.endpoint,
        ...credentials,
      });
      servers.push(shared);
      const token = await createWriteToken(databaseUrl, `bench-${run}`);
      for (const name of [`team-${run}`, `again-${run}`]) await client.sync.addRemote.mutate({ name, url: shared.url, token });

      bigPush.push(await timedTransfer(client, 'push', `team-${run}`, 'big'));
      // The same version through another remote name for the same shared server: negotiation finds
      // every blob present and the shared server answers with the version it already has.
      secondPush.push(await timedTransfer(client, 'push', `again-${run}`, 'big'));
      const awsObject = `s3://${s3.bucket}/aws-${run}/model.bin`;
      awsCp.push(await timeCommand('aws', ['--endpoint-url', s3.endpoint, 's3', 'cp', bigFile, awsObject, '--only-show-errors'], credentials));
      // The verification a push does, by the raw tools: the object back through sha256sum.
      const readBack = await timeCommand(
        'bash',
        ['-c', `set -o pipefail; aws --endpoint-url ${s3.endpoint} s3 cp ${awsObject} - --only-show-errors | sha256sum >/dev/null`],
        credentials,
      );
      awsCpAndVerify.push((awsCp.at(-1) ?? 0) + readBack);
      // The shared server's verifying read-back alone, as one stream and as 4 parallel ranges.
      for (const [concurrency, times] of [
        [1, readBackStream],
        [4, readBackRanges],
      ] as const) {
        times.push(await timeReadBack(s3, `aws-${run}/model.bin`, concurrency));
      }
      shared.child.kill('SIGTERM');
      await shared.exited;
      servers.splice(servers.indexOf(shared), 1);
    }
    return [
      ratioRow(
        'push a version with one 1 GiB artifact to a shared server on S3 (presigned multipart, verified)',
        bigPush,
        awsCpAndVerify,
        'aws s3 cp up, then aws s3 cp back | sha256sum: the same work',
        1.15,
      ),
      ratioRow(
        'verifying read-back of the 1 GiB object as one stream (the default with S3_ENDPOINT)',
        readBackStream,
        readBackRanges,
        '4 parallel 8 MiB ranged GETs hashed in order',
        1,
      ),
      ratioRow('the same push against the upload alone (for reference: the push also verifies)', bigPush, awsCp, 'aws s3 cp up only', 1.2),
      {
        benchmark: 'second push of the same version (nothing uploaded)',
        value: `${median(secondPush).toFixed(0)} ms`,
        target: '≤ 1 s',
        pass: median(secondPush) <= 1_000,
      },
    ];
  } finally {
    await stopAll();
    await s3.stop();
    await postgres.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
};

/**
 * The sync suite: one 1 GiB artifact, then many small files (sync-small-files.bench.ts).
 * BENCH_SYNC_PART=large or =small runs only that half (the other takes minutes).
 */
export const syncBench = async (): Promise<BenchRow[]> => {
  const part = process.env['BENCH_SYNC_PART'];
  return [...(part === 'small' ? [] : await syncLargeBench()), ...(part === 'large' ? [] : await syncSmallFilesBench())];
};
