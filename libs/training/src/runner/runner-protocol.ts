import { z } from 'zod';

/**
 * What a runner and the server say to each other over HTTP (docs/runner.md): the routes under
 * `/runner/jobs/<job id>/`, called only with the attempt's job token. Every body is a strict
 * object with bounded sizes; the server checks it with these schemas, the runner builds it with
 * their types.
 */

export const RUNNER_ROUTE_PREFIX = '/runner/jobs/';
/** The environment variable the runner reads its job token from (never a command-line argument: `ps` shows those). */
export const RUNNER_TOKEN_ENV = 'TRAINYARD_JOB_TOKEN';
/** Most records one batch carries, and most bytes of one batch's body. */
export const MAX_RECORDS_PER_BATCH = 1_000;
export const MAX_RECORDS_BATCH_BYTES = 4 * 1024 * 1024;
/** Longest log line sent (a longer one is cut, with a marker). */
export const MAX_LOG_LINE_CHARS = 8 * 1024;
export const MAX_OUTPUTS_PER_CALL = 1_000;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** A path relative to the job directory, as the trainer protocol names files: no `..`, no absolute path, no backslash. */
export const jobRelativePath = z
  .string()
  .min(1)
  .max(1_024)
  .regex(/^(?!\/)(?!.*\\)(?!.*(^|\/)\.\.?(\/|$))[^\0]+$/, 'must be a relative path inside the job directory, without . or .. segments');

export const runnerChannel = z.strictObject({ name: z.enum(['train', 'validation']), sha256, bytes: z.number().int().nonnegative() });

/** GET inputs: everything the runner needs to lay out the job directory and start the trainer. */
export const runnerInputs = z.strictObject({
  job: z.strictObject({
    id: z.string(),
    name: z.string(),
    attempt: z.number().int().positive(),
    trainer: z.unknown(),
    datasetSnapshotId: z.string().nullable(),
  }),
  hyperparameters: z.record(z.string(), z.unknown()),
  command: z.array(z.string().max(4_096)).min(1).max(256),
  channels: z.array(runnerChannel).max(2),
  /**
   * The checkpoints the job keeps from its earlier attempts (blobs their runners uploaded): a
   * retry on a fresh machine downloads them into `checkpoints/` and resumes, as a local retry does.
   */
  checkpoints: z.array(z.strictObject({ path: jobRelativePath, sha256, bytes: z.number().int().nonnegative() })).max(10_000),
  /** Last sequence number the server has applied: the runner sends from the next one. */
  acked: z.number().int().nonnegative(),
  /** When the job token stops working (ISO 8601): a runner that cannot reach the server gives up then. */
  tokenExpiresAt: z.string().max(64),
  timeoutMs: z.number().int().positive().nullable(),
  graceMs: z.number().int().nonnegative(),
});
export type RunnerInputs = z.infer<typeof runnerInputs>;

/**
 * One record of the runner's stream, numbered from 1 in the order they happened: a trainer event
 * (checked again on the server with the protocol's schema), a malformed event line (reported as
 * the local executor reports it), or a line of the trainer's stdout/stderr.
 */
export const runnerRecord = z.discriminatedUnion('kind', [
  z.strictObject({ seq: z.number().int().positive(), kind: z.literal('event'), event: z.record(z.string(), z.unknown()) }),
  z.strictObject({ seq: z.number().int().positive(), kind: z.literal('bad_event'), line: z.string().max(1_000), error: z.string().max(1_000) }),
  z.strictObject({
    seq: z.number().int().positive(),
    kind: z.literal('log'),
    stream: z.enum(['stdout', 'stderr']),
    line: z.string().max(MAX_LOG_LINE_CHARS + 64),
  }),
]);
export type RunnerRecord = z.infer<typeof runnerRecord>;

/** POST records: consecutive records; those the server already applied (seq ≤ acked) are skipped, so a retry never duplicates. */
export const runnerRecordsBatch = z.strictObject({ records: z.array(runnerRecord).min(1).max(MAX_RECORDS_PER_BATCH) });
export const runnerRecordsAck = z.strictObject({ acked: z.number().int().nonnegative(), cancelRequested: z.boolean() });

/** POST outputs: files already uploaded to the blob route, registered for this job under their job-relative path. */
export const runnerOutputs = z.strictObject({
  files: z
    .array(z.strictObject({ path: jobRelativePath, sha256, size: z.number().int().nonnegative() }))
    .min(1)
    .max(MAX_OUTPUTS_PER_CALL),
});
export type RunnerOutputFile = z.infer<typeof runnerOutputs>['files'][number];

/** POST finish: how the attempt ended, sent once every record up to `lastSeq` was acknowledged and the outputs registered. */
export const runnerFinish = z.strictObject({
  lastSeq: z.number().int().nonnegative(),
  /** Malformed event lines the runner counted but did not send one by one (past the first 20), and the last few. */
  badEvents: z.strictObject({
    unsent: z.number().int().nonnegative(),
    last: z.array(z.strictObject({ line: z.string().max(1_000), error: z.string().max(1_000) })).max(5),
  }),
  /** Metric points the runner skipped because their step or value was NaN, Infinity or null. */
  nonFiniteMetrics: z.number().int().nonnegative(),
  outcome: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('exited'), exitCode: z.number().int() }),
    z.strictObject({
      kind: z.literal('killed'),
      exitCode: z.number().int().nullable(),
      signal: z.string().max(64).nullable(),
      reason: z.enum(['cancelled', 'timeout', 'signal']),
    }),
    /** The trainer never started: a channel failed verification, the job directory could not be written, the command was not found. */
    z.strictObject({ kind: z.literal('setup_failed'), message: z.string().max(4_000) }),
  ]),
});
export type RunnerFinish = z.infer<typeof runnerFinish>;
