import type { CreateJobInput, CreateSweepInput, SweepTrialOutcome } from '@trainyard/contracts';
import type { Prisma } from '@trainyard/db';

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

export type SweepRow = Prisma.SweepGetPayload<object>;
/** What a pass reads of every trial: not its JSON (a sweep of 10 000 trials is read twice a second while it runs). */
export const TRIAL_STATE = {
  id: true,
  index: true,
  configKey: true,
  jobId: true,
  runs: true,
  metricCursor: true,
  settled: true,
  prunedAtRung: true,
  launchError: true,
} as const;
export type TrialState = Prisma.SweepTrialGetPayload<{ select: typeof TRIAL_STATE }>;
export type JobStatusRow = Awaited<ReturnType<SweepJobs['statusesOf']>>[number];

/** The reason a pruned trial's job is cancelled with (its `error`): what tells `pruned` from `cancelled`. */
export const PRUNED_REASON = 'pruned';
export const ACTIVE = new Set(['queued', 'running', 'validating']);
/** `deleted`: the trial's job is gone (jobs.delete): it ended, whatever it was. */
export const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'deleted']);
/** All of a sweep's planned configurations together, as JSON: a sweep is rows in a database, not a dataset. */
export const MAX_PLANNED_BYTES = 16 * 1024 * 1024;
/** Metric records read per trial per pass: a trial that logged a million points is caught up over a few passes. */
export const POINTS_PER_PASS = 50_000;
/** How soon after a trial's metric point a pass runs (points arriving meanwhile share it). */
export const EVENT_PASS_MS = 50;

/** A trial job's status; `deleted` when its job is gone. Read only for trials whose job existed when the pass began. */
export const statusOf = (trial: TrialState, jobs: ReadonlyMap<string, JobStatusRow>): string | undefined =>
  trial.jobId ? (jobs.get(trial.jobId)?.status ?? 'deleted') : undefined;

export const outcomeOf = (trial: TrialState, job: JobStatusRow | undefined): SweepTrialOutcome => {
  if (trial.launchError !== null) return 'failed';
  if (!trial.jobId) return 'pending';
  const status = job?.status ?? 'deleted';
  if (status === 'deleted') return 'cancelled';
  // Pruned: cancelled by early stopping (or being cancelled); a job that ended on its own before the cancel reached it keeps its own end.
  if (trial.prunedAtRung !== null && status !== 'succeeded' && status !== 'failed') return 'pruned';
  if (status === 'validating') return 'running';
  return status as SweepTrialOutcome;
};

/** A stored sweep's specification (everything it was created with but its name). */
export const specOf = (sweep: SweepRow): Omit<CreateSweepInput, 'name'> => sweep.spec as unknown as Omit<CreateSweepInput, 'name'>;
