import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@trainyard/core';
import type { SchedulerState } from '@trainyard/training';
import { afterAll, describe, expect, it } from 'vitest';
import type { SlurmCli, SlurmJobState } from './slurm-cli.port';
import { createSlurmExecutor } from './slurm-executor';

const root = mkdtempSync(join(tmpdir(), 'trainyard-slurm-executor-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const errors: unknown[] = [];
const logger: Logger = { info: () => undefined, error: (fields) => void errors.push(fields) };

/** Slurm as its CLI answers: nothing in squeue's answer, and what scontrol says in turn (a poll that raced the submission). */
const clusterAnswering = (states: readonly string[]): SlurmCli => {
  let asked = 0;
  return {
    submit: () => Promise.resolve('42'),
    queue: () => Promise.resolve([]),
    finalState: (slurmJobId): Promise<SlurmJobState> =>
      Promise.resolve({ slurmJobId, state: states[Math.min(asked++, states.length - 1)] ?? 'COMPLETED', exitCode: 0, source: 'scontrol' }),
    findByName: () => Promise.resolve([]),
    cancel: () => Promise.resolve(),
  };
};

describe('following a Slurm job', () => {
  it('keeps following a job that is missing from one squeue answer but still pending or running in scontrol', async () => {
    const executor = createSlurmExecutor({ cli: clusterAnswering(['PENDING', 'RUNNING', 'COMPLETING', 'COMPLETED']), logger, pollMs: 10, eventsPollMs: 10 });
    const states: SchedulerState[] = [];
    const execution = executor.start({
      jobDir: join(root, 'job'),
      command: ['true'],
      env: {},
      graceMs: 100,
      job: { id: '0b7e4b1e-3f5c-4f7e-9a59-5d2c1f7f3a10', attempt: 1, resources: {} },
      onEvent: () => undefined,
      onBadEvent: () => undefined,
      onSchedulerState: (state) => states.push(state),
    });
    await expect(execution.done).resolves.toEqual({ kind: 'exited', exitCode: 0, signal: null });
    expect(states.map((state) => state.state)).toEqual(['SUBMITTED', 'PENDING', 'RUNNING', 'COMPLETING', 'COMPLETED']);
    expect(states.every((state) => state.jobId === '42' && state.kind === 'slurm')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('cancels a job Slurm still holds pending with scancel at once (no signal to a script that has not started)', async () => {
    const cancels: Array<[string, unknown]> = [];
    let cancelled = false;
    const cli: SlurmCli = {
      submit: () => Promise.resolve('43'),
      queue: () => Promise.resolve(cancelled ? [] : [{ slurmJobId: '43', state: 'PENDING', reason: 'Resources', source: 'squeue' }]),
      finalState: (slurmJobId) => Promise.resolve({ slurmJobId, state: 'CANCELLED', source: 'scontrol' }),
      findByName: () => Promise.resolve([]),
      cancel: (slurmJobId, options) => {
        cancels.push([slurmJobId, options]);
        cancelled = true;
        return Promise.resolve();
      },
    };
    const states: SchedulerState[] = [];
    const execution = createSlurmExecutor({ cli, logger, pollMs: 10, eventsPollMs: 10 }).start({
      jobDir: join(root, 'pending-job'),
      command: ['true'],
      env: {},
      graceMs: 60_000,
      job: { id: '0b7e4b1e-3f5c-4f7e-9a59-5d2c1f7f3a11', attempt: 1, resources: {} },
      onEvent: () => undefined,
      onBadEvent: () => undefined,
      onSchedulerState: (state) => states.push(state),
    });
    await expect.poll(() => states.at(-1)?.reason).toBe('Resources');
    execution.cancel();
    await expect(execution.done).resolves.toMatchObject({ kind: 'killed', reason: 'cancelled' });
    expect(cancels).toEqual([['43', undefined]]);
  });
});
