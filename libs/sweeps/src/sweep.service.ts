import { EventEmitter } from 'node:events';
import {
  type CreateJobInput,
  type CreateSweepInput,
  JSON_LIMITS,
  jsonProblem,
  type SweepEvent,
  type SweepStatus,
  type SweepTrialOutcome,
} from '@trainyard/contracts';
import { DomainError, isUuid, type Logger, newId, notFound, pageOf } from '@trainyard/core';
import type { Database, Prisma } from '@trainyard/db';
import { ashaVerdict, rungsCrossed } from './asha';
import { configurationKey, planTrials } from './search-space';

/** What sweeps ask of the training context (its job service implements it; wired in apps/server). */
export interface SweepJobs {
  create(input: CreateJobInput, caller: { actor: string }): Promise<{ id: string }>;
  /** Checks a job as create would, without queuing it. */
  validate(input: CreateJobInput, caller: { actor: string }): Promise<void>;
  cancel(id: string, options: { reason?: string }): Promise<unknown>;
  statusesOf(ids: readonly string[]): Promise<Array<{ id: string; status: string; error: string | null; startedAt: Date | null; finishedAt: Date | null }>>;
  metricPoints(jobId: string, name: string, from: number, limit: number): Promise<{ points: Array<[number, number]>; next: number }>;
  resolveHyperparameters(trainer: CreateJobInput['trainer'], hyperparameters: Record<string, unknown>): Record<string, unknown>;
  /** Calls `onEvent` on each live event of the job (metric points, status) in this process; returns the unsubscribe. */
  watch(jobId: string, onEvent: () => void): () => void;
}

type SweepRow = Prisma.SweepGetPayload<object>;
type TrialRow = Prisma.SweepTrialGetPayload<object>;
type JobStatusRow = Awaited<ReturnType<SweepJobs['statusesOf']>>[number];

/** The reason a pruned trial's job is cancelled with (its `error`): what tells `pruned` from `cancelled`. */
export const PRUNED_REASON = 'pruned';
const ACTIVE = new Set(['queued', 'running', 'validating']);
/** `deleted`: the trial's job is gone (jobs.delete): it ended, whatever it was. */
const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'deleted']);
/** All of a sweep's planned configurations together, as JSON: a sweep is rows in a database, not a dataset. */
const MAX_PLANNED_BYTES = 16 * 1024 * 1024;
/** Metric records read per trial per pass: a trial that logged a million points is caught up over a few passes. */
const POINTS_PER_PASS = 50_000;
/** How soon after a trial's metric point a pass runs (points arriving meanwhile share it). */
const EVENT_PASS_MS = 50;

/** A trial job's status; `deleted` when its job is gone. Read only for trials whose job existed when the pass began. */
const statusOf = (trial: TrialRow, jobs: ReadonlyMap<string, JobStatusRow>): string | undefined =>
  trial.jobId ? (jobs.get(trial.jobId)?.status ?? 'deleted') : undefined;

const outcomeOf = (trial: TrialRow, job: JobStatusRow | undefined): SweepTrialOutcome => {
  if (trial.launchError !== null) return 'failed';
  if (!trial.jobId) return 'pending';
  const status = job?.status ?? 'deleted';
  if (status === 'deleted') return 'cancelled';
  // Pruned: cancelled by early stopping (or being cancelled); a job that ended on its own before the cancel reached it keeps its own end.
  if (trial.prunedAtRung !== null && status !== 'succeeded' && status !== 'failed') return 'pruned';
  if (status === 'validating') return 'running';
  return status as SweepTrialOutcome;
};

/** The specification as stored and compared: everything the sweep was created with but its name. */
const specificationOf = (input: CreateSweepInput): Omit<CreateSweepInput, 'name'> => {
  const { name: _name, ...spec } = input;
  return spec;
};

/**
 * Hyperparameter sweeps (docs/sweeps.md). A sweep's trials are planned once, when it is created
 * (deterministic: the same specification plans the same trials), and stored keyed by their
 * configuration's hash, so a configuration never runs twice. The driver (`advance`, run by the
 * server's background work) starts trials as training jobs up to the sweep's concurrency — each
 * with an idempotency key of its sweep, configuration and run, so a crash between creating a job
 * and recording it never starts a second one — follows the early-stopping metric of running
 * trials and cancels those ASHA prunes, with the reason `pruned`.
 */
export const createSweepService = (deps: { database: Database; jobs: SweepJobs; logger: Logger }) => {
  const { prisma } = deps.database;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const publish = (sweepId: string, event: SweepEvent): void => void events.emit(sweepId, event);
  /** One pass per sweep at a time in this process: passes read and write the same trials. */
  const passes = new Map<string, Promise<void>>();
  /** Trials' jobs whose live events trigger a pass (a pruned trial stops within a step, not a polling interval). */
  const watched = new Map<string, () => void>();
  const soon = new Set<string>();

  const find = async (ref: string): Promise<SweepRow> => {
    const sweep = isUuid(ref) ? await prisma.sweep.findUnique({ where: { id: ref } }) : await prisma.sweep.findUnique({ where: { name: ref } });
    if (!sweep) throw notFound('Sweep', { sweep: ref });
    return sweep;
  };
  const specOf = (sweep: SweepRow): Omit<CreateSweepInput, 'name'> => sweep.spec as unknown as Omit<CreateSweepInput, 'name'>;

  const describe = async (sweep: SweepRow) => {
    const trials = await prisma.sweepTrial.findMany({ where: { sweepId: sweep.id }, orderBy: { index: 'asc' } });
    const jobs = new Map((await deps.jobs.statusesOf(trials.flatMap((t) => (t.jobId ? [t.jobId] : [])))).map((job) => [job.id, job]));
    const counts: Record<SweepTrialOutcome, number> = { pending: 0, queued: 0, running: 0, succeeded: 0, failed: 0, pruned: 0, cancelled: 0 };
    let trainerSeconds = 0;
    const described = trials.map((trial) => {
      const job = trial.jobId ? jobs.get(trial.jobId) : undefined;
      const outcome = outcomeOf(trial, job);
      counts[outcome] += 1;
      if (job?.startedAt) trainerSeconds += ((job.finishedAt ?? new Date()).getTime() - job.startedAt.getTime()) / 1_000;
      return {
        index: trial.index,
        configKey: trial.configKey,
        overrides: trial.overrides as Record<string, unknown>,
        jobId: trial.jobId,
        runs: trial.runs,
        outcome,
        error: trial.launchError ?? (outcome === 'pruned' ? null : trial.jobId && !job ? 'its job was deleted' : (job?.error ?? null)),
        prunedAtRung: trial.prunedAtRung,
        prunedValue: trial.prunedValue,
      };
    });
    const spec = specOf(sweep);
    return {
      id: sweep.id,
      name: sweep.name,
      status: sweep.status as SweepStatus,
      method: spec.method,
      concurrency: spec.concurrency,
      earlyStopping: spec.earlyStopping ?? null,
      parameters: spec.parameters,
      createdAt: sweep.createdAt,
      finishedAt: sweep.finishedAt,
      counts,
      trainerSeconds,
      trials: described,
    };
  };

  /** Starts the trial's next job (its run number is part of the idempotency key: the same run is never started twice). */
  /** Whether the trial's job was created (false: refused, the trial failed with the reason). */
  const launch = async (sweep: SweepRow, trial: TrialRow): Promise<boolean> => {
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

  const createTrialJob = (sweep: SweepRow, spec: Omit<CreateSweepInput, 'name'>, trial: TrialRow, run: number) =>
    deps.jobs.create(
      {
        ...spec.base,
        name: `${sweep.name} #${trial.index}${run > 1 ? ` (run ${run})` : ''}`.slice(0, 255),
        hyperparameters: trial.hyperparameters as Record<string, unknown>,
        idempotencyKey: `sweep:${sweep.id}:${trial.configKey}:${run}`,
      },
      { actor: sweep.createdBy },
    );

  /**
   * Reads the trial's new points of the early-stopping metric, records the value at each rung it
   * crossed (the first point at or past the rung) and, while its job runs, cancels it when ASHA
   * says so. A finished job's points are still recorded: later trials are judged against them.
   */
  const follow = async (sweep: SweepRow, trial: TrialRow, job: JobStatusRow | undefined): Promise<void> => {
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
    const trials = await prisma.sweepTrial.findMany({ where: { sweepId }, orderBy: { index: 'asc' } });
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
  const watchActive = (sweepId: string, trials: readonly TrialRow[], jobs: ReadonlyMap<string, JobStatusRow>): void => {
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

  /**
   * Creates a sweep and plans its trials; with the name of an existing sweep and the same
   * specification, resumes it (a cancelled one runs again); with another specification, refuses.
   */
  /** `caller` is who asks: the sweep's jobs are created on their behalf, each checked as their own create would be. */
  const create = async (input: CreateSweepInput, caller: { actor: string }): Promise<Awaited<ReturnType<typeof describe>> & { resumed: boolean }> => {
    const spec = specificationOf(input);
    const specHash = configurationKey(spec as unknown as Record<string, unknown>);
    const existing = await prisma.sweep.findUnique({ where: { name: input.name } });
    if (existing) {
      if (existing.specHash !== specHash)
        throw new DomainError(
          'CONFLICT',
          `A sweep named ${input.name} exists with another specification: give it another name, or the same specification to resume it`,
          {
            sweep: input.name,
          },
        );
      if (existing.status === 'cancelled')
        await serially(existing.id, () => prisma.sweep.update({ where: { id: existing.id }, data: { status: 'running', finishedAt: null } }));
      void advance(existing.id);
      return { ...(await describe(await find(existing.id))), resumed: true };
    }
    // Refused now, with the reason, rather than trial by trial later: the executor, the trainer, the snapshot…
    await deps.jobs.validate({ ...input.base, name: input.name }, caller);
    // Each trial's hyperparameters as its job will run them (defaults filled in, checked now rather than at its start).
    const base = deps.jobs.resolveHyperparameters(input.base.trainer, input.base.hyperparameters);
    const plans = planTrials(input, base).map((plan) => {
      const hyperparameters = deps.jobs.resolveHyperparameters(input.base.trainer, plan.hyperparameters);
      const problem = jsonProblem(hyperparameters, { maxBytes: JSON_LIMITS.objectBytes });
      if (problem)
        throw new DomainError('INVALID_ARGUMENT', `Trial ${plan.index}'s hyperparameters: ${problem.message}`, { path: ['parameters'], trial: plan.index });
      return { ...plan, hyperparameters, key: configurationKey(hyperparameters) };
    });
    const plannedBytes = plans.reduce((total, plan) => total + Buffer.byteLength(JSON.stringify(plan.hyperparameters)), 0);
    if (plannedBytes > MAX_PLANNED_BYTES)
      throw new DomainError(
        'INVALID_ARGUMENT',
        `The sweep's ${plans.length} configurations total ${plannedBytes} bytes of JSON, more than ${MAX_PLANNED_BYTES}`,
        {
          path: ['parameters'],
        },
      );
    const id = newId();
    try {
      await prisma.$transaction([
        prisma.sweep.create({ data: { id, name: input.name, specHash, spec: spec as unknown as Prisma.InputJsonValue, createdBy: caller.actor } }),
        prisma.sweepTrial.createMany({
          data: plans.map((plan) => ({
            id: newId(),
            sweepId: id,
            index: plan.index,
            configKey: plan.key,
            overrides: plan.overrides as Prisma.InputJsonValue,
            hyperparameters: plan.hyperparameters as Prisma.InputJsonValue,
          })),
          // Two planned configurations that are one once the trainer's defaults are filled in: one trial.
          skipDuplicates: true,
        }),
      ]);
    } catch (error) {
      // Created concurrently under the same name: answer as a resume (or a refusal) would.
      if (await prisma.sweep.findUnique({ where: { name: input.name } })) return create(input, caller);
      throw error;
    }
    void advance(id);
    return { ...(await describe(await find(id))), resumed: false };
  };

  /** Stops starting trials and cancels the running ones. */
  const cancelSweep = async (sweep: SweepRow) => {
    await prisma.sweep.updateMany({ where: { id: sweep.id, status: 'running' }, data: { status: 'cancelled', finishedAt: new Date() } });
    const trials = await prisma.sweepTrial.findMany({ where: { sweepId: sweep.id, jobId: { not: null } }, select: { jobId: true } });
    const jobs = await deps.jobs.statusesOf(trials.flatMap((t) => (t.jobId ? [t.jobId] : [])));
    for (const job of jobs.filter((j) => ACTIVE.has(j.status)))
      await deps.jobs
        .cancel(job.id, { reason: 'sweep cancelled' })
        .catch((error: unknown) => deps.logger.error({ err: error, jobId: job.id }, 'cancelling a trial of a cancelled sweep failed'));
    publish(sweep.id, { type: 'status', status: 'cancelled' });
    return describe(await find(sweep.id));
  };

  /** A new run for each failed trial: its job failed, or its job could not be created. */
  const retrySweep = async (sweep: SweepRow) => {
    const trials = await prisma.sweepTrial.findMany({
      where: { sweepId: sweep.id, prunedAtRung: null, OR: [{ jobId: { not: null } }, { launchError: { not: null } }] },
    });
    const jobs = new Map((await deps.jobs.statusesOf(trials.flatMap((t) => (t.jobId ? [t.jobId] : [])))).map((job) => [job.id, job]));
    const failed = trials.filter((trial) => trial.launchError !== null || (trial.jobId && jobs.get(trial.jobId)?.status === 'failed'));
    if (failed.length > 0) {
      await prisma.$transaction([
        // Their earlier runs' rung values go: the new runs record their own.
        prisma.sweepRung.deleteMany({ where: { sweepId: sweep.id, trialId: { in: failed.map((t) => t.id) } } }),
        prisma.sweepTrial.updateMany({
          where: { id: { in: failed.map((t) => t.id) } },
          data: { jobId: null, launchError: null, metricCursor: 0, settled: false },
        }),
        prisma.sweep.update({ where: { id: sweep.id }, data: { status: 'running', finishedAt: null } }),
      ]);
      void advance(sweep.id);
    }
    return { retried: failed.map((trial) => trial.index), sweep: await describe(await find(sweep.id)) };
  };

  return {
    advance,

    /** Stops following trials' live events (the server is stopping). */
    stop(): void {
      for (const stop of watched.values()) stop();
      watched.clear();
    },

    /** Every sweep that still has work: running ones, and ones with trials whose rung values are not all read. */
    async advanceAll(): Promise<void> {
      const sweeps = await prisma.sweep.findMany({
        where: { OR: [{ status: 'running' }, { trials: { some: { settled: false, jobId: { not: null } } } }] },
        select: { id: true },
      });
      for (const sweep of sweeps) await advance(sweep.id);
    },

    create,

    get: async (ref: string) => describe(await find(ref)),

    async list(filter: { limit: number; cursor?: string }) {
      const rows = await prisma.sweep.findMany({
        where: filter.cursor ? { id: { lt: filter.cursor } } : {},
        orderBy: { id: 'desc' },
        take: filter.limit + 1,
        select: { id: true, name: true, status: true, createdAt: true, finishedAt: true, _count: { select: { trials: true } } },
      });
      const page = pageOf(rows, filter.limit, (row) => row.id);
      return { ...page, items: page.items.map(({ _count, ...row }) => ({ ...row, trials: _count.trials })) };
    },

    /** Stops starting trials and cancels the running ones; a later create with the same specification resumes it. */
    async cancel(ref: string) {
      const sweep = await find(ref);
      // After any pass in flight: a pass that read `running` must not start trials after the cancel listed the active ones.
      return serially(sweep.id, () => cancelSweep(sweep));
    },

    /** Starts a new job for each failed trial (pruned and cancelled ones are not failures); the sweep runs again until they end. */
    async retryFailed(ref: string) {
      const sweep = await find(ref);
      // After any pass in flight: its rung values of the failed runs must not come back after they are cleared.
      return serially(sweep.id, () => retrySweep(sweep));
    },

    /** Live events of one sweep (trials started and pruned, the sweep's end). */
    subscribe(sweepId: string, listener: (event: SweepEvent) => void): () => void {
      events.on(sweepId, listener);
      return () => events.off(sweepId, listener);
    },
    find,
  };
};

export type SweepService = ReturnType<typeof createSweepService>;
