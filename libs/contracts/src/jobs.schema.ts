import { z } from 'zod';
import { JSON_LIMITS, jsonObject, LIMITS, pageInput } from './common.schema';
import { gateRules, modelName } from './registry.schema';

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

/** Only the local executor exists; kubernetes and sagemaker are reserved names for later executors. */
export const executorKind = z.enum(['local']);

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
  idempotencyKey: z.string().min(1).max(200).optional(),
  parentVersion: z.strictObject({ model: modelName, version: z.number().int().min(1) }).optional(),
});
export type CreateJobInput = z.infer<typeof createJobInput>;

export const jobIdInput = z.strictObject({ id: z.uuid() });
export const listJobsInput = z.strictObject({
  status: z.enum(['queued', 'running', 'validating', 'succeeded', 'failed', 'cancelled']).optional(),
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
