import { EventEmitter } from 'node:events';
import { type CreateSweepInput, JSON_LIMITS, jsonProblem, type SweepEvent, type SweepStatus, type SweepTrialOutcome } from '@trainyard/contracts';
import { DomainError, isUuid, type Logger, newId, notFound, pageOf } from '@trainyard/core';
import type { Database, Prisma } from '@trainyard/db';
import { configurationKey, planTrials } from './search-space';
import { createSweepDriver } from './sweep-driver';
import { ACTIVE, MAX_PLANNED_BYTES, outcomeOf, specOf, type SweepJobs, type SweepRow } from './sweep-records';

export { PRUNED_REASON, type SweepJobs } from './sweep-records';

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
  const { advance, serially, stop } = createSweepDriver({ ...deps, publish });

  const find = async (ref: string): Promise<SweepRow> => {
    const sweep = isUuid(ref) ? await prisma.sweep.findUnique({ where: { id: ref } }) : await prisma.sweep.findUnique({ where: { name: ref } });
    if (!sweep) throw notFound('Sweep', { sweep: ref });
    return sweep;
  };

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
    stop,

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
