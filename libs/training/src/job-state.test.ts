import { FINISHED_JOB_STATUSES } from '@trainyard/contracts';
import { describe, expect, it } from 'vitest';
import { allowedFrom, assertRetry, assertTransition, canTransition, isTerminal, JOB_STATUSES, jobStatusMove } from './job-state';

describe('job state machine', () => {
  it('allows the lifecycle and retries', () => {
    for (const [from, to] of [
      ['queued', 'running'],
      ['running', 'validating'],
      ['validating', 'succeeded'],
      ['running', 'failed'],
      ['failed', 'queued'],
      ['cancelled', 'queued'],
      ['queued', 'cancelled'],
    ] as const) {
      expect(canTransition(from, to)).toBe(true);
    }
  });

  it('rejects illegal transitions with a clear error', () => {
    expect(() => assertTransition('succeeded', 'cancelled')).toThrow('A succeeded job cannot become cancelled');
    expect(() => assertTransition('queued', 'succeeded')).toThrow(/cannot become/);
    expect(() => assertTransition('succeeded', 'queued')).toThrow(/cannot become/);
  });

  it('knows which states are final', () => {
    expect(JOB_STATUSES.filter(isTerminal)).toEqual(['succeeded', 'failed', 'cancelled']);
    // What the API, the UI and the CLI treat as finished (contracts) is what the table says.
    expect(JOB_STATUSES.filter(isTerminal)).toEqual([...FINISHED_JOB_STATUSES]);
  });

  it('derives the states each move is allowed from off the table', () => {
    for (const to of JOB_STATUSES) {
      expect(allowedFrom(to)).toEqual(JOB_STATUSES.filter((from) => canTransition(from, to)));
    }
    expect(allowedFrom('running')).toEqual(['queued']);
    expect(allowedFrom('validating')).toEqual(['running']);
    expect(allowedFrom('succeeded')).toEqual(['validating']);
    expect(allowedFrom('failed')).toEqual(['running', 'validating']);
    expect(allowedFrom('cancelled')).toEqual(['queued', 'running']);
    expect(allowedFrom('queued')).toEqual(['running', 'validating', 'failed', 'cancelled']);
  });

  it('gives raw UPDATEs the status SET and a WHERE that admits only the legal from-states', () => {
    expect(jobStatusMove('succeeded', 2)).toEqual({ set: '"status" = $3', where: '"status" = ANY($4::text[])', params: ['succeeded', ['validating']] });
    expect(() => jobStatusMove('finished' as never, 0)).toThrow(/unknown job status/);
  });

  it('lets a caller retry only what the table re-queues, never a job being validated', () => {
    for (const from of ['failed', 'cancelled'] as const) expect(() => assertRetry(from)).not.toThrow();
    expect(() => assertRetry('validating')).toThrow('A validating job cannot become queued');
    expect(() => assertRetry('succeeded')).toThrow('A succeeded job cannot become queued');
    // Running (and queued) jobs go back to the queue only through the orchestrator, under the lease.
    expect(() => assertRetry('running')).toThrow('A running job cannot become queued');
    expect(() => assertRetry('queued')).toThrow('A queued job cannot become queued');
  });
});
