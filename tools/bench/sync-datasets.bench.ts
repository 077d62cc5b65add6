import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { postgresUnavailableReason, startPostgresServer, startServerProcess, type ServerProcess } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { awsAvailable, createWriteToken, ratioRow, startS3Process, timeCommand, timedTransfer } from './bench-helpers';
import type { BenchRow } from './bench-row';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const PAIRS = 100_000;
const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };

/** A version trained on a snapshot of 100 000 pairs, on the laptop; the snapshot's data written to `file` for the peer tool. */
const prepareVersion = async (laptop: ServerProcess, client: TrainyardClient, file: string): Promise<{ bytes: number }> => {
  const body = syntheticPairs(PAIRS, 27)
    .map((pair) => JSON.stringify(pair))
    .join('\n');
  const imported = await fetch(`${laptop.url}/import/training-data`, {
    method: 'POST',
    headers: { authorization: `Bearer ${laptop.token}`, 'content-type': 'application/x-ndjson' },
    body,
  });
  if (!imported.ok) throw new Error(`import answered ${imported.status}: ${await imported.text()}`);
  const snapshot = await client.datasets.createSnapshot.mutate({ name: 'bench-100k' });
  if (snapshot.totalCount !== PAIRS) throw new Error(`the snapshot holds ${snapshot.totalCount} pairs, not ${PAIRS}`);
  const blob = await fetch(`${laptop.url}/blobs/sha256/${snapshot.blobSha256}`, { headers: { authorization: `Bearer ${laptop.token}` } });
  writeFileSync(file, Buffer.from(await blob.arrayBuffer()));
  await client.models.register.mutate({ name: 'with-data' });
  // The version's own files are left out: what is measured is the snapshot's data travelling.
  await client.models.createVersion.mutate({ model: 'with-data', datasetSnapshotId: snapshot.id });
  return { bytes: statSync(file).size };
};

/**
 * Issue #27: push of a version whose dataset snapshot holds 100 000 pairs (~40 MB of JSONL) to a
 * fresh shared server (PostgreSQL + s3rver, separate processes) in each run, against `aws s3 cp`
 * of the same bytes to the same S3 server in the same run. The push also reads the object back
 * through SHA-256 (its verification): the second row compares with that work done by the raw tools.
 */
export const syncDatasetsBench = async (): Promise<BenchRow[]> => {
  const unavailable = postgresUnavailableReason() ?? (awsAvailable() ? undefined : 'aws CLI not installed');
  if (unavailable) return [{ benchmark: 'push a version with its dataset', value: `skipped: ${unavailable}`, target: '—', pass: false }];
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-datasets-'));
  const postgres = await startPostgresServer();
  const s3 = await startS3Process();
  const servers: ServerProcess[] = [];
  try {
    const laptop = await startServerProcess({ TRAINYARD_DATA_DIR: join(scratch, 'laptop'), TRAINYARD_DEMO_DATA: 'off' });
    servers.push(laptop);
    const client = createTrainyardClient({ url: laptop.url, token: laptop.token });
    process.stderr.write(`  preparing a version on a snapshot of ${PAIRS} pairs…\n`);
    const file = join(scratch, 'snapshot.jsonl');
    const { bytes } = await prepareVersion(laptop, client, file);
    process.stderr.write(`  the snapshot's data: ${(bytes / 1e6).toFixed(1)} MB\n`);

    const push: number[] = [];
    const awsCp: number[] = [];
    const awsCpAndVerify: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      process.stderr.write(`  datasets: run ${run + 1} of ${RUNS}\n`);
      const databaseUrl = await postgres.createDatabase(`bench_datasets_${run}`);
      const shared = await startServerProcess({
        TRAINYARD_DATA_DIR: join(scratch, `shared-${run}`),
        DATABASE_URL: databaseUrl,
        ARTIFACT_STORE: `s3://${s3.bucket}/datasets-${run}`,
        S3_ENDPOINT: s3.endpoint,
        ...credentials,
      });
      servers.push(shared);
      const token = await createWriteToken(databaseUrl, `bench-${run}`);
      await client.sync.addRemote.mutate({ name: `team-${run}`, url: shared.url, token });

      push.push(await timedTransfer(client, 'push', `team-${run}`, 'with-data'));
      const snapshots = await createTrainyardClient({ url: shared.url, token }).datasets.list.query({});
      if (snapshots.items[0]?.totalCount !== PAIRS) throw new Error('the shared server does not hold the snapshot after the push');
      const awsObject = `s3://${s3.bucket}/aws-datasets-${run}/snapshot.jsonl`;
      awsCp.push(await timeCommand('aws', ['--endpoint-url', s3.endpoint, 's3', 'cp', file, awsObject, '--only-show-errors'], credentials));
      const readBack = await timeCommand(
        'bash',
        ['-c', `set -o pipefail; aws --endpoint-url ${s3.endpoint} s3 cp ${awsObject} - --only-show-errors | sha256sum >/dev/null`],
        credentials,
      );
      awsCpAndVerify.push((awsCp.at(-1) ?? 0) + readBack);
      shared.child.kill('SIGTERM');
      await shared.exited;
      servers.splice(servers.indexOf(shared), 1);
    }
    const size = `${(bytes / 1e6).toFixed(0)} MB`;
    return [
      ratioRow(
        `push a version with its dataset snapshot (${PAIRS / 1000}k pairs, ${size}) to a shared server on S3`,
        push,
        awsCp,
        'aws s3 cp of the same file, same S3 server',
        1.3,
      ),
      ratioRow(
        'the same push against upload and verification by the raw tools',
        push,
        awsCpAndVerify,
        'aws s3 cp up, then aws s3 cp back through sha256sum',
        1.3,
      ),
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
