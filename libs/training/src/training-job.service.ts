import { rm, stat } from 'node:fs/promises';
import type { ArtifactService } from '@trainyard/artifacts';
import { type CompareJobsInput, type CreateJobInput, isFinishedJobStatus } from '@trainyard/contracts';
import { DomainError, newId, notFound, pageOf } from '@trainyard/core';
import type { Database, Prisma, SqlQueryable } from '@trainyard/db';
import type { ModelVersionService } from '@trainyard/registry';
import { assertCommandAllowed, type CommandTrainerPolicy, isContainerExecutor, LOCAL_ACTOR } from './command-trainer-policy';
import { compareJobs } from './job-comparison';
import { assertRetry, assertTransition, type JobStatus } from './job-state';
import { type LogSlice, type LogStream, readJobLog } from './job-logs';
import { type JobConfiguration, jobConfiguration } from './job-configuration';
import type { JobWorkspace } from './job-workspace';
import type { MetricsStore } from './metrics-store';
import type { TrainerCatalog } from './trainer-catalog';
import { runnerBlobsOf } from './runner/runner-executor';

export type JobRow = Prisma.TrainingJobGetPayload<object>;

export interface JobControl {
  /** Asks the orchestrator to stop a job it is running (the reason becomes its error); false if it is not running here. */
  requestCancel(jobId: string, reason?: string): boolean;
  /** Wakes the scheduler: a job was queued. */
  poke(): void;
}

/**
 * What jobs ask of the datasets context, which training does not import (datasets'
 * snapshot service implements it): the named snapshots' names and training-pair counts.
 */
export interface JobSnapshots {
  summariesOf(ids: readonly string[]): Promise<Array<{ id: string; name: string; trainCount: number }>>;
}

const executorUnavailable = (kind: string): string =>
  kind === 'slurm'
    ? 'The slurm executor is not enabled on this server: start it with TRAINYARD_SLURM=on (Slurm commands on its PATH, or TRAINYARD_SLURM_SSH=user@login-node) and TRAINYARD_SHARED_DIR (a directory on the cluster’s shared filesystem)'
    : kind === 'runner-local'
      ? 'The runner-local executor is not enabled on this server: start it with TRAINYARD_RUNNER_LOCAL=on (docs/runner.md)'
      : kind === 'kubernetes'
        ? 'The kubernetes executor is not enabled on this server: start it with TRAINYARD_KUBERNETES=on, a kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster), TRAINYARD_RUNNER_IMAGES and TRAINYARD_K8S_NAMESPACES (docs/kubernetes.md)'
        : kind === 'sagemaker'
          ? 'The sagemaker executor is not enabled on this server: start it with TRAINYARD_SAGEMAKER=on, TRAINYARD_SAGEMAKER_ROLE_ARN, TRAINYARD_SAGEMAKER_OUTPUT_S3_URI, TRAINYARD_SAGEMAKER_CHECKPOINT_S3_URI and TRAINYARD_RUNNER_IMAGES (docs/sagemaker.md)'
          : `The ${kind} executor is not enabled on this server`;

/** Training jobs: creation (validated, idempotent), queries, cancel, retry, logs and metrics. */
export const createTrainingJobService = (deps: {
  database: Database;
  snapshots: JobSnapshots;
  /** The parent version a job names; the versions a job produced (its deletion is refused then). */
  versions: Pick<ModelVersionService, 'idOf' | 'producedBy'>;
  /** A deleted job's artifact records that no version holds go with it. */
  artifacts: Pick<ArtifactService, 'deleteUnversionedOfJob'>;
  catalog: TrainerCatalog;
  workspace: JobWorkspace;
  metrics: MetricsStore;
  control: () => JobControl;
  /** Which command trainers callers may queue (default: local, no allowlist). */
  commandTrainers?: CommandTrainerPolicy;
  /** The executors this server runs jobs on (default: local only); a job for another is refused. */
  executors?: readonly string[];
}) => {
  const commandPolicy = deps.commandTrainers ?? { shared: false, allowedCommands: [] };
  const { prisma } = deps.database;

  const get = async (id: string): Promise<JobRow> => {
    const job = await prisma.trainingJob.findUnique({ where: { id } });
    if (!job) throw notFound('Training job', { id });
    return job;
  };

  /** Whether this server runs such a job for this caller at all (its executor, who may run what): throws the reason. */
  const admit = (input: CreateJobInput, caller: { actor: string }): void => {
    if (!(deps.executors ?? ['local']).includes(input.executor)) {
      throw new DomainError('FAILED_PRECONDITION', executorUnavailable(input.executor), { path: ['executor'], executor: input.executor });
    }
    assertCommandAllowed(commandPolicy, input, caller.actor);
  };

  /**
   * What a new job must pass besides (its hyperparameters, the snapshot, the parent version), with
   * what it will be stored with; throws the reason otherwise.
   */
  const prepare = async (input: CreateJobInput) => {
    // The job records the image it runs in, the default one included.
    const resources =
      isContainerExecutor(input.executor) && !input.resources.image ? { ...input.resources, image: commandPolicy.containerImages?.[0] } : input.resources;
    const hyperparameters = input.trainer.kind === 'builtin' ? deps.catalog.hyperparameters(input.trainer.name, input.hyperparameters) : input.hyperparameters;
    const [snapshot = null] = input.datasetSnapshotId ? await deps.snapshots.summariesOf([input.datasetSnapshotId]) : [];
    if (input.datasetSnapshotId && !snapshot) throw notFound('Dataset snapshot', { datasetSnapshotId: input.datasetSnapshotId });
    // A job that cannot run is refused now, with the reason, instead of failing later in its trainer.
    if (input.trainer.kind === 'builtin' && deps.catalog.get(input.trainer.name).needsTrainingData) {
      if (!snapshot) {
        throw new DomainError('INVALID_ARGUMENT', `Trainer ${input.trainer.name} needs a dataset snapshot with training pairs: give datasetSnapshotId`, {
          path: ['datasetSnapshotId'],
        });
      }
      if (snapshot.trainCount === 0) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `Dataset snapshot ${snapshot.name} (${snapshot.id}) has no training pairs; trainer ${input.trainer.name} needs some`,
          {
            datasetSnapshotId: snapshot.id,
          },
        );
      }
    }
    if (input.trainer.kind === 'command' && input.trainer.cwd && !commandPolicy.shared) {
      const cwd = await stat(input.trainer.cwd).catch(() => undefined);
      if (!cwd?.isDirectory())
        throw new DomainError('INVALID_ARGUMENT', `The trainer's working directory ${input.trainer.cwd} is not a directory on this machine`, {
          path: ['trainer', 'cwd'],
        });
    }
    let parentVersionId: string | null = null;
    if (input.parentVersion) {
      parentVersionId = await deps.versions.idOf(input.parentVersion.model, input.parentVersion.version);
      if (!parentVersionId) throw notFound(`Version ${input.parentVersion.version} of model ${input.parentVersion.model}`, input.parentVersion);
    }
    return { resources, hyperparameters, parentVersionId };
  };

  return {
    get,

    /** The configuration a version made by this job carries when it is pushed; null if the job is gone. */
    configurationOf: (id: string): Promise<JobConfiguration | null> => jobConfiguration(deps.database, id),

    /** Name and snapshot of each of these jobs that exists, in no particular order (the lineage graph's jobs). */
    summariesOf: (ids: readonly string[]): Promise<Array<{ id: string; name: string; datasetSnapshotId: string | null }>> =>
      ids.length === 0
        ? Promise.resolve([])
        : prisma.trainingJob.findMany({ where: { id: { in: [...ids] } }, select: { id: true, name: true, datasetSnapshotId: true } }),

    /** Jobs that reproduce these versions (their `reproducedFrom.versionId`), oldest first: the lineage graph's reproductions. */
    reproductionsOf: async (versionIds: readonly string[]): Promise<Array<{ id: string; name: string; status: string; versionId: string }>> => {
      if (versionIds.length === 0) return [];
      const rows = await prisma.trainingJob.findMany({
        where: { OR: versionIds.map((versionId) => ({ reproducedFrom: { path: ['versionId'], equals: versionId } })) },
        select: { id: true, name: true, status: true, reproducedFrom: true },
        orderBy: { id: 'asc' },
        take: 1_000,
      });
      return rows.map((row) => ({ id: row.id, name: row.name, status: row.status, versionId: (row.reproducedFrom as { versionId: string }).versionId }));
    },

    /** Whether the job exists (artifacts ask before registering an artifact against it). */
    exists: async (id: string): Promise<boolean> => (await prisma.trainingJob.findUnique({ where: { id }, select: { id: true } })) !== null,

    /** Checks a job as `create` would, without queuing it (a sweep checks its base job before planning trials). */
    async validate(input: CreateJobInput, caller: { actor: string } = { actor: LOCAL_ACTOR }): Promise<void> {
      admit(input, caller);
      await prepare(input);
    },

    /** `caller.actor` is who asks (the API passes its principal); command trainers depend on it. */
    /** `extras.reproducedFrom`: the version a reproduction re-runs (jobs.reproduce sets it; the API's create cannot). */
    async create(
      input: CreateJobInput,
      caller: { actor: string } = { actor: LOCAL_ACTOR },
      extras: { reproducedFrom?: Prisma.InputJsonValue } = {},
    ): Promise<JobRow & { existing: boolean }> {
      admit(input, caller);
      if (input.idempotencyKey) {
        const existing = await prisma.trainingJob.findUnique({ where: { idempotencyKey: input.idempotencyKey } });
        if (existing) return { ...existing, existing: true };
      }
      const { resources, hyperparameters, parentVersionId } = await prepare(input);
      const data = {
        id: newId(),
        name: input.name,
        status: 'queued' satisfies JobStatus,
        trainer: input.trainer,
        executor: input.executor,
        hyperparameters: hyperparameters as Prisma.InputJsonValue,
        resources,
        checkpointPolicy: input.checkpoints,
        validation: input.validation as Prisma.InputJsonValue,
        targetModelName: input.targetModel ?? null,
        priority: input.priority,
        maxAttempts: input.maxAttempts,
        idempotencyKey: input.idempotencyKey ?? null,
        datasetSnapshotId: input.datasetSnapshotId ?? null,
        parentVersionId,
        ...(extras.reproducedFrom ? { reproducedFrom: extras.reproducedFrom } : {}),
      };
      try {
        const job = await prisma.trainingJob.create({ data });
        deps.control().poke();
        return { ...job, existing: false };
      } catch (error) {
        // A concurrent create with the same key won the race: answer with its job.
        const winner = input.idempotencyKey ? await prisma.trainingJob.findUnique({ where: { idempotencyKey: input.idempotencyKey } }) : null;
        if (winner) return { ...winner, existing: true };
        throw error;
      }
    },

    /**
     * A page of job summaries: the free-form JSON (hyperparameters, resources, checkpoint policy, validation rules,
     * final metrics, validation report) is left out — `get` returns it — so a page stays light.
     */
    async list(filter: { status?: JobStatus; targetModel?: string; datasetSnapshotId?: string; limit: number; cursor?: string }) {
      const rows = await prisma.trainingJob.findMany({
        omit: { hyperparameters: true, resources: true, checkpointPolicy: true, validation: true, finalMetrics: true, validationReport: true },
        where: {
          ...(filter.status ? { status: filter.status } : {}),
          ...(filter.targetModel ? { targetModelName: filter.targetModel } : {}),
          ...(filter.datasetSnapshotId ? { datasetSnapshotId: filter.datasetSnapshotId } : {}),
          ...(filter.cursor ? { id: { lt: filter.cursor } } : {}),
        },
        orderBy: { id: 'desc' },
        take: filter.limit + 1,
      });
      return pageOf(rows, filter.limit, (job) => job.id);
    },

    /** `reason` (say `pruned`, from a sweep's early stopping) is recorded as the cancelled job's error. */
    async cancel(id: string, options: { reason?: string } = {}): Promise<JobRow> {
      const job = await get(id);
      assertTransition(job.status as JobStatus, 'cancelled');
      if (job.status === 'queued') {
        const updated = await prisma.trainingJob.updateMany({
          where: { id, status: 'queued' },
          data: { status: 'cancelled', finishedAt: new Date(), ...(options.reason !== undefined ? { error: options.reason } : {}) },
        });
        if (updated.count === 1) return get(id);
      }
      // Running here: the orchestrator signals the trainer and records `cancelled` when it exits.
      if (!deps.control().requestCancel(id, options.reason)) {
        throw new DomainError('FAILED_PRECONDITION', `Job ${id} is ${job.status} but not running on this server`, { id });
      }
      return get(id);
    },

    /**
     * Deletes a finished job: its row, its metric files, its job directory and the artifact
     * records no model version holds (their blobs go at the next garbage collection). A job that
     * produced a model version is refused: the version's lineage and artifacts name it.
     */
    async delete(id: string): Promise<{ deleted: true; id: string; artifactsDeleted: number }> {
      const refuseUnfinished = (status: string): never => {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `Job ${id} is ${status}; only a finished job (succeeded, failed or cancelled) can be deleted${status === 'queued' || status === 'running' ? ': cancel it first' : ''}`,
          {
            id,
            status,
          },
        );
      };
      const job = await get(id);
      if (!isFinishedJobStatus(job.status)) refuseUnfinished(job.status);
      const artifactsDeleted = await deps.database.sql.transaction(async (tx) => {
        // Locked, and checked again: a retry or a version may have come in meanwhile.
        const [row] = await tx.query<{ status: string }>(`SELECT "status" FROM "TrainingJob" WHERE "id" = $1 FOR UPDATE`, [id]);
        if (!row) throw notFound('Training job', { id });
        if (!isFinishedJobStatus(row.status)) refuseUnfinished(row.status);
        const versions = await deps.versions.producedBy(tx, id, 5);
        if (versions.length > 0) {
          const names = versions.map((v) => `${v.model} version ${v.version}`).join(', ');
          throw new DomainError('FAILED_PRECONDITION', `Job ${id} produced ${names}; it is kept for the version's lineage and artifacts`, { id, versions });
        }
        const artifactsDeleted = await deps.artifacts.deleteUnversionedOfJob(tx, id);
        await tx.query(`DELETE FROM "TrainingJob" WHERE "id" = $1`, [id]);
        return artifactsDeleted;
      });
      await deps.metrics.remove(id);
      await rm(deps.workspace.dirOf(id), { recursive: true, force: true });
      return { deleted: true, id, artifactsDeleted };
    },

    async retry(id: string): Promise<JobRow> {
      const job = await get(id);
      assertRetry(job.status as JobStatus);
      // Written only if the job is still in the state the move was checked from (compare-and-swap).
      const moved = await prisma.trainingJob.updateMany({
        where: { id, status: job.status },
        // A manual retry always gets one more attempt; checkpoints/ is kept, so it resumes.
        data: { status: 'queued', notBefore: new Date(), error: null, finishedAt: null, maxAttempts: Math.max(job.maxAttempts, job.attempt + 1) },
      });
      if (moved.count !== 1) {
        const now = await get(id);
        assertRetry(now.status as JobStatus);
        throw new DomainError('FAILED_PRECONDITION', `Job ${id} changed from ${job.status} to ${now.status} meanwhile; retry again`, {
          id,
          from: job.status,
          status: now.status,
        });
      }
      deps.control().poke();
      return get(id);
    },

    /**
     * A byte range of a log, or its last `tail` lines (read from the end, never the whole file).
     * The job is looked up first; the path comes from this server's own job workspace.
     */
    async logs(id: string, stream: LogStream, options: { tail?: number; offset?: number; length: number }): Promise<LogSlice> {
      await get(id);
      return readJobLog(deps.workspace.dirOf(id), stream, options);
    },

    /** Jobs side by side: hyperparameters, which of them differ, and each metric's last, min and max (job-comparison.ts). */
    compare: (input: CompareJobsInput) => compareJobs(deps, input),

    async metrics(jobId: string, names: string[] | undefined, maxPoints: number) {
      await get(jobId);
      return deps.metrics.read(jobId, names, maxPoints);
    },

    /** One series' points as recorded (not downsampled) from its `from`-th on, at most `limit`: how a sweep follows a trial's metric. */
    metricPoints: (jobId: string, name: string, from: number, limit: number) => deps.metrics.points(jobId, name, from, limit),

    /** Up to `limit` jobs that train on this snapshot, described (a snapshot's deletion asks, in its transaction). */
    usingSnapshot: async (tx: SqlQueryable, snapshotId: string, limit: number): Promise<string[]> =>
      (
        await tx.query<{ id: string; name: string; status: string }>(
          `SELECT "id", "name", "status" FROM "TrainingJob" WHERE "datasetSnapshotId" = $1 ORDER BY "id" LIMIT $2`,
          [snapshotId, limit],
        )
      ).map((job) => `training job ${job.name} (${job.id}, ${job.status})`),

    /** Up to `limit` jobs that start from this version (their parent version), described (a version's deletion asks, in its transaction). */
    usingVersion: async (tx: SqlQueryable, versionId: string, limit: number): Promise<string[]> =>
      (
        await tx.query<{ id: string; name: string; status: string }>(
          `SELECT "id", "name", "status" FROM "TrainingJob" WHERE "parentVersionId" = $1 ORDER BY "id" LIMIT $2`,
          [versionId, limit],
        )
      ).map((job) => `training job ${job.name} (${job.id}, ${job.status}) starts from it`),

    /** Blobs that runner jobs' directories keep alive (runnerBlobsOf): a reference source of blob garbage collection. */
    runnerReferences: {
      async referencedHashes(): Promise<ReadonlySet<string>> {
        const jobs = await prisma.trainingJob.findMany({ where: { executor: { notIn: ['local', 'slurm'] } }, select: { id: true, status: true } });
        const hashes = new Set<string>();
        for (const job of jobs) for (const hash of await runnerBlobsOf(deps.workspace.dirOf(job.id), !isFinishedJobStatus(job.status))) hashes.add(hash);
        return hashes;
      },
    },

    /** Status and error of each of these jobs that exists (a sweep's trials), in no particular order. */
    statusesOf: (
      ids: readonly string[],
    ): Promise<Array<{ id: string; status: string; error: string | null; startedAt: Date | null; finishedAt: Date | null }>> =>
      ids.length === 0
        ? Promise.resolve([])
        : prisma.trainingJob.findMany({
            where: { id: { in: [...ids] } },
            select: { id: true, status: true, error: true, startedAt: true, finishedAt: true },
          }),

    /** The hyperparameters a job of this trainer would run with (a built-in trainer's defaults filled in, its schema checked). */
    resolveHyperparameters: (trainer: CreateJobInput['trainer'], hyperparameters: Record<string, unknown>): Record<string, unknown> =>
      trainer.kind === 'builtin' ? deps.catalog.hyperparameters(trainer.name, hyperparameters) : hyperparameters,
  };
};

export type TrainingJobService = ReturnType<typeof createTrainingJobService>;
