import { DomainError } from '@trainyard/core';

/**
 * queued → running → validating → succeeded
 *                  ↘ failed | cancelled
 * A retry sends a failed or cancelled job back to queued with attempt + 1.
 */
export const JOB_STATUSES = ['queued', 'running', 'validating', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['running', 'cancelled'],
  running: ['validating', 'failed', 'cancelled', 'queued'], // queued: lease lost / retry with backoff
  validating: ['succeeded', 'failed'],
  succeeded: [],
  failed: ['queued'],
  cancelled: ['queued'],
};

export const isTerminal = (status: JobStatus): boolean => TRANSITIONS[status].every((next) => next === 'queued');

export const canTransition = (from: JobStatus, to: JobStatus): boolean => TRANSITIONS[from].includes(to);

/** Throws a clear error for an illegal move, e.g. cancelling a job that already succeeded. */
export const assertTransition = (from: JobStatus, to: JobStatus): void => {
  if (!canTransition(from, to)) {
    throw new DomainError('FAILED_PRECONDITION', `A ${from} job cannot become ${to}`, { from, to });
  }
};
