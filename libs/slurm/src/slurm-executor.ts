import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@trainyard/core';
import {
  createEventIntake,
  type Execution,
  type ExecutionOutcome,
  type ExecutionRequest,
  type SchedulerState,
  type TrainerExecutor,
} from '@trainyard/training';
import { renderBatchScript, SLURM_NAME_PREFIX, slurmFiles, slurmJobName } from './batch-script';
import { ACTIVE_STATES } from './cli/slurm-output';
import { followEventsFile } from './events-file';
import type { SlurmCli, SlurmJobState } from './slurm-cli.port';
import { createSlurmPoller, type SlurmUpdate } from './slurm-poller';

export interface SlurmExecutorOptions {
  cli: SlurmCli;
  logger: Logger;
  /** Defaults for jobs that name none (TRAINYARD_SLURM_PARTITION, TRAINYARD_SLURM_ACCOUNT). */
  partition?: string;
  account?: string;
  /** How often squeue is asked about every followed job at once (default 1 s). */
  pollMs?: number;
  /** How often the events files are read (default 250 ms: a stat and a read when something was appended). */
  eventsPollMs?: number;
  /** Polls a job may be unknown to Slurm, without an exit file, before it counts as lost (default 5). */
  unknownPolls?: number;
}

/** What `attempt-<n>.json` in the job's `slurm/` directory says: the submission of that attempt. */
interface SubmissionRecord {
  name: string;
  slurmJobId: string;
  submittedAt: string;
}

const readJson = async <T>(path: string): Promise<T | undefined> => {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
};

const exitCodeFile = async (path: string): Promise<number | undefined> => {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const code = Number(text?.trim());
  return text !== undefined && Number.isInteger(code) ? code : undefined;
};

/** Slurm's final state, as the outcome the orchestrator records (the trainer's failure or the scheduler's doing). */
export const slurmOutcome = (final: SlurmJobState, exitFile: number | undefined, cancelled: boolean): ExecutionOutcome => {
  if (cancelled) return { kind: 'killed', exitCode: final.exitCode ?? exitFile ?? null, signal: 'SIGTERM', reason: 'cancelled' };
  const state = final.state.split(/[\s+]/)[0] ?? final.state;
  switch (state) {
    case 'COMPLETED':
      return { kind: 'exited', exitCode: exitFile ?? final.exitCode ?? 0, signal: null };
    case 'FAILED':
      return { kind: 'exited', exitCode: exitFile ?? (final.exitCode || 1), signal: null };
    case 'TIMEOUT':
      return { kind: 'killed', exitCode: exitFile ?? final.exitCode ?? null, signal: 'SIGTERM', reason: 'timeout' };
    case 'PREEMPTED':
      return { kind: 'requeue', reason: 'preempted', message: `Slurm job ${final.slurmJobId} was preempted; re-queued` };
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return { kind: 'requeue', reason: 'node_failure', message: `Slurm job ${final.slurmJobId} lost its node (${state}); re-queued` };
    case 'OUT_OF_MEMORY':
      return { kind: 'killed', exitCode: final.exitCode ?? null, signal: 'SIGKILL (out of memory: raise resources.memoryMb)', reason: 'signal' };
    case 'CANCELLED':
      return { kind: 'killed', exitCode: final.exitCode ?? null, signal: `scancel outside Trainyard (Slurm job ${final.slurmJobId})`, reason: 'signal' };
    default:
      return { kind: 'killed', exitCode: final.exitCode ?? exitFile ?? null, signal: `Slurm state ${final.state}`, reason: 'signal' };
  }
};

/**
 * Trainers as Slurm batch jobs (docs/training.md, "Slurm"). A run is submitted with sbatch and
 * followed from here — its events file on the shared filesystem, its state through one squeue
 * call per poll for all runs — and nothing of it lives in this server: a server stop detaches
 * (the run goes on), and whoever holds the job's lease next re-attaches to the same Slurm job,
 * found by the attempt's record or by its name, so nothing is ever submitted twice.
 */
export const createSlurmExecutor = (options: SlurmExecutorOptions): TrainerExecutor => {
  const poller = createSlurmPoller({ cli: options.cli, namePrefix: SLURM_NAME_PREFIX, intervalMs: options.pollMs ?? 1_000, logger: options.logger });
  const eventsPollMs = options.eventsPollMs ?? 250;
  const unknownPolls = options.unknownPolls ?? 5;

  /** This attempt's Slurm job: the one already submitted (a re-attach), else a new submission. */
  const submission = async (request: ExecutionRequest, job: NonNullable<ExecutionRequest['job']>): Promise<string> => {
    const files = slurmFiles(request.jobDir, job.attempt);
    const name = slurmJobName(job.id, job.attempt);
    if (request.reattach) {
      const recorded = await readJson<SubmissionRecord>(files.record);
      if (recorded?.slurmJobId) return recorded.slurmJobId;
      // Submitted, and the holder died before writing it down: the name finds it.
      const found = (await options.cli.findByName(name)).map((state) => state.slurmJobId).sort((a, b) => Number(b) - Number(a));
      if (found[0]) return found[0];
    }
    await mkdir(files.dir, { recursive: true });
    // Slurm opens --output (logs/slurm-<id>.out) before the script runs: the directory must exist.
    await mkdir(dirname(files.events), { recursive: true });
    await writeFile(
      files.script,
      renderBatchScript({
        jobId: job.id,
        attempt: job.attempt,
        jobDir: request.jobDir,
        command: request.command,
        ...(request.cwd ? { cwd: request.cwd } : {}),
        env: request.env,
        resources: job.resources,
        ...(options.partition ? { partition: options.partition } : {}),
        ...(options.account ? { account: options.account } : {}),
      }),
    );
    await chmod(files.script, 0o700);
    const slurmJobId = await options.cli.submit(files.script, request.jobDir);
    const record: SubmissionRecord = { name, slurmJobId, submittedAt: new Date().toISOString() };
    await writeFile(files.record, JSON.stringify(record));
    return slurmJobId;
  };

  const start = (request: ExecutionRequest): Execution => {
    const intake = createEventIntake(request);
    let resolveDone!: (outcome: ExecutionOutcome) => void;
    const done = new Promise<ExecutionOutcome>((resolve) => (resolveDone = resolve));
    const job = request.job;
    const files = slurmFiles(request.jobDir, job?.attempt ?? 0);
    const events = followEventsFile(files.events, files.eventsOffset, intake);
    let slurmJobId: string | undefined;
    let cancelled = false;
    let finished = false;
    let unwatch: (() => void) | undefined;
    let eventsTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let lastState: SchedulerState | undefined;
    let unknown = 0;
    let running = false;

    const report = (state: string, reason: string | null): void => {
      if (!slurmJobId || (lastState?.state === state && lastState.reason === reason)) return;
      lastState = { kind: 'slurm', jobId: slurmJobId, state, reason };
      request.onSchedulerState?.(lastState);
    };

    const end = async (outcome: ExecutionOutcome, drain = true): Promise<void> => {
      if (finished) return;
      finished = true;
      unwatch?.();
      clearInterval(eventsTimer);
      clearTimeout(killTimer);
      await (drain ? events.drain() : events.save()).catch((error: unknown) => options.logger.error({ err: error }, 'reading the events file failed'));
      resolveDone(outcome);
    };

    const onUpdate = async (update: SlurmUpdate): Promise<void> => {
      if (finished || !slurmJobId) return;
      if ('inQueue' in update) {
        unknown = 0;
        const { state, reason } = update.inQueue;
        report(state, state === 'PENDING' ? (reason ?? null) : null);
        if (state === 'RUNNING') running = true;
        return;
      }
      // Left squeue's answer but not the cluster: a poll that raced the submission, a job Slurm
      // requeued (the completion log says PENDING then), or one still completing.
      if (update.final && ACTIVE_STATES.has(update.final.state)) {
        unknown = 0;
        report(update.final.state, null);
        return;
      }
      const exitFile = await exitCodeFile(files.exitCode(slurmJobId));
      if (update.final) {
        report(update.final.state, null);
        await end(slurmOutcome(update.final, exitFile, cancelled));
        return;
      }
      if (exitFile !== undefined) {
        report('COMPLETED', null);
        await end(
          cancelled ? { kind: 'killed', exitCode: exitFile, signal: 'SIGTERM', reason: 'cancelled' } : { kind: 'exited', exitCode: exitFile, signal: null },
        );
        return;
      }
      if ((unknown += 1) >= unknownPolls) {
        await end({
          kind: 'spawn_failed',
          message: `Slurm no longer knows job ${slurmJobId} and it left no exit code (it ended longer ago than the cluster's MinJobAge, and there is no accounting to ask)`,
        });
      }
    };

    const stopInSlurm = (): void => {
      if (!slurmJobId || finished) return;
      const id = slurmJobId;
      const hardCancel = (): void =>
        void options.cli.cancel(id).catch((error: unknown) => options.logger.error({ err: error, slurmJobId: id }, 'scancel failed'));
      if (!running) return hardCancel(); // pending: nothing to let checkpoint
      // SIGTERM to the batch script, which hands it to the trainer; scancel itself after the grace period.
      void options.cli.cancel(id, { signal: 'TERM', batchOnly: true }).catch(hardCancel);
      killTimer = setTimeout(hardCancel, request.graceMs);
    };

    void (async () => {
      try {
        if (!job) throw new Error('the Slurm executor needs the job (id, attempt, resources) a run belongs to');
        slurmJobId = await submission(request, job);
        report('SUBMITTED', null);
        unwatch = poller.watch(slurmJobId, (update) => void onUpdate(update));
        eventsTimer = setInterval(() => void events.read().catch(() => undefined), eventsPollMs);
        if (cancelled) stopInSlurm();
      } catch (error) {
        await end({ kind: 'spawn_failed', message: `sbatch failed: ${error instanceof Error ? error.message : String(error)}` }, false);
      }
    })();

    return {
      pid: undefined,
      done,
      cancel() {
        if (cancelled) return;
        cancelled = true;
        stopInSlurm();
      },
      detach() {
        void end({ kind: 'detached' }, false);
      },
      badEvents: intake.badEvents,
      nonFiniteMetrics: intake.nonFiniteMetrics,
    };
  };

  return {
    kind: 'slurm',
    onTakeover: 'reattach',
    onShutdown: 'detach',
    // Slurm queues them; this server only follows them (one squeue call per poll for all).
    maxRunning: 1_000,
    start,
    /** A job taken over while validating: whatever of it Slurm still runs is cancelled (it finished, normally). */
    async stopOrphan(jobDir) {
      const records = (await readdir(slurmFiles(jobDir, 0).dir).catch(() => [] as string[])).filter((name) => /^attempt-\d+\.json$/.test(name));
      for (const name of records) {
        const record = await readJson<SubmissionRecord>(`${slurmFiles(jobDir, 0).dir}/${name}`);
        if (record?.slurmJobId) await options.cli.cancel(record.slurmJobId).catch(() => undefined);
      }
    },
  };
};
