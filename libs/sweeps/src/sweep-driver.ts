import type { CreateSweepInput, SweepEvent } from '@trainyard/contracts';
import { DomainError, type Logger } from '@trainyard/core';
import type { Database } from '@trainyard/db';
import { ashaVerdict, rungsCrossed } from './asha';
import {
  ACTIVE,
  EVENT_PASS_MS,
  FINISHED,
  type JobStatusRow,
  POINTS_PER_PASS,
  PRUNED_REASON,
  specOf,
  statusOf,
  type SweepJobs,
  type SweepRow,
  TRIAL_STATE,
  type TrialState,
} from './sweep-records';

/**
 * What moves sweeps on (docs/sweeps.md): a pass starts trials as training jobs up to the sweep's
 * concurrency — each with an idempotency key of its sweep, configuration and run, so a crash
 * between creating a job and recording it never starts a second one — follows the early-stopping
 * metric of running trials and cancels those ASHA prunes, with the reason `pruned`. Passes of one
 * sweep run one at a time in this process, as do the service's cancel, retry and resume
 * (`serially`).
 */
export const createSweepDriver = (deps: { database: Database; jobs: SweepJobs; logger: Logger; publish(sweepId: string, event: SweepEvent): void }) => {
  const { prisma } = deps.database;
  const { publish } = deps;
  /** One pass per sweep at a time in this process: passes read and write the same trials. */
  const passes = new Map<string, Promise<void>>();
  /** Trials' jobs whose live events trigger a pass (a pruned trial stops within a step, not a polling interval). */
  const watched = new Map<string, () => void>();
  const soon = new Set<string>();

  /** Starts the trial's next job (its run number is part of the idempotency key: the same run is never started twice). */
  /** Whether the trial's job was created (false: refused, the trial failed with the reason). */
  const launch = async (sweep: SweepRow, trial: TrialState): Promise<boolean> => {
    const spec = specOf(sweep);
    const run = trial.runs + 1;
    const job = await createTrialJob(sweep, spec, trial, run).catch(async (error: unknown) => {
      // Refused now (an image no longer allowed, a snapshot deleted, an executor turned off): this trial fails with the
      // reason, and the sweep goes on with the others instead of retrying it every pass.
      if (!(error instanceof DomainError)) throw error;
      await prisma.sweepTrial.update({ where: { id: trial.id }, data: { launchError: `its job was refused: ${error.message}`, settled: true } });
      publish(sweep.id, { type: 'trial', index: trial.index, outcome: 'failed' });
      return undefined;
    });
    if (!job) return false;
    // Watched from its start: its first points reach early stopping at once, not at the next timed pass.
    if (spec.earlyStopping) watch(sweep.id, job.id);
    await prisma.sweepTrial.updateMany({
      where: { id: trial.id, runs: trial.runs },
      data: { jobId: job.id, runs: run, metricCursor: 0, settled: false },
    });
    publish(sweep.id, { type: 'trial', index: trial.index, outcome: 'queued', jobId: job.id });
    return true;
  };

  const createTrialJob = async (sweep: SweepRow, spec: Omit<CreateSweepInput, 'name'>, trial: TrialState, run: number) => {
    const { hyperparameters } = await prisma.sweepTrial.findUniqueOrThrow({ where: { id: trial.id }, select: { hyperparameters: true } });
    return deps.jobs.create(
      {
        ...spec.base,
        name: `${sweep.name} #${trial.index}${run > 1 ? ` (run ${run})` : ''}`.slice(0, 255),
        hyperparameters: hyperparameters as Record<string, unknown>,
        idempotencyKey: `sweep:${sweep.id}:${trial.configKey}:${run}`,
      },
      { actor: sweep.createdBy },
    );
  };

  /**
   * Reads the trial's new points of the early-stopping metric, records the value at each rung it
   * crossed (the first point at or past the rung) and, while its job runs, cancels it when ASHA
   * says so. A finished job's points are still recorded: later trials are judged against them.
   */
  const follow = async (sweep: SweepRow, trial: TrialState, job: JobStatusRow | undefined): Promise<void> => {
    const asha = specOf(sweep).earlyStopping;
    if (!trial.jobId) return;
    const status = job?.status ?? 'deleted';
    if (!asha || !job) {
      // Nothing to read (no early stopping, or the job is gone): settled once it has ended.
      if (FINISHED.has(status)) await prisma.sweepTrial.update({ where: { id: trial.id }, data: { settled: true } });
      return;
    }
    const { points, next } = await deps.jobs.metricPoints(trial.jobId, asha.metric, trial.metricCursor, POINTS_PER_PASS);
    const recorded = new Set(
      (await prisma.sweepRung.findMany({ where: { sweepId: sweep.id, trialId: trial.id }, select: { rung: true } })).map((row) => row.rung),
    );
    let pruned = false;
    for (const [step, value] of points) {
      for (const rung of rungsCrossed(asha, step, recorded)) {
        const others = await prisma.sweepRung.findMany({ where: { sweepId: sweep.id, rung, trialId: { not: trial.id } }, select: { value: true } });
        await prisma.sweepRung.createMany({ data: [{ sweepId: sweep.id, rung, trialId: trial.id, value }], skipDuplicates: true });
        recorded.add(rung);
        const verdict = ashaVerdict(
          asha,
          value,
          others.map((row) => row.value),
        );
        if (!verdict.prune || job.status !== 'running') continue;
        // Marked pruned only once its cancel is accepted: a trial shown pruned is being stopped.
        const cancelled = await deps.jobs.cancel(trial.jobId, { reason: PRUNED_REASON }).then(
          () => true,
          (error: unknown) => (deps.logger.error({ err: error, jobId: trial.jobId }, 'cancelling a pruned trial failed; it runs on'), false),
        );
        if (!cancelled) continue;
        await prisma.sweepTrial.update({ where: { id: trial.id }, data: { prunedAtRung: rung, prunedValue: value } });
        publish(sweep.id, { type: 'trial', index: trial.index, outcome: 'pruned', jobId: trial.jobId, rung, value, rank: verdict.rank, of: verdict.of });
        pruned = true;
        break;
      }
      if (pruned) break;
    }
    const caughtUp = points.length < POINTS_PER_PASS;
    await prisma.sweepTrial.update({ where: { id: trial.id }, data: { metricCursor: next, settled: pruned || (FINISHED.has(job.status) && caughtUp) } });
  };

  /** One pass of the driver over a sweep: follow, start, and finish it when every trial has ended. */
  const pass = async (sweepId: string): Promise<void> => {
    const sweep = await prisma.sweep.findUnique({ where: { id: sweepId } });
    if (!sweep) return;
    const spec = specOf(sweep);
    const trials = await prisma.sweepTrial.findMany({ where: { sweepId }, orderBy: { index: 'asc' }, select: TRIAL_STATE });
    const jobs = new Map((await deps.jobs.statusesOf(trials.flatMap((t) => (t.jobId ? [t.jobId] : [])))).map((job) => [job.id, job]));
    for (const trial of trials) if (trial.jobId && !trial.settled) await follow(sweep, trial, jobs.get(trial.jobId));
    if (spec.earlyStopping) watchActive(sweepId, trials, jobs);
    if (sweep.status !== 'running') return;
    let active = trials.filter((trial) => ACTIVE.has(statusOf(trial, jobs) ?? '')).length;
    for (const trial of trials) {
      if (active >= spec.concurrency) break;
      if (trial.jobId || trial.launchError !== null) continue;
      // A trial whose job was refused takes no slot: the next one is tried in the same pass.
      if (await launch(sweep, trial)) active += 1;
    }
    const now = await prisma.sweepTrial.findMany({ where: { sweepId }, select: { jobId: true, settled: true, launchError: true } });
    const done = now.every((t) => t.launchError !== null || (t.jobId !== null && t.settled && FINISHED.has(jobs.get(t.jobId)?.status ?? 'deleted')));
    if (done && active === 0) {
      const finished = await prisma.sweep.updateMany({ where: { id: sweepId, status: 'running' }, data: { status: 'finished', finishedAt: new Date() } });
      if (finished.count === 1) publish(sweepId, { type: 'status', status: 'finished' });
    }
  };

  /** A pass of the sweep soon after a live event of one of its trials' jobs (one waiting per sweep at most). */
  const passSoon = (sweepId: string): void => {
    if (soon.has(sweepId)) return;
    soon.add(sweepId);
    // At most one pass per sweep every EVENT_PASS_MS however fast a trainer logs.
    setTimeout(() => {
      soon.delete(sweepId);
      void advance(sweepId);
    }, EVENT_PASS_MS).unref();
  };
  const watch = (sweepId: string, jobId: string): void => {
    if (!watched.has(jobId))
      watched.set(
        jobId,
        deps.jobs.watch(jobId, () => passSoon(sweepId)),
      );
  };
  const unwatch = (jobId: string): void => {
    watched.get(jobId)?.();
    watched.delete(jobId);
  };

  /** Follows the live events of the sweep's active trials (a restarted server picks them up again here); drops the others. */
  const watchActive = (sweepId: string, trials: readonly TrialState[], jobs: ReadonlyMap<string, JobStatusRow>): void => {
    for (const trial of trials) {
      if (!trial.jobId) continue;
      if (ACTIVE.has(statusOf(trial, jobs) ?? '') && trial.prunedAtRung === null) watch(sweepId, trial.jobId);
      else unwatch(trial.jobId);
    }
  };

  /** Runs `work` after everything already queued for this sweep in this process (passes, cancel, retry, resume). */
  const serially = <T>(sweepId: string, work: () => Promise<T>): Promise<T> => {
    const previous = passes.get(sweepId) ?? Promise.resolve();
    const result = previous.then(work);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    passes.set(sweepId, settled);
    void settled.then(() => {
      if (passes.get(sweepId) === settled) passes.delete(sweepId);
    });
    return result;
  };

  const advance = (sweepId: string): Promise<void> =>
    serially(sweepId, () => pass(sweepId)).catch((error: unknown) =>
      deps.logger.error({ err: error, sweepId }, 'a sweep pass failed; the next one tries again'),
    );

  return {
    advance,
    serially,
    /** Stops following trials' live events (the server is stopping). */
    stop(): void {
      for (const stop of watched.values()) stop();
      watched.clear();
    },
  };
};

export type SweepDriver = ReturnType<typeof createSweepDriver>;
