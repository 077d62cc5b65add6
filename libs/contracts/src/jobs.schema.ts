import { z } from 'zod';
import { asyncIterableOf, JSON_LIMITS, jsonObject, LIMITS, pageInput, pageOutput, storedJson } from './common.schema';
import { gateRules, modelName } from './registry.schema';

/**
 * Every state a training job can be in: the one list (libs/training's job-state.ts owns the moves
 * between them, the UI and CLI filter and count by them).
 */
export const JOB_STATUSES = ['queued', 'running', 'validating', 'succeeded', 'failed', 'cancelled'] as const;
export const jobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof jobStatus>;
/** The states a job ends in (a retry may queue a failed or cancelled one again); job-state.ts's table agrees (job-state.test.ts). */
export const FINISHED_JOB_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export const isFinishedJobStatus = (status: string): boolean => (FINISHED_JOB_STATUSES as readonly string[]).includes(status);

/** A command trainer's argv, run without a shell: the program, then its arguments as given. */
export const commandArgv = z
  .array(
    z
      .string()
      .min(1)
      .max(4_096)
      .refine((v) => !v.includes('\u0000'), 'must not contain NUL'),
  )
  .min(1)
  .max(256);

export const trainerSpec = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('builtin'),
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-z][a-z0-9-]*$/),
  }),
  z.strictObject({
    kind: z.literal('command'),
    command: commandArgv,
    /** Working directory on this machine (local mode only; the caller already runs code here). */
    cwd: z
      .string()
      .max(4_096)
      .regex(/^\//, 'must be an absolute path')
      .refine((v) => !v.includes('\u0000'), 'must not contain NUL')
      .optional(),
  }),
]);
export type TrainerSpec = z.infer<typeof trainerSpec>;

/**
 * Where a job runs: this server's machine, a Slurm cluster, or through the runner (docs/runner.md):
 * on this machine (`runner-local`), as a Kubernetes Job or a SageMaker training job. Each but
 * `local` only when the server has it configured.
 */
export const executorKind = z.enum(['local', 'slurm', 'runner-local', 'kubernetes', 'sagemaker']);

/** A container image reference (`registry/repo:tag` or `…@sha256:…`); it must also be on the server's allowlist. */
export const containerImage = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, 'a container image reference: lowercase letters, digits and . _ - / : @');

/** A Kubernetes object name (DNS-1123 label): a namespace or service account. */
const kubernetesName = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a Kubernetes name: lowercase letters, digits and -');

/** A Slurm partition name (also what a user may type): letters, digits, `_`, `.`, `-`. */
const partitionName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a partition name: letters, digits, _ . -');

/**
 * Which reported checkpoints a job keeps (files in its directory, artifacts on success): the
 * last `keepLast` and, with `keepBest`, the one reported after the best value of that metric.
 */
export const checkpointPolicy = z.strictObject({
  keepLast: z.number().int().min(1).max(1_000).default(3),
  keepBest: z.strictObject({ metric: z.string().min(1).max(128), mode: z.enum(['min', 'max']) }).optional(),
});
export type CheckpointPolicy = z.infer<typeof checkpointPolicy>;

export const createJobInput = z.strictObject({
  name: z.string().min(1).max(LIMITS.nameLength),
  datasetSnapshotId: z.uuid().optional(),
  trainer: trainerSpec,
  executor: executorKind.default('local'),
  hyperparameters: jsonObject({ maxBytes: JSON_LIMITS.objectBytes }).default({}),
  resources: z
    .strictObject({
      cpus: z.number().min(0.1).max(1_024).optional(),
      memoryMb: z.number().int().min(16).max(10_000_000).optional(),
      /** GPUs for a scheduler executor (Slurm: `--gres=gpu:N`). */
      gpus: z.number().int().min(0).max(64).optional(),
      /** Slurm partition (default: the server's TRAINYARD_SLURM_PARTITION, else the cluster's default). */
      partition: partitionName.optional(),
      /** Kubernetes, SageMaker: the image the runner and the trainer run in (default: the server's first allowed image). */
      image: containerImage.optional(),
      /** Kubernetes: the namespace and service account (each must be one the server allows; default: its first). */
      namespace: kubernetesName.optional(),
      serviceAccount: kubernetesName.optional(),
      /** SageMaker: the instance type (default: the server's) and count (1: one runner reports a job; distributed training on several instances is not supported, docs/sagemaker.md). */
      instanceType: z
        .string()
        .max(64)
        .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'a SageMaker instance type such as ml.g5.xlarge')
        .optional(),
      instanceCount: z.number().int().min(1).max(1).optional(),
      timeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(30 * 86_400)
        .optional(),
    })
    .default({}),
  checkpoints: checkpointPolicy.prefault({}),
  validation: gateRules.default([]),
  targetModel: modelName.optional(),
  priority: z.number().int().min(-100).max(100).default(0),
  maxAttempts: z.number().int().min(1).max(10).default(1),
  idempotencyKey: z
    .string()
    .min(1)
    .max(200)
    // A sweep's trials are keyed `sweep:…` (docs/sweeps.md): a caller's job must never be taken for one.
    .refine((key) => !key.startsWith('sweep:'), 'keys starting with sweep: are reserved for the trials of sweeps')
    .optional(),
  parentVersion: z.strictObject({ model: modelName, version: z.number().int().min(1) }).optional(),
});
export type CreateJobInput = z.infer<typeof createJobInput>;

export const jobIdInput = z.strictObject({ id: z.uuid() });
export const listJobsInput = z.strictObject({
  status: jobStatus.optional(),
  targetModel: modelName.optional(),
  datasetSnapshotId: z.uuid().optional(),
  ...pageInput,
});
/**
 * `jobs.logs`: the job's trainer stdout, stderr or events log. Answers `{ text, size, offset,
 * nextOffset }`: text is at most `length` bytes, whole UTF-8 characters; pass `nextOffset` back
 * as `offset` to read on (follow). Without `offset`: the last `tail` lines (default 100) of the
 * last `length` bytes.
 */
export const jobLogsInput = z.strictObject({
  id: z.uuid(),
  stream: z.enum(['stdout', 'stderr', 'events']).default('stdout'),
  /** Last N lines; or a byte range with `offset`/`length`. */
  tail: z.number().int().min(1).max(10_000).optional(),
  offset: z.number().int().min(0).optional(),
  length: z
    .number()
    .int()
    .min(1)
    .max(4 * 1024 * 1024)
    .default(64 * 1024),
});
/** How much of a failed job's stderr is shown with its error (CLI `jobs show`/`follow`, the web job page). */
export const FAILURE_LOG_TAIL = { lines: 40, bytes: 8 * 1024 } as const;
export const jobMetricsInput = z.strictObject({
  jobId: z.uuid(),
  names: z.array(z.string().min(1).max(128)).max(100).optional(),
  maxPoints: z.number().int().min(10).max(100_000).default(2_000),
});

/** A status read back from the database (a text column): checked to be one of JOB_STATUSES, typed as one. */
const storedJobStatus = z.string().pipe(jobStatus);

/** A job's row without its free-form JSON: what `jobs.list` pages hold. */
export const jobSummaryOutput = z.object({
  id: z.string(),
  name: z.string(),
  status: storedJobStatus,
  /** The TrainerSpec it was created with. */
  trainer: storedJson(),
  executor: z.string(),
  targetModelName: z.string().nullable(),
  priority: z.number(),
  maxAttempts: z.number(),
  attempt: z.number(),
  idempotencyKey: z.string().nullable(),
  datasetSnapshotId: z.string().nullable(),
  parentVersionId: z.string().nullable(),
  progress: z.number(),
  progressMessage: z.string().nullable(),
  /** Earliest time a queued job may start (retry backoff). */
  notBefore: z.date(),
  exitCode: z.number().nullable(),
  modelVersionId: z.string().nullable(),
  // Which server holds the job's lease, and until when. Its fencing token (leaseToken) is the orchestrator's alone and is
  // never sent: not being listed here, it is stripped from every output.
  leaseOwner: z.string().nullable(),
  leaseExpiresAt: z.date().nullable(),
  /** Where a scheduler runs it: Slurm's job id, its state and, while pending, why (`Resources`, `Priority`, …). */
  scheduler: storedJson().pipe(z.object({ kind: z.string(), jobId: z.string(), state: z.string(), reason: z.string().nullable() }).nullable()),
  error: z.string().nullable(),
  createdAt: z.date(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
});
export const jobPageOutput = pageOutput(jobSummaryOutput);

/** A whole job: the summary and its configuration and results as stored JSON. */
export const jobOutput = jobSummaryOutput.extend({
  hyperparameters: storedJson(),
  resources: storedJson(),
  checkpointPolicy: storedJson(),
  /** Gate rules the new version must pass. */
  validation: storedJson(),
  /** Last value of each metric series. */
  finalMetrics: storedJson(),
  validationReport: storedJson(),
  /** What ran: the trainer's identity (TrainerIdentity, reproduce.schema.ts), recorded when it started; null before. */
  trainerIdentity: storedJson(),
  /** A reproduction's original version: { versionId, model, version, differences } (jobs.reproduce); null for other jobs. */
  reproducedFrom: storedJson(),
});
export type JobOutput = z.infer<typeof jobOutput>;
/** `jobs.create`: the job, and whether it already existed (same idempotency key). */
export const createdJobOutput = jobOutput.extend({ existing: z.boolean() });
export const deletedJobOutput = z.object({ deleted: z.literal(true), id: z.string(), artifactsDeleted: z.number() });

/** `jobs.logs`: part of a log, always bounded, always whole UTF-8 characters. */
export const logSliceOutput = z.object({
  text: z.string(),
  /** The whole log's size in bytes, now. */
  size: z.number(),
  /** Byte offset where `text` starts. */
  offset: z.number(),
  /** Byte offset just after `text`, on a character boundary: read on from here (follow). */
  nextOffset: z.number(),
});
export type LogSlice = z.infer<typeof logSliceOutput>;

/**
 * A series' points as the metrics store read them (numbers it wrote itself): only the array is
 * checked, not each of up to 100 000 values per series: checking each made a full-size
 * `jobs.metrics` answer (5 series) tens of milliseconds slower.
 */
const metricPoints = z.custom<number[]>((value) => Array.isArray(value));

/** `jobs.metrics`: per series name, its (downsampled) points as parallel arrays. */
export const metricSeriesOutput = z.object({
  step: metricPoints,
  value: metricPoints,
  time: metricPoints,
  /** Points stored, before downsampling. */
  total: z.number(),
});
export type MetricSeries = z.infer<typeof metricSeriesOutput>;
export const jobMetricsOutput = z.record(z.string(), metricSeriesOutput);

/** A builtin trainer's hyperparameters as JSON Schema (zod's toJSONSchema output; the UI builds its form from it). */
export interface HyperparameterSchema {
  type?: string;
  properties?: Record<string, { type?: string; default?: unknown; minimum?: number; maximum?: number; exclusiveMinimum?: number; description?: string }>;
  required?: string[];
}
export const trainersOutput = z.array(z.object({ name: z.string(), description: z.string(), hyperparameters: storedJson<HyperparameterSchema>() }));

/** One live event of a job (`jobs.events`): its status, progress, metric points or a log line. */
export const jobEventOutput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('status'), status: storedJobStatus, error: z.string().nullable().optional() }),
  z.object({ type: z.literal('progress'), fraction: z.number(), message: z.string().optional() }),
  z.object({ type: z.literal('metric'), name: z.string(), step: z.number(), value: z.number() }),
  /** Points a trainer sent as one batch: [name, step, value]. */
  z.object({ type: z.literal('metrics'), points: z.array(z.tuple([z.string(), z.number(), z.number()])) }),
  z.object({ type: z.literal('log'), stream: z.enum(['events', 'stdout', 'stderr']), line: z.string() }),
]);
/** What the event bus carries (a status as the text the orchestrator writes); subscribers receive JobEventOutput. */
export type JobEvent = z.input<typeof jobEventOutput>;
export type JobEventOutput = z.output<typeof jobEventOutput>;
export const jobEventsOutput = asyncIterableOf(jobEventOutput);

/** How many jobs one `jobs.compare` call takes (a sweep of 1 000 trials fits). */
export const COMPARE_LIMITS = { jobs: 1_000, metrics: 100 } as const;
/** A metric series' name as trainers report it. */
const metricName = z.string().min(1).max(128);

/** `jobs.compare`: any set of jobs (a sweep passes its trials' ids), optionally only some metrics. */
export const compareJobsInput = z.strictObject({
  jobIds: z.array(z.uuid()).min(1).max(COMPARE_LIMITS.jobs),
  metrics: z.array(metricName).min(1).max(COMPARE_LIMITS.metrics).optional(),
});
export type CompareJobsInput = z.infer<typeof compareJobsInput>;

/**
 * One series summed up in one pass over its stored points: the last point, the lowest and the
 * highest (the first step each was reached at) and how many points there are. A value that is not
 * a finite number (NaN, ±Infinity) is never a min or max; a last one is null.
 */
export const metricSummaryOutput = z.object({
  last: z.number().nullable(),
  lastStep: z.number(),
  min: z.number().nullable(),
  minStep: z.number().nullable(),
  max: z.number().nullable(),
  maxStep: z.number().nullable(),
  count: z.number(),
});
export type MetricSummary = z.infer<typeof metricSummaryOutput>;

export const comparedJobOutput = z.object({
  id: z.string(),
  name: z.string(),
  status: storedJobStatus,
  executor: z.string(),
  hyperparameters: storedJson<Record<string, unknown>>(),
  /** Per metric name, its summary (a metric the job never reported is absent). */
  metrics: z.record(z.string(), metricSummaryOutput),
});
export type ComparedJob = z.infer<typeof comparedJobOutput>;

/** `jobs.compare`: the jobs in the order asked, and the columns a table of them has. */
export const compareJobsOutput = z.object({
  jobs: z.array(comparedJobOutput),
  /** Every hyperparameter name any of the jobs has, sorted. */
  parameters: z.array(z.string()),
  /** The names whose value is not the same on every job (missing on some counts as different), sorted. */
  differingParameters: z.array(z.string()),
  /** Every metric name any of the jobs reported (of those asked for), sorted. */
  metrics: z.array(z.string()),
});
export type CompareJobsOutput = z.infer<typeof compareJobsOutput>;
