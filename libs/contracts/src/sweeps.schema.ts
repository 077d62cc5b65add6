import { z } from 'zod';
import { asyncIterableOf, JSON_LIMITS, jsonValue, pageInput, pageOutput, seedSchema, storedJson } from './common.schema';
import { createJobInput } from './jobs.schema';

/** Bounds of a sweep: what one request may ask for, and what a grid may expand to. */
export const SWEEP_LIMITS = {
  parameters: 32,
  valuesPerParameter: 256,
  /** A grid larger than this is refused (cap it with maxTrials, or sample it with method random). */
  trials: 10_000,
  /** A grid capped by maxTrials is shuffled whole first: larger ones are refused (a random sweep samples them). */
  cappedGrid: 200_000,
  concurrency: 64,
} as const;

/** A hyperparameter's name: a top-level key of the trainer's hyperparameters. */
export const sweepParameterName = z
  .string()
  .min(1)
  .max(JSON_LIMITS.keyLength)
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a hyperparameter name: letters, digits, _ . -, starting with a letter or _');

const listedValues = z.strictObject({
  values: z
    .array(jsonValue({ maxBytes: 4_096, maxDepth: 4 }))
    .min(1)
    .max(SWEEP_LIMITS.valuesPerParameter),
});

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const sampledRange = z
  .strictObject({ min: finite, max: finite, distribution: z.enum(['uniform', 'log-uniform', 'int']) })
  .refine((range) => range.min <= range.max, { message: 'min must not exceed max', path: ['max'] })
  .refine((range) => range.distribution !== 'log-uniform' || range.min > 0, { message: 'log-uniform needs min > 0', path: ['min'] })
  .refine((range) => range.distribution !== 'int' || (Number.isSafeInteger(range.min) && Number.isSafeInteger(range.max)), {
    message: 'int needs whole-number bounds',
    path: ['min'],
  });

/** One swept hyperparameter: listed values, or a range sampled by `random` (a grid needs listed values). */
export const sweepParameter = z.union([listedValues, sampledRange]);
export type SweepParameter = z.infer<typeof sweepParameter>;

/**
 * ASHA (asynchronous successive halving): at each rung — `gracePeriod`, then ×`reductionFactor`
 * each time, in the steps of the trainer's metric points — a trial whose value of `metric` is not
 * in the best 1/`reductionFactor` of the values recorded at that rung so far is pruned.
 */
export const ashaSpec = z.strictObject({
  type: z.literal('asha'),
  metric: z.string().min(1).max(128),
  mode: z.enum(['min', 'max']),
  gracePeriod: z.number().int().min(1).max(1_000_000_000),
  reductionFactor: z.number().int().min(2).max(16).default(3),
});
export type AshaSpec = z.infer<typeof ashaSpec>;

export const sweepName = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');

/** A job's specification, less what each trial gets of its own (its name and idempotency key). */
export const sweepBaseJob = createJobInput.omit({ name: true, idempotencyKey: true });

export const createSweepInput = z
  .strictObject({
    name: sweepName,
    base: sweepBaseJob,
    parameters: z
      .record(sweepParameterName, sweepParameter)
      .refine((parameters) => Object.keys(parameters).length >= 1, 'sweep at least one parameter')
      .refine((parameters) => Object.keys(parameters).length <= SWEEP_LIMITS.parameters, `at most ${SWEEP_LIMITS.parameters} parameters`),
    method: z.enum(['grid', 'random']),
    /** Random: how many distinct configurations to try (required). Grid: at most this many of the grid, in order. */
    maxTrials: z.number().int().min(1).max(SWEEP_LIMITS.trials).optional(),
    /** Trials running at once. */
    concurrency: z.number().int().min(1).max(SWEEP_LIMITS.concurrency).default(4),
    seed: seedSchema,
    earlyStopping: ashaSpec.optional(),
  })
  .refine((sweep) => sweep.method !== 'random' || sweep.maxTrials !== undefined, { message: 'a random sweep needs maxTrials', path: ['maxTrials'] })
  .refine((sweep) => sweep.method !== 'grid' || Object.values(sweep.parameters).every((parameter) => 'values' in parameter), {
    message: 'a grid sweeps listed values only: give { values: [...] } for every parameter, or use method random',
    path: ['parameters'],
  });
export type CreateSweepInput = z.infer<typeof createSweepInput>;

/** A sweep by its name or id. */
export const sweepRefInput = z.strictObject({ sweep: z.string().min(1).max(200) });
export const listSweepsInput = z.strictObject({ ...pageInput });

/**
 * What became of a trial: `pending` (not started), `queued`, `running`, `succeeded`, `failed`,
 * `pruned` (stopped by early stopping: its job is `cancelled` with the error `pruned`) or
 * `cancelled` (by a cancel of the sweep or of its job).
 */
export const SWEEP_TRIAL_OUTCOMES = ['pending', 'queued', 'running', 'succeeded', 'failed', 'pruned', 'cancelled'] as const;
export const sweepTrialOutcome = z.enum(SWEEP_TRIAL_OUTCOMES);
export type SweepTrialOutcome = z.infer<typeof sweepTrialOutcome>;

export const sweepTrialOutput = z.object({
  index: z.number(),
  configKey: z.string(),
  overrides: storedJson<Record<string, unknown>>(),
  jobId: z.string().nullable(),
  runs: z.number(),
  outcome: sweepTrialOutcome,
  error: z.string().nullable(),
  prunedAtRung: z.number().nullable(),
  prunedValue: z.number().nullable(),
});

export const sweepStatus = z.enum(['running', 'finished', 'cancelled']);
export type SweepStatus = z.infer<typeof sweepStatus>;

export const sweepOutput = z.object({
  id: z.string(),
  name: z.string(),
  status: sweepStatus,
  method: z.enum(['grid', 'random']),
  concurrency: z.number(),
  earlyStopping: storedJson<AshaSpec | null>(),
  parameters: storedJson<Record<string, SweepParameter>>(),
  createdAt: z.date(),
  finishedAt: z.date().nullable(),
  counts: z.record(sweepTrialOutcome, z.number()),
  /** Wall-clock seconds its trials' jobs ran, summed (what early stopping saves). */
  trainerSeconds: z.number(),
  trials: z.array(sweepTrialOutput),
});
export type SweepOutput = z.infer<typeof sweepOutput>;
export const createdSweepOutput = sweepOutput.extend({ resumed: z.boolean() });
export const retriedSweepOutput = z.object({ retried: z.array(z.number()), sweep: sweepOutput });
export const sweepPageOutput = pageOutput(
  z.object({ id: z.string(), name: z.string(), status: z.string(), createdAt: z.date(), finishedAt: z.date().nullable(), trials: z.number() }),
);

/** `sweeps.events`: the sweep as it is, then trials started and pruned and the sweep's end, as they happen. */
const sweepEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('snapshot'), sweep: sweepOutput }),
  z.object({
    type: z.literal('trial'),
    index: z.number(),
    outcome: sweepTrialOutcome,
    /** Missing when its job could not be created (outcome `failed`). */
    jobId: z.string().optional(),
    rung: z.number().optional(),
    value: z.number().optional(),
    rank: z.number().optional(),
    of: z.number().optional(),
  }),
  z.object({ type: z.literal('status'), status: sweepStatus }),
]);
export type SweepEvent = z.infer<typeof sweepEvent>;
export const sweepEventsOutput = asyncIterableOf(sweepEvent);
