import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { isFinishedJobStatus, type ReproductionOutput } from '@trainyard/contracts';
import { syntheticPairs } from '@trainyard/trainers';
import { postgresUnavailableReason, runCli, startPostgresServer, startServerProcess, type ServerProcess } from '@trainyard/test-services';
import { createWriteToken, startS3Process } from './bench-helpers';
import type { BenchRow } from './bench-row';
import { median } from './stats';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const PAIRS = 5_000;
const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };

const trainOnLaptop = async (server: ServerProcess, client: TrainyardClient): Promise<void> => {
  const imported = await fetch(`${server.url}/import/training-data`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/x-ndjson' },
    body: syntheticPairs(PAIRS, 7)
      .map((pair) => JSON.stringify(pair))
      .join('\n'),
  });
  if (!imported.ok) throw new Error(`import answered ${imported.status}`);
  const snapshot = await client.datasets.createSnapshot.mutate({ name: 'bench', validationFraction: 0.2 });
  const job = await client.jobs.create.mutate({
    name: 'bench-detector',
    datasetSnapshotId: snapshot.id,
    trainer: { kind: 'builtin', name: 'text-detector' },
    hyperparameters: { epochs: 2, hashBits: 16 },
    targetModel: 'detector',
  });
  for (;;) {
    const { status, error } = await client.jobs.get.query({ id: job.id });
    if (status === 'succeeded') return;
    if (isFinishedJobStatus(status)) throw new Error(`training ${status}: ${error ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

/**
 * `trainyard reproduce detector@1 --remote team` on a fresh data directory each run (so the pull
 * of the version and its snapshot is part of it), the real CLI against a server process: its
 * wall time minus the reproduction job's own run time (started → finished) is what reproducing
 * adds to training — the pull, the identity checks, queueing, following and the report.
 */
export const reproduceBench = async (): Promise<BenchRow[]> => {
  const unavailable = postgresUnavailableReason();
  if (unavailable) return [{ benchmark: 'reproduce overhead beyond the training', value: `skipped: ${unavailable}`, target: '≤ 2 s', pass: false }];
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-reproduce-'));
  const postgres = await startPostgresServer();
  const s3 = await startS3Process();
  const servers: ServerProcess[] = [];
  try {
    const databaseUrl = await postgres.createDatabase('bench_reproduce');
    const shared = await startServerProcess({
      TRAINYARD_DATA_DIR: join(scratch, 'shared'),
      DATABASE_URL: databaseUrl,
      ARTIFACT_STORE: `s3://${s3.bucket}/reproduce`,
      S3_ENDPOINT: s3.endpoint,
      ...credentials,
    });
    servers.push(shared);
    const token = await createWriteToken(databaseUrl, 'bench');

    const laptop = await startServerProcess({ TRAINYARD_DATA_DIR: join(scratch, 'laptop'), TRAINYARD_DEMO_DATA: 'off' });
    servers.push(laptop);
    const laptopClient = createTrainyardClient({ url: laptop.url, token: laptop.token });
    process.stderr.write(`  training text-detector on ${PAIRS} pairs and pushing it…\n`);
    await trainOnLaptop(laptop, laptopClient);
    await laptopClient.sync.addRemote.mutate({ name: 'team', url: shared.url, token });
    const push = runCli(['push', 'detector@1', '--remote', 'team'], { TRAINYARD_DATA_DIR: join(scratch, 'laptop') });
    if ((await push.exited) !== 0) throw new Error(`push failed: ${push.output()}`);

    const totals: number[] = [];
    const trainings: number[] = [];
    const overheads: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const dataDir = join(scratch, `teammate-${run}`);
      const teammate = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off' });
      servers.push(teammate);
      const client = createTrainyardClient({ url: teammate.url, token: teammate.token });
      await client.sync.addRemote.mutate({ name: 'team', url: shared.url, token });
      const started = performance.now();
      const reproduce = runCli(['reproduce', 'detector@1', '--remote', 'team', '--json'], { TRAINYARD_DATA_DIR: dataDir });
      const code = await reproduce.exited;
      const total = performance.now() - started;
      const output = reproduce.output();
      if (code !== 0) throw new Error(`reproduce exited ${code}: ${output}`);
      const { report } = JSON.parse(output.slice(output.indexOf('{'))) as { report: ReproductionOutput };
      if (!report.identical) throw new Error(`reproduction not byte-identical: ${report.verdict}`);
      const job = await client.jobs.get.query({ id: report.jobId });
      const training = (job.finishedAt?.getTime() ?? NaN) - (job.startedAt?.getTime() ?? NaN);
      totals.push(total);
      trainings.push(training);
      overheads.push(total - training);
      process.stderr.write(`  run ${run + 1}: reproduce ${(total / 1000).toFixed(2)} s, its job ${(training / 1000).toFixed(2)} s\n`);
    }
    const overhead = median(overheads) / 1000;
    return [
      {
        benchmark: `reproduce overhead beyond the training: \`trainyard reproduce detector@1 --remote team\` on a fresh data dir (pull of version + ${PAIRS}-pair snapshot, checks, report) minus its job's run time`,
        value: `${overhead.toFixed(2)} s`,
        baseline: `whole reproduce ${(median(totals) / 1000).toFixed(2)} s, its job ${(median(trainings) / 1000).toFixed(2)} s`,
        target: '≤ 2 s',
        pass: overhead <= 2,
      },
    ];
  } finally {
    for (const server of servers.splice(0).reverse()) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await s3.stop();
    await postgres.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
};
