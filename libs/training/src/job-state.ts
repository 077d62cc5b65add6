import { JOB_STATUSES, type JobStatus } from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';

// The status names are contracts' one list; this file owns only the moves between them.
export { JOB_STATUSES, type JobStatus };

/**
 * queued → running → validating → succeeded
 *                  ↘ failed | cancelled
 * A retry sends a failed or cancelled job back to queued with attempt + 1.
 *
 * This table is the only authority on status changes: services check a move with
 * assertTransition before writing, and every raw UPDATE that sets a job's status takes its SET
 * and WHERE from jobStatusMove, so the database refuses an illegal move too.
 */

const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['running', 'cancelled'],
  running: ['validating', 'failed', 'cancelled', 'queued'], // queued: lease lost / retry with backoff / server stopping
  validating: ['succeeded', 'failed', 'queued'], // queued: the orchestrator takes over a job whose holder is gone
  succeeded: [],
  failed: ['queued'],
  cancelled: ['queued'],
};

export const isTerminal = (status: JobStatus): boolean => TRANSITIONS[status].every((next) => next === 'queued');

export const canTransition = (from: JobStatus, to: JobStatus): boolean => TRANSITIONS[from].includes(to);

const illegalMove = (from: JobStatus, to: JobStatus): DomainError => new DomainError('FAILED_PRECONDITION', `A ${from} job cannot become ${to}`, { from, to });

/** Throws a clear error for an illegal move, e.g. cancelling a job that already succeeded. */
export const assertTransition = (from: JobStatus, to: JobStatus): void => {
  if (!canTransition(from, to)) throw illegalMove(from, to);
};

/**
 * A caller's retry (jobs.retry): only a job that ended without succeeding (failed, cancelled)
 * goes back to the queue. Running and validating jobs move to queued only through the
 * orchestrator (a shutdown or a takeover, under the lease): a caller's retry of a running job
 * would let it be claimed again while its trainer still runs.
 */
const RETRYABLE: readonly JobStatus[] = ['failed', 'cancelled'];
export const assertRetry = (from: JobStatus): void => {
  if (!RETRYABLE.includes(from)) throw illegalMove(from, 'queued');
  assertTransition(from, 'queued');
};

/** The states a job may become `to` from, read off the table. */
export const allowedFrom = (to: JobStatus): JobStatus[] => JOB_STATUSES.filter((from) => canTransition(from, to));

/**
 * The status part of a raw `UPDATE "TrainingJob"` that moves a job to `to`: `set` goes into SET,
 * `where` is ANDed into WHERE (the row's status must be one the table allows the move from), and
 * `params` are appended to the statement's parameters, which already take `$1`…`$paramsBefore`.
 * A row in any other state is left as it is (the UPDATE matches no row): the write itself cannot
 * make an illegal move.
 */
export const jobStatusMove = (to: JobStatus, paramsBefore: number): { set: string; where: string; params: [JobStatus, JobStatus[]] } => {
  if (!JOB_STATUSES.includes(to)) throw new Error(`unknown job status ${String(to)}`);
  return {
    set: `"status" = $${paramsBefore + 1}`,
    where: `"status" = ANY($${paramsBefore + 2}::text[])`,
    params: [to, allowedFrom(to)],
  };
};
