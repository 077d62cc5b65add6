import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import {
  isProcessAlive,
  rawRequest,
  runCli,
  type ServerProcess,
  slurmUnavailableReason,
  sshdUnavailableReason,
  startServerProcess,
  startSlurm,
  startSshd,
  type SlurmTestCluster,
} from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Jobs on a real single-node Slurm (tools/test-services/slurm.ts): the server submits batch
// scripts with sbatch, follows them with squeue and their events file on the "shared"
// filesystem (a temp dir), and is killed and restarted mid-job. The node has 2 CPUs: the tests
// run one after another.

const skip = slurmUnavailableReason();
const root = mkdtempSync(join(tmpdir(), 'trainyard-slurm-jobs-'));
const sharedDir = join(root, 'shared');
const dataDir = join(root, 'data');
const scripts = join(root, 'trainers');
let cluster: SlurmTestCluster;
let server: ServerProcess;
let client: TrainyardClient;

const serverEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  TRAINYARD_DATA_DIR: dataDir,
  TRAINYARD_DEMO_DATA: 'off',
  TRAINYARD_SLURM: 'on',
  TRAINYARD_SHARED_DIR: sharedDir,
  TRAINYARD_SLURM_POLL_SECONDS: '0.5',
  TRAINYARD_SLURM_JOBCOMP_LOG: cluster.jobCompLog,
  TRAINYARD_CANCEL_GRACE_SECONDS: '2',
  ...cluster.env,
  ...extra,
});
const startServer = async (extra: Record<string, string> = {}): Promise<void> => {
  server = await startServerProcess(serverEnv(extra));
  client = createTrainyardClient({ url: server.url, token: server.token });
};
const stopServer = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
  server.child.kill(signal);
  await server.exited;
};

/** A trainer script (Node, no dependencies) written for a test; `emit` writes an event to fd 3. */
const trainer = (name: string, source: string): string[] => {
  const path = join(scripts, `${name}.cjs`);
  writeFileSync(path, `const fs = require('fs'); const path = require('path'); const emit = (e) => fs.writeSync(3, JSON.stringify(e) + '\\n');\n${source}`);
  return [process.execPath, path];
};

const waitForJob = (id: string, done: (job: Awaited<ReturnType<TrainyardClient['jobs']['get']['query']>>) => boolean, timeout = 60_000) =>
  vi.waitFor(
    async () => {
      const job = await client.jobs.get.query({ id });
      if (!done(job)) throw new Error(`job ${id}: ${job.status} ${JSON.stringify(job.scheduler)} ${job.error ?? ''}`);
      return job;
    },
    { timeout, interval: 200 },
  );
const finished = (job: { status: string }): boolean => ['succeeded', 'failed', 'cancelled'].includes(job.status);

/** Slurm jobs of ours for a Trainyard job: its submissions, as the cluster's completion log and queue know them. */
const submissionsOf = (jobId: string): string[] => {
  const logged = existsSync(cluster.jobCompLog)
    ? readFileSync(cluster.jobCompLog, 'utf8')
        .split('\n')
        .filter((line) => line.includes(`Name=trainyard-${jobId}-`))
        .map((line) => /JobId=(\d+)/.exec(line)?.[1] ?? '')
    : [];
  const queued = execFileSync('squeue', ['-h', '-o', '%i %j'], { env: { ...process.env, ...cluster.env }, encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(`trainyard-${jobId}-`))
    .map((line) => line.split(' ')[0] ?? '');
  return [...new Set([...logged, ...queued])];
};

describe.skipIf(skip)(`jobs on Slurm${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    mkdirSync(scripts, { recursive: true });
    cluster = await startSlurm();
    await startServer();
  }, 120_000);
  afterAll(async () => {
    await stopServer().catch(() => undefined);
    await cluster?.stop();
    if (!process.env['KEEP_SLURM_TEST']) rmSync(root, { recursive: true, force: true });
    else console.log('kept', root);
  });

  it('runs a command trainer as a Slurm batch job: events, metrics, its model registered as a version, the Slurm job id on the job', async () => {
    const job = await client.jobs.create.mutate({
      name: 'slurm-command',
      executor: 'slurm',
      trainer: {
        kind: 'command',
        command: trainer(
          'ok',
          `emit({ type: 'progress', fraction: 0.5, message: 'half' });
           emit({ type: 'metric', name: 'val_accuracy', step: 1, value: 0.93 });
           fs.writeFileSync(path.join(process.env.TRAINYARD_JOB_DIR, 'output', 'model', 'model.txt'), 'weights of ' + process.env.TRAINYARD_SCHEDULER + ' job ' + process.env.TRAINYARD_SCHEDULER_JOB_ID);`,
        ),
      },
      resources: { cpus: 1, memoryMb: 256, timeoutSeconds: 120 },
      targetModel: 'slurm-model',
      validation: [{ metric: 'val_accuracy', op: '>=', value: 0.9 }],
    });
    const done = await waitForJob(job.id, finished);
    expect(done).toMatchObject({ status: 'succeeded', executor: 'slurm', scheduler: { kind: 'slurm', state: 'COMPLETED', reason: null } });
    const slurmJobId = done.scheduler?.jobId ?? '';
    expect(slurmJobId).toMatch(/^\d+$/);
    expect(submissionsOf(job.id)).toEqual([slurmJobId]);
    // The job directory lives on the shared filesystem, and the version holds what the trainer wrote there.
    expect(readFileSync(join(sharedDir, 'jobs', job.id, 'output', 'model', 'model.txt'), 'utf8')).toBe(`weights of slurm job ${slurmJobId}`);
    const versions = await client.models.listVersions.query({ model: 'slurm-model' });
    expect(versions.items).toHaveLength(1);
    const metrics = await client.jobs.metrics.query({ jobId: job.id });
    expect(metrics['val_accuracy']?.value).toEqual([0.93]);
  }, 90_000);

  it('runs the built-in trainer on the node from the installed project, on its snapshot copied into the shared directory', async () => {
    const imported = await rawRequest(`${server.url}/import/training-data`, {
      method: 'POST',
      headers: { host: new URL(server.url).host, authorization: `Bearer ${server.token}`, 'content-type': 'application/x-ndjson' },
      body: syntheticPairs(400, 5)
        .map((pair) => JSON.stringify(pair))
        .join('\n'),
    });
    expect(JSON.parse(imported.body)).toMatchObject({ imported: 400 });
    const snapshot = await client.datasets.createSnapshot.mutate({ name: 'slurm-pairs', validationFraction: 0.2, seed: 1 });
    const job = await client.jobs.create.mutate({
      name: 'slurm-builtin',
      executor: 'slurm',
      datasetSnapshotId: snapshot.id,
      trainer: { kind: 'builtin', name: 'text-detector' },
      hyperparameters: { epochs: 2, hashBits: 12 },
      targetModel: 'slurm-detector',
    });
    expect(await waitForJob(job.id, finished, 120_000)).toMatchObject({ status: 'succeeded', scheduler: { state: 'COMPLETED' } });
    // The channels are files of the shared directory (hard links within it), not links into the data dir.
    const train = join(sharedDir, 'jobs', job.id, 'input', 'data', 'train', 'data.jsonl');
    expect(readFileSync(train, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThan(0);
    expect(execFileSync('find', [join(sharedDir, 'jobs', job.id), '-type', 'l'], { encoding: 'utf8' })).toBe('');
    expect((await client.models.listVersions.query({ model: 'slurm-detector' })).items).toHaveLength(1);
  }, 150_000);

  it('shows Slurm’s pending reason while the node is busy (API and CLI), then runs the job', async () => {
    // Both CPUs taken by someone else's job.
    const filler = execFileSync('sbatch', ['--parsable', '--cpus-per-task=2', '--output=/dev/null', '--wrap', 'sleep 60'], {
      env: { ...process.env, ...cluster.env },
      encoding: 'utf8',
    }).trim();
    try {
      const job = await client.jobs.create.mutate({
        name: 'slurm-waits',
        executor: 'slurm',
        trainer: { kind: 'command', command: trainer('quick', `emit({ type: 'log', level: 'info', message: 'ran' });`) },
        resources: { cpus: 1 },
      });
      const pending = await waitForJob(job.id, (j) => j.scheduler?.state === 'PENDING' && j.scheduler.reason === 'Resources', 30_000);
      expect(pending.status).toBe('running');
      const shown = runCli(['jobs', 'show', job.id], { TRAINYARD_URL: server.url, TRAINYARD_TOKEN: server.token });
      expect(await shown.exited).toBe(0);
      expect(shown.output()).toMatch(new RegExp(`scheduler[\\s│|]+slurm ${pending.scheduler?.jobId} PENDING \\(Resources\\)`));
      execFileSync('scancel', [filler.split(';')[0] ?? filler], { env: { ...process.env, ...cluster.env } });
      expect(await waitForJob(job.id, finished)).toMatchObject({ status: 'succeeded' });
    } finally {
      execFileSync('scancel', [filler.split(';')[0] ?? filler], { env: { ...process.env, ...cluster.env } });
    }
  }, 90_000);

  it('cancels a trainer that ignores SIGTERM: scancel after the grace period, the job cancelled, nothing left on the node', async () => {
    const pidFile = join(root, 'stubborn.pid');
    const job = await client.jobs.create.mutate({
      name: 'slurm-stubborn',
      executor: 'slurm',
      trainer: {
        kind: 'command',
        command: trainer(
          'stubborn',
          `process.on('SIGTERM', () => emit({ type: 'log', level: 'info', message: 'ignoring SIGTERM' }));
           fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
           emit({ type: 'log', level: 'info', message: 'up' });
           setInterval(() => {}, 1000);`,
        ),
      },
    });
    await waitForJob(job.id, () => existsSync(pidFile), 30_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(isProcessAlive(pid)).toBe(true);
    await client.jobs.cancel.mutate({ id: job.id });
    expect(await waitForJob(job.id, finished, 60_000)).toMatchObject({ status: 'cancelled' });
    await vi.waitFor(() => expect(isProcessAlive(pid)).toBe(false), { timeout: 30_000, interval: 200 });
    const events = await client.jobs.logs.query({ id: job.id, stream: 'events' });
    expect(events.text).toContain('ignoring SIGTERM');
  }, 90_000);

  it('a trainer that fails: the job fails with the last line of its stderr', async () => {
    const job = await client.jobs.create.mutate({
      name: 'slurm-fails',
      executor: 'slurm',
      trainer: {
        kind: 'command',
        command: trainer(
          'fails',
          `console.error('Traceback (most recent call last):'); console.error('ValueError: learning rate must be positive'); process.exit(2);`,
        ),
      },
    });
    const done = await waitForJob(job.id, finished);
    expect(done).toMatchObject({ status: 'failed', exitCode: 2, scheduler: { state: 'FAILED' } });
    expect(done.error).toMatch(/exited with code 2: ValueError: learning rate must be positive/);
  }, 60_000);

  it('a server killed mid-job and started again re-attaches: the job completes once, never submitted twice', async () => {
    const job = await client.jobs.create.mutate({
      name: 'slurm-restart',
      executor: 'slurm',
      trainer: {
        kind: 'command',
        command: trainer(
          'slow',
          `let step = 0;
           const tick = setInterval(() => {
             step += 1;
             emit({ type: 'metric', name: 'loss', step, value: 1 / step });
             if (step === 16) { clearInterval(tick); fs.writeFileSync(path.join(process.env.TRAINYARD_JOB_DIR, 'output', 'model', 'm.txt'), 'done'); }
           }, 500);`,
        ),
      },
      targetModel: 'slurm-restarted',
    });
    await waitForJob(job.id, (j) => j.scheduler?.state === 'RUNNING', 30_000);
    await stopServer('SIGKILL');
    await startServer();
    const done = await waitForJob(job.id, finished, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(submissionsOf(job.id)).toHaveLength(1);
    expect(readdirSync(join(sharedDir, 'jobs', job.id, 'slurm')).filter((name) => name.endsWith('.sbatch'))).toEqual(['attempt-1.sbatch']);
    expect((await client.models.listVersions.query({ model: 'slurm-restarted' })).items).toHaveLength(1);
    // Every step recorded; the ones the first server read before it died at most twice.
    const loss = (await client.jobs.metrics.query({ jobId: job.id }))['loss'];
    expect(new Set(loss?.step)).toEqual(new Set(Array.from({ length: 16 }, (_unused, index) => index + 1)));
  }, 120_000);

  it('a server stopped gracefully leaves the Slurm job running and re-attaches when it starts again', async () => {
    const job = await client.jobs.create.mutate({
      name: 'slurm-detach',
      executor: 'slurm',
      trainer: { kind: 'command', command: trainer('sleeper', `setTimeout(() => emit({ type: 'log', level: 'info', message: 'slept' }), 4000);`) },
    });
    const running = await waitForJob(job.id, (j) => j.scheduler?.state === 'RUNNING', 30_000);
    await stopServer('SIGTERM');
    // The server is gone; the job is still Slurm's.
    expect(submissionsOf(job.id)).toEqual([running.scheduler?.jobId]);
    await startServer();
    expect(await waitForJob(job.id, finished, 60_000)).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(submissionsOf(job.id)).toHaveLength(1);
  }, 120_000);

  it('keeps following jobs through malformed squeue output, and says so in its log', async () => {
    // A squeue first on the server's PATH that answers garbage while a flag file exists.
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    const garbage = join(root, 'garbage.flag');
    const realSqueue = execFileSync('which', ['squeue'], { encoding: 'utf8' }).trim();
    writeFileSync(join(bin, 'squeue'), `#!/bin/sh\nif [ -e ${garbage} ]; then echo 'Lorem|ipsum'; echo '<<<'; exit 0; fi\nexec ${realSqueue} "$@"\n`);
    chmodSync(join(bin, 'squeue'), 0o755);
    writeFileSync(garbage, '');
    await stopServer();
    await startServer({ PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    try {
      const job = await client.jobs.create.mutate({
        name: 'slurm-garbage',
        executor: 'slurm',
        trainer: { kind: 'command', command: trainer('after-garbage', `setTimeout(() => {}, 2000);`) },
      });
      await vi.waitFor(() => expect(server.output()).toMatch(/polling Slurm failed/), { timeout: 20_000, interval: 200 });
      expect((await client.jobs.get.query({ id: job.id })).status).toBe('running');
      rmSync(garbage);
      expect(await waitForJob(job.id, finished, 60_000)).toMatchObject({ status: 'succeeded' });
    } finally {
      rmSync(garbage, { force: true });
      await stopServer();
      await startServer();
    }
  }, 120_000);

  it.skipIf(sshdUnavailableReason())(
    'runs Slurm’s commands on the login node over SSH (TRAINYARD_SLURM_SSH), never the local ones',
    async () => {
      const sshd = await startSshd();
      // Slurm's commands on this server's own PATH refuse to run: only the login node's may.
      const bin = join(root, 'no-local-slurm');
      mkdirSync(bin, { recursive: true });
      for (const command of ['sbatch', 'squeue', 'scontrol', 'scancel', 'sacct']) {
        writeFileSync(join(bin, command), `#!/bin/sh\necho "local ${command} must not run" >&2\nexit 99\n`);
        chmodSync(join(bin, command), 0o755);
      }
      await stopServer();
      await startServer({
        PATH: `${bin}:${process.env['PATH'] ?? ''}`,
        TRAINYARD_SLURM_SSH: `${sshd.user}@${sshd.host}:${sshd.port}`,
        TRAINYARD_SLURM_SSH_KEY: sshd.privateKeyPath,
        TRAINYARD_SLURM_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
      });
      try {
        const job = await client.jobs.create.mutate({
          name: 'slurm-over-ssh',
          executor: 'slurm',
          trainer: { kind: 'command', command: trainer('over-ssh', `emit({ type: 'metric', name: 'loss', step: 1, value: 0.5 });`) },
        });
        expect(await waitForJob(job.id, finished)).toMatchObject({ status: 'succeeded', scheduler: { state: 'COMPLETED' } });
        expect(server.output()).not.toMatch(/must not run/);
        expect(sshd.log()).toMatch(/Accepted publickey/);
      } finally {
        await stopServer();
        await sshd.stop();
        await startServer();
      }
    },
    90_000,
  );

  it('a timed-out job that checkpointed is submitted again and resumes from checkpoints/ (the timeout uses up an attempt)', async () => {
    const job = await client.jobs.create.mutate({
      name: 'slurm-timeout',
      executor: 'slurm',
      maxAttempts: 2,
      resources: { timeoutSeconds: 60 },
      trainer: {
        kind: 'command',
        command: trainer(
          'resumable',
          `const dir = process.env.TRAINYARD_JOB_DIR;
           const saved = path.join(dir, 'checkpoints', 'state.json');
           if (fs.existsSync(saved)) {
             const state = JSON.parse(fs.readFileSync(saved, 'utf8'));
             emit({ type: 'log', level: 'info', message: 'resumed at step ' + state.step + ' in attempt ' + process.env.TRAINYARD_ATTEMPT });
             fs.writeFileSync(path.join(dir, 'output', 'model', 'model.txt'), 'resumed');
             process.exit(0);
           }
           let step = 0;
           const save = (why) => { fs.writeFileSync(saved, JSON.stringify({ step })); emit({ type: 'checkpoint', path: 'checkpoints/state.json', step }); emit({ type: 'log', level: 'info', message: why }); };
           process.on('SIGUSR2', () => save('early warning'));
           process.on('SIGTERM', () => { save('time limit'); process.exit(0); });
           setInterval(() => { step += 1; }, 1000);`,
        ),
      },
    });
    const done = await waitForJob(job.id, finished, 240_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    const events = await client.jobs.logs.query({ id: job.id, stream: 'events' });
    expect(events.text).toMatch(/time limit|early warning/);
    expect(events.text).toMatch(/resumed at step \d+ in attempt 2/);
    expect(submissionsOf(job.id)).toHaveLength(2);
  }, 300_000);
});

describe('without Slurm configured', () => {
  it('refuses a job for the slurm executor and says how to enable it', async () => {
    const local = await startServerProcess({ TRAINYARD_DATA_DIR: join(root, 'plain'), TRAINYARD_DEMO_DATA: 'off' });
    try {
      const plain = createTrainyardClient({ url: local.url, token: local.token });
      const error = await plain.jobs.create
        .mutate({ name: 'nowhere', executor: 'slurm', trainer: { kind: 'command', command: ['/bin/true'] } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'PRECONDITION_FAILED' });
      expect((error as Error).message).toMatch(/slurm executor is not enabled on this server: start it with TRAINYARD_SLURM=on/);
      expect((await plain.jobs.list.query({})).items).toHaveLength(0);
    } finally {
      local.child.kill('SIGTERM');
      await local.exited;
    }
  }, 60_000);
});
