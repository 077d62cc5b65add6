import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newId } from '@trainyard/core';
import { createTrainyardClient } from '@trainyard/client';
import { startServerProcess } from '@trainyard/test-services';
import { createMetricsStore, startLocalExecution } from '@trainyard/training';
import type { BenchRow } from './bench-row';
import { median, repeat, timeMs } from './stats';

const flooder = fileURLToPath(new URL('../../libs/training/src/test-fixtures/metric-flood-trainer.mjs', import.meta.url));

const ingest = async (root: string, points: number): Promise<{ seconds: number; worstBlockMs: number; stored: number }> => {
  const store = createMetricsStore(join(root, 'metrics'));
  const jobId = newId();
  const writer = await store.writer(jobId);
  const jobDir = join(root, 'jobs', jobId);
  mkdirSync(jobDir, { recursive: true });
  const started = performance.now();
  const execution = startLocalExecution({
    jobDir,
    command: [process.execPath, flooder, String(points)],
    env: { PATH: process.env['PATH'] },
    graceMs: 1_000,
    onEvent(event) {
      if (event.type === 'metrics') for (const [name, step, value] of event.points) writer.append(name, step, value);
    },
    onBadEvent: () => undefined,
  });
  await execution.done;
  await writer.flush();
  const seconds = (performance.now() - started) / 1000;
  const report = JSON.parse(execFileSync('tail', ['-n', '1', join(jobDir, 'logs', 'stdout.log')], { encoding: 'utf8' })) as { worstBlockMs: number };
  const stored = (await store.read(jobId, ['loss'], 10))['loss']?.total ?? 0;
  return { seconds, worstBlockMs: report.worstBlockMs, stored };
};

export const trainingBench = async (): Promise<BenchRow[]> => {
  const root = mkdtempSync(join(tmpdir(), 'trainyard-bench-training-'));
  try {
    const runs = [];
    for (let i = 0; i < 3; i += 1) runs.push(await ingest(join(root, `ingest-${i}`), 2_000_000));
    const rates = runs.map((r) => r.stored / r.seconds);
    const worst = Math.max(...runs.map((r) => r.worstBlockMs));

    const store = createMetricsStore(join(root, 'query'));
    const jobId = newId();
    const writer = await store.writer(jobId);
    for (let step = 0; step < 1_000_000; step += 1) writer.append('loss', step, Math.sin(step / 5_000) + Math.random() * 0.1);
    await writer.flush();
    const query = await repeat(10, () => timeMs(() => store.read(jobId, ['loss'], 2_000)));

    // 1 000 trivial jobs queued while the orchestrator is off, then a server start with it on;
    // overhead per job = wall time / jobs − the cost of spawning the trainer itself.
    const JOBS = 1_000;
    const env = { TRAINYARD_DATA_DIR: join(root, 'server'), TRAINYARD_JOB_CONCURRENCY: '1' };
    const queueing = await startServerProcess({ ...env, TRAINYARD_ORCHESTRATOR: 'off' });
    const client = createTrainyardClient({ url: queueing.url, token: queueing.token });
    for (let i = 0; i < JOBS; i += 1) await client.jobs.create.mutate({ name: `trivial-${i}`, trainer: { kind: 'command', command: ['/bin/true'] } });
    queueing.child.kill('SIGTERM');
    await queueing.exited;
    const bare = await timeMs(async () => {
      for (let i = 0; i < 100; i += 1) execFileSync('/bin/true');
    });
    const running = await startServerProcess({ ...env, TRAINYARD_ORCHESTRATOR: 'on' });
    const worker = createTrainyardClient({ url: running.url, token: running.token });
    const started = performance.now();
    let failed = 0;
    for (;;) {
      const queued = await worker.jobs.list.query({ status: 'queued', limit: 1 });
      const active = await worker.jobs.list.query({ status: 'running', limit: 1 });
      const validating = await worker.jobs.list.query({ status: 'validating', limit: 1 });
      if (queued.items.length + active.items.length + validating.items.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const wall = performance.now() - started;
    failed = (await worker.jobs.list.query({ status: 'failed', limit: 200 })).items.length;
    running.child.kill('SIGTERM');
    await running.exited;
    const perJob = wall / JOBS - bare / 100;

    return [
      {
        benchmark: 'metric ingest from a trainer emitting as fast as it can (2 M points, batched lines on fd 3)',
        value: `${Math.round(median(rates)).toLocaleString('en')} points/s; trainer blocked ≤ ${worst.toFixed(1)} ms`,
        target: '≥ 500 000 points/s; never blocked more than a few ms',
        pass: median(rates) >= 500_000 && worst <= 10,
      },
      {
        benchmark: 'jobs.metrics: downsample 1 000 000 points to 2 000',
        value: `${median(query).toFixed(1)} ms`,
        target: '≤ 100 ms',
        pass: median(query) <= 100,
      },
      {
        benchmark: `orchestrator overhead per job (queue → spawn → exit → succeeded), ${JOBS} queued /bin/true jobs`,
        value: `${perJob.toFixed(1)} ms${failed > 0 ? ` (${failed} failed!)` : ''}`,
        baseline: `${(bare / 100).toFixed(1)} ms (spawning /bin/true alone)`,
        target: '≤ 50 ms + 50 ms',
        pass: perJob <= 100 && failed === 0,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
