import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, isTerminal, JOB_STATUSES } from './job-state';

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
  });
});
