import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import type { CreateSweepInput, SweepOutput } from '@trainyard/contracts';
import { freePort, runCli, type ServerProcess, startServerProcess } from '@trainyard/test-services';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Sweeps end to end (docs/sweeps.md): the built server (PGlite) runs each trial as a real job of
// the test objective, a trainer whose loss curve is a known function of its hyperparameters
// (libs/sweeps/src/test-fixtures/objective-trainer.mjs): best at lr 0.01, width 64, curves that
// never cross. Sweeps run one at a time (the machine has 2 cores).

const objective = fileURLToPath(new URL('../../../libs/sweeps/src/test-fixtures/objective-trainer.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'trainyard-sweeps-'));
const dataDir = join(root, 'data');
let server: ServerProcess;
let port: number;
let client: TrainyardClient;

// Two jobs at once (the default is one per two cores), so a sweep's concurrency shows.
const serverEnv = (): Record<string, string> => ({
  TRAINYARD_DATA_DIR: dataDir,
  TRAINYARD_DEMO_DATA: 'off',
  TRAINYARD_JOB_CONCURRENCY: '2',
  PORT: String(port),
});
const start = async (): Promise<void> => {
  server = await startServerProcess(serverEnv());
  client = createTrainyardClient({ url: server.url, token: server.token });
};

const sweepOf = (name: string, overrides: Partial<CreateSweepInput> = {}, base: Record<string, unknown> = {}): CreateSweepInput => ({
  name,
  base: {
    trainer: { kind: 'command', command: [process.execPath, objective] },
    executor: 'local',
    hyperparameters: { steps: 9, stepMs: 120, ...base },
    resources: {},
    checkpoints: { keepLast: 3 },
    validation: [],
    priority: 0,
    maxAttempts: 1,
  },
  method: 'grid',
  parameters: { lr: { values: [0.001, 0.01, 0.1] }, width: { values: [16, 64, 256] } },
  concurrency: 1,
  seed: 42,
  ...overrides,
});

const waitForSweep = (name: string, statuses: string[], timeout = 120_000): Promise<SweepOutput> =>
  vi.waitFor(
    async () => {
      const sweep = await client.sweeps.get.query({ sweep: name });
      if (!statuses.includes(sweep.status)) throw new Error(`sweep ${name} is ${sweep.status}: ${JSON.stringify(sweep.counts)}`);
      return sweep;
    },
    { timeout, interval: 250 },
  );

/** Every job whose name says it is a run of this sweep's trial (`<sweep> #<index>`). */
const jobsOfSweep = async (name: string): Promise<Array<{ id: string; name: string; status: string; error: string | null }>> => {
  const page = await client.jobs.list.query({ limit: 200 });
  return page.items.filter((job) => job.name.startsWith(`${name} #`));
};

describe('sweeps on a local server', () => {
  beforeAll(async () => {
    port = await freePort();
    await start();
  }, 120_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    rmSync(root, { recursive: true, force: true });
  });

  it('a grid with ASHA prunes the trials that cannot win, keeps the best to the end, and each pruned job ends cancelled with the reason pruned', async () => {
    const created = await client.sweeps.create.mutate(
      sweepOf('asha-grid', { earlyStopping: { type: 'asha', metric: 'loss', mode: 'min', gracePeriod: 1, reductionFactor: 3 } }),
    );
    expect(created.resumed).toBe(false);
    expect(created.trials.map((t) => t.overrides)).toHaveLength(9);
    // Live progress, as jobs.events gives it for a job: the sweep as it is, then trials started and pruned, then its end.
    const events: Array<{ type: string; outcome?: string; status?: string }> = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = client.sweeps.events.subscribe(
        { sweep: 'asha-grid' },
        {
          onData: (event) => {
            events.push(event);
            if (event.type === 'status' && event.status === 'finished') {
              subscription.unsubscribe();
              resolve();
            }
          },
          onError: reject,
        },
      );
    });
    expect(events[0]?.type).toBe('snapshot');
    const pruneEvents = events.filter((e) => e.type === 'trial' && e.outcome === 'pruned');
    const sweep = await waitForSweep('asha-grid', ['finished']);
    expect(pruneEvents).toHaveLength(sweep.counts.pruned);
    expect(events.filter((e) => e.type === 'trial' && e.outcome === 'queued').length).toBeGreaterThanOrEqual(8);
    const best = sweep.trials.find((t) => t.overrides['lr'] === 0.01 && t.overrides['width'] === 64);
    expect(best?.outcome).toBe('succeeded');
    // Hand-checked (docs/sweeps.md): at rung 1 the trials of width 256, and those worse than the best so far, go.
    expect(sweep.counts.pruned).toBeGreaterThanOrEqual(5);
    expect(sweep.counts.pruned + sweep.counts.succeeded).toBe(9);
    for (const trial of sweep.trials.filter((t) => t.outcome === 'pruned')) {
      const job = await client.jobs.get.query({ id: trial.jobId ?? '' });
      expect([job.status, job.error]).toEqual(['cancelled', 'pruned']);
      expect(trial.prunedAtRung).not.toBeNull();
      // It stopped soon after the rung that judged it, long before its 9 steps.
      const loss = (await client.jobs.metrics.query({ jobId: job.id, names: ['loss'] }))['loss'];
      expect(loss?.total ?? 0).toBeLessThan(9);
    }
    expect(await jobsOfSweep('asha-grid')).toHaveLength(9);
  }, 180_000);

  it('creating a sweep again by name resumes it; another specification under that name is refused', async () => {
    const again = await client.sweeps.create.mutate(
      sweepOf('asha-grid', { earlyStopping: { type: 'asha', metric: 'loss', mode: 'min', gracePeriod: 1, reductionFactor: 3 } }),
    );
    expect(again.resumed).toBe(true);
    expect(again.status).toBe('finished');
    const refused = await client.sweeps.create.mutate(sweepOf('asha-grid')).catch((e: unknown) => e);
    expect((refused as TRPCClientError<never>).data).toMatchObject({ code: 'CONFLICT' });
    expect((refused as Error).message).toMatch(/A sweep named asha-grid exists with another specification/);
    expect(await jobsOfSweep('asha-grid')).toHaveLength(9);
    // A trial's idempotency key cannot be taken by a caller's job (it would be adopted as the trial).
    const hijack = await client.jobs.create
      .mutate({ name: 'not a trial', trainer: { kind: 'command', command: [process.execPath, objective] }, idempotencyKey: 'sweep:x:y:1' })
      .catch((e: unknown) => e);
    expect((hijack as TRPCClientError<never>).data).toMatchObject({ code: 'BAD_REQUEST' });
    expect((hijack as Error).message).toMatch(/reserved for the trials of sweeps/);
  });

  it('sweeps compare prints the trials side by side: the swept parameters and each metric, as jobs compare does', async () => {
    const env = { TRAINYARD_URL: server.url, TRAINYARD_TOKEN: server.token };
    const run = runCli(['sweeps', 'compare', 'asha-grid', '--value', 'min'], env);
    expect(await run.exited).toBe(0);
    const lines = run.output().trim().split('\n');
    expect(run.output()).toMatch(/│ id\s+│ name\s+│ status\s+│ lr\s+│ width\s+│ loss \(min\)\s+│/);
    expect(lines.filter((line) => /asha-grid #\d/.test(line))).toHaveLength(9);
    expect(run.output()).toMatch(/Same on every job: .*steps=9/);
    const json = runCli(['sweeps', 'compare', 'asha-grid', '--json'], env);
    expect(await json.exited).toBe(0);
    expect((JSON.parse(json.output()) as { differingParameters: string[] }).differingParameters.sort()).toEqual(['lr', 'width']);
  });

  it('retry-failed runs only the failed trials again, each with a new job; the others keep theirs', async () => {
    const flakyDir = join(root, 'flaky');
    rmSync(flakyDir, { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(flakyDir));
    await client.sweeps.create.mutate(
      sweepOf(
        'flaky',
        { parameters: { lr: { values: [0.01] }, width: { values: [16, 64] }, flaky: { values: [true, false] } }, concurrency: 2 },
        { steps: 2, flakyDir },
      ),
    );
    const first = await waitForSweep('flaky', ['finished']);
    expect(first.counts).toMatchObject({ failed: 2, succeeded: 2 });
    const failedBefore = first.trials.filter((t) => t.outcome === 'failed');
    const kept = first.trials.filter((t) => t.outcome === 'succeeded');
    const { retried } = await client.sweeps.retryFailed.mutate({ sweep: 'flaky' });
    expect(retried.sort()).toEqual(failedBefore.map((t) => t.index).sort());
    const second = await waitForSweep('flaky', ['finished']);
    expect(second.counts).toMatchObject({ succeeded: 4, failed: 0 });
    for (const trial of kept) expect(second.trials[trial.index]?.jobId).toBe(trial.jobId);
    for (const trial of failedBefore) {
      expect(second.trials[trial.index]?.jobId).not.toBe(trial.jobId);
      expect(second.trials[trial.index]?.runs).toBe(2);
      // The failed run is kept, with the trainer's reason.
      expect((await client.jobs.get.query({ id: trial.jobId ?? '' })).error).toMatch(/exited with code 3.*flaky configuration/s);
    }
    expect(await jobsOfSweep('flaky')).toHaveLength(6);
    expect((await client.sweeps.retryFailed.mutate({ sweep: 'flaky' })).retried).toEqual([]);
  }, 120_000);

  it('a server killed mid-sweep and restarted: no trial lost, none run twice', async () => {
    await client.sweeps.create.mutate(
      sweepOf('crash', { parameters: { lr: { values: [0.01, 0.1] }, width: { values: [16, 64, 256] } }, concurrency: 2 }, { steps: 8, stepMs: 150 }),
    );
    await vi.waitFor(
      async () => {
        if ((await client.sweeps.get.query({ sweep: 'crash' })).counts.running < 2) throw new Error('trials not running yet');
      },
      { timeout: 30_000, interval: 50 },
    );
    server.child.kill('SIGKILL');
    await server.exited;
    await start();
    const sweep = await waitForSweep('crash', ['finished']);
    expect(sweep.trials).toHaveLength(6);
    expect(new Set(sweep.trials.map((t) => t.configKey)).size).toBe(6);
    const jobs = await jobsOfSweep('crash');
    // One job per trial, each configuration once, whatever the crash interrupted.
    expect(jobs.map((job) => job.name).sort()).toEqual(sweep.trials.map((t) => `crash #${t.index}`).sort());
    expect(sweep.trials.every((t) => t.runs === 1 && t.jobId !== null)).toBe(true);
    expect(sweep.counts.succeeded + sweep.counts.failed).toBe(6);
  }, 180_000);

  it('the CLI starts a sweep from YAML, shows it, cancels it and resumes it by starting it again', async () => {
    const file = join(root, 'sweep.yaml');
    writeFileSync(
      file,
      [
        'name: from-yaml',
        'method: random',
        'maxTrials: 4',
        'concurrency: 1',
        'seed: 7',
        'base:',
        `  trainer: { kind: command, command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(objective)}] }`,
        '  hyperparameters: { steps: 20, stepMs: 150 }',
        'parameters:',
        '  lr: { min: 0.001, max: 0.1, distribution: log-uniform }',
        '  width: { min: 16, max: 256, distribution: int }',
        '',
      ].join('\n'),
    );
    const env = { TRAINYARD_URL: server.url, TRAINYARD_TOKEN: server.token };
    const started = runCli(['sweeps', 'start', file], env);
    expect(await started.exited).toBe(0);
    expect(started.output()).toMatch(/Started sweep from-yaml \([0-9a-f-]{36}\): 4 trials/);
    await vi.waitFor(
      async () => {
        if ((await client.sweeps.get.query({ sweep: 'from-yaml' })).counts.running < 1) throw new Error('not running yet');
      },
      { timeout: 30_000, interval: 50 },
    );
    const status = runCli(['sweeps', 'status', 'from-yaml'], env);
    expect(await status.exited).toBe(0);
    expect(status.output()).toMatch(/Sweep from-yaml .*: running, random, 4 trials/);
    expect(status.output()).toMatch(/"lr":0\.0\d+/);
    const cancelled = runCli(['sweeps', 'cancel', 'from-yaml'], env);
    expect(await cancelled.exited).toBe(0);
    const afterCancel = await waitForSweep('from-yaml', ['cancelled']);
    await vi.waitFor(
      async () => {
        const sweep = await client.sweeps.get.query({ sweep: 'from-yaml' });
        if (sweep.counts.running + sweep.counts.queued > 0) throw new Error('a trial still runs');
      },
      { timeout: 30_000, interval: 100 },
    );
    // On a loaded machine a second trial can start before the cancel lands (CI saw it): the
    // trials that never started are the ones left pending, and there are some to resume.
    expect(afterCancel.counts.pending).toBe(afterCancel.trials.filter((trial) => trial.jobId === null).length);
    expect(afterCancel.counts.pending).toBeGreaterThanOrEqual(1);
    const resumed = runCli(['sweeps', 'start', file], env);
    expect(await resumed.exited).toBe(0);
    expect(resumed.output()).toMatch(/Resumed sweep from-yaml/);
    expect((await client.sweeps.get.query({ sweep: 'from-yaml' })).status).toBe('running');
    await client.sweeps.cancel.mutate({ sweep: 'from-yaml' });
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'name: [unclosed\n');
    const refused = runCli(['sweeps', 'start', bad], env);
    expect(await refused.exited).not.toBe(0);
    expect(refused.output()).toMatch(/is not valid YAML or JSON/);
  }, 120_000);
});
