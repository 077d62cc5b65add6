import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { slurmUnavailableReason, startServerProcess, startSlurm, type SlurmTestCluster } from '@trainyard/test-services';
import type { BenchRow } from './bench-row';
import { median } from './stats';

const execFileAsync = promisify(execFile);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const QUEUED = Number(process.env['BENCH_SLURM_JOBS'] ?? 200);
const POLL_SECONDS = 1;

/** A trainer that notes when it started and when it is about to exit (epoch ms), in its job directory and on fd 3. */
const TRAINER = `const fs = require('fs');
const out = process.argv[2] || process.env.TRAINYARD_JOB_DIR;
const stamp = (what) => fs.appendFileSync(out + '/stamps', what + ' ' + Date.now() + '\\n');
stamp('start');
try { fs.writeSync(3, JSON.stringify({ type: 'log', level: 'info', message: 'started' }) + '\\n'); } catch {}
setTimeout(() => { stamp('exit'); process.exit(0); }, 500);`;

const stamps = (dir: string): { start: number; exit: number } => {
  const lines = readFileSync(join(dir, 'stamps'), 'utf8').trim().split('\n');
  const at = (what: string): number => Number(lines.find((line) => line.startsWith(`${what} `))?.split(' ')[1]);
  return { start: at('start'), exit: at('exit') };
};

const untilFinished = async (client: TrainyardClient, id: string): Promise<{ status: string; at: number }> => {
  for (;;) {
    const job = await client.jobs.get.query({ id });
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return { status: job.status, at: Date.now() };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const sdiagCounts = (cluster: SlurmTestCluster): string => {
  const text = execFileSync('sdiag', [], { env: { ...process.env, ...cluster.env }, encoding: 'utf8' });
  const count = (name: string): string => new RegExp(`${name}\\s+\\(\\s*\\d+\\)\\s+count:(\\d+)`).exec(text)?.[1] ?? '?';
  return `sdiag: REQUEST_JOB_INFO ${count('REQUEST_JOB_INFO')}, REQUEST_SUBMIT_BATCH_JOB ${count('REQUEST_SUBMIT_BATCH_JOB')}, REQUEST_JOB_INFO_SINGLE ${count('REQUEST_JOB_INFO_SINGLE')}`;
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/**
 * Jobs on a real single-node Slurm: the overhead Trainyard adds per job (from jobs.create to the
 * trainer's start, and from its exit to `succeeded`) against the same trainer submitted with
 * `sbatch --wait` in the same run; then QUEUED jobs through one server, counting its squeue
 * calls (a counting squeue first on its PATH) and slurmctld's RPCs (sdiag).
 */
export const slurmBench = async (): Promise<BenchRow[]> => {
  const unavailable = slurmUnavailableReason();
  if (unavailable) return [{ benchmark: 'Slurm executor', value: `skipped: ${unavailable}`, target: '—', pass: false }];
  const root = mkdtempSync(join(tmpdir(), 'trainyard-bench-slurm-'));
  const cluster = await startSlurm();
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const squeueLog = join(root, 'squeue.calls');
  const realSqueue = execFileSync('which', ['squeue'], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, 'squeue'), `#!/bin/sh\necho call >> ${squeueLog}\nexec ${realSqueue} "$@"\n`);
  chmodSync(join(bin, 'squeue'), 0o755);
  const trainerPath = join(root, 'trainer.cjs');
  writeFileSync(trainerPath, TRAINER);
  const server = await startServerProcess({
    TRAINYARD_DATA_DIR: join(root, 'data'),
    TRAINYARD_DEMO_DATA: 'off',
    TRAINYARD_SLURM: 'on',
    TRAINYARD_SHARED_DIR: join(root, 'shared'),
    TRAINYARD_SLURM_POLL_SECONDS: String(POLL_SECONDS),
    TRAINYARD_SLURM_JOBCOMP_LOG: cluster.jobCompLog,
    PATH: `${bin}:${process.env['PATH'] ?? ''}`,
    ...cluster.env,
  });
  const client = createTrainyardClient({ url: server.url, token: server.token });
  try {
    const oursStart: number[] = [];
    const oursEnd: number[] = [];
    const rawStart: number[] = [];
    const rawEnd: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const created = Date.now();
      const job = await client.jobs.create.mutate({
        name: `overhead-${run}`,
        executor: 'slurm',
        trainer: { kind: 'command', command: [process.execPath, trainerPath] },
      });
      const finished = await untilFinished(client, job.id);
      if (finished.status !== 'succeeded') throw new Error(`job ${job.id} ${finished.status}`);
      const ours = stamps(join(root, 'shared', 'jobs', job.id));
      oursStart.push(ours.start - created);
      oursEnd.push(finished.at - ours.exit);

      const rawDir = join(root, `raw-${run}`);
      mkdirSync(rawDir);
      const submitted = Date.now();
      await execFileAsync('sbatch', ['--wait', '--quiet', `--output=${join(rawDir, 'out')}`, '--wrap', `${process.execPath} ${trainerPath} ${rawDir}`], {
        env: { ...process.env, ...cluster.env },
      });
      const returned = Date.now();
      const raw = stamps(rawDir);
      rawStart.push(raw.start - submitted);
      rawEnd.push(returned - raw.exit);
    }
    const added = median(oursStart) + median(oursEnd) - (median(rawStart) + median(rawEnd));

    // Many queued jobs through one orchestrator: every one followed by the same squeue poll.
    execFileSync('sdiag', ['--reset'], { env: { ...process.env, ...cluster.env } });
    writeFileSync(squeueLog, '');
    const began = Date.now();
    const jobs = await Promise.all(
      Array.from({ length: QUEUED }, (_unused, index) =>
        client.jobs.create.mutate({ name: `queued-${index}`, executor: 'slurm', trainer: { kind: 'command', command: ['/bin/true'] } }),
      ),
    );
    const outcomes = await Promise.all(jobs.map((job) => untilFinished(client, job.id)));
    const took = Date.now() - began;
    const succeeded = outcomes.filter((outcome) => outcome.status === 'succeeded').length;
    const squeueCalls = readFileSync(squeueLog, 'utf8').split('\n').filter(Boolean).length;
    const polls = took / (POLL_SECONDS * 1_000);
    return [
      {
        benchmark: 'Slurm job overhead: jobs.create → trainer started, and trainer exit → succeeded (poll 1 s)',
        value: `${seconds(median(oursStart))} + ${seconds(median(oursEnd))}`,
        baseline: `${seconds(median(rawStart))} + ${seconds(median(rawEnd))} (sbatch --wait, same trainer)`,
        // sbatch --wait notices the end by polling (every few seconds): it can be the slower one.
        ratio: `${added >= 0 ? '+' : '−'}${seconds(Math.abs(added))}`,
        target: '≤ 1.5 s added',
        pass: added <= 1_500,
      },
      {
        benchmark: `${QUEUED} queued Slurm jobs through one server: all succeeded, squeue calls`,
        value: `${succeeded}/${QUEUED} in ${seconds(took)}; ${squeueCalls} squeue calls`,
        baseline: `${polls.toFixed(0)} polls of ${POLL_SECONDS} s in that time; ${sdiagCounts(cluster)}`,
        ratio: `${(squeueCalls / Math.max(1, polls)).toFixed(2)} calls/poll`,
        target: 'one squeue call per poll, for all jobs',
        pass: succeeded === QUEUED && squeueCalls <= polls * 1.1 + 2,
      },
    ];
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await cluster.stop();
    rmSync(root, { recursive: true, force: true });
  }
};
