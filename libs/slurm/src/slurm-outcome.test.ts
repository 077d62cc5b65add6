import { describe, expect, it } from 'vitest';
import type { SlurmJobState } from './slurm-cli.port';
import { slurmOutcome } from './slurm-executor';

const final = (state: string, extra: Partial<SlurmJobState> = {}): SlurmJobState => ({ slurmJobId: '77', state, source: 'scontrol', ...extra });

describe('what a finished Slurm job means for the Trainyard job', () => {
  it('takes the trainer’s exit code for COMPLETED and FAILED, from its exit file first', () => {
    expect(slurmOutcome(final('COMPLETED', { exitCode: 0 }), undefined, false)).toEqual({ kind: 'exited', exitCode: 0, signal: null });
    expect(slurmOutcome(final('FAILED', { exitCode: 2 }), undefined, false)).toEqual({ kind: 'exited', exitCode: 2, signal: null });
    expect(slurmOutcome(final('FAILED', { exitCode: 1 }), 75, false)).toEqual({ kind: 'exited', exitCode: 75, signal: null });
    // FAILED never reads as success, even when Slurm reports exit 0 (a failed prolog, say).
    expect(slurmOutcome(final('FAILED', { exitCode: 0 }), undefined, false)).toMatchObject({ kind: 'exited', exitCode: 1 });
  });

  it('reads TIMEOUT as a timeout (an attempt), PREEMPTED and node failures as a re-queue (no attempt)', () => {
    expect(slurmOutcome(final('TIMEOUT'), 0, false)).toMatchObject({ kind: 'killed', reason: 'timeout' });
    expect(slurmOutcome(final('PREEMPTED'), undefined, false)).toMatchObject({ kind: 'requeue', reason: 'preempted' });
    expect(slurmOutcome(final('NODE_FAIL'), undefined, false)).toMatchObject({ kind: 'requeue', reason: 'node_failure' });
    expect(slurmOutcome(final('BOOT_FAIL'), undefined, false)).toMatchObject({ kind: 'requeue', reason: 'node_failure' });
  });

  it('a cancel of ours is a cancel whatever Slurm says; someone else’s scancel and running out of memory say so', () => {
    expect(slurmOutcome(final('COMPLETED', { exitCode: 0 }), 0, true)).toMatchObject({ kind: 'killed', reason: 'cancelled' });
    expect(slurmOutcome(final('CANCELLED'), undefined, false)).toMatchObject({
      kind: 'killed',
      reason: 'signal',
      signal: expect.stringMatching(/scancel outside Trainyard/),
    });
    expect(slurmOutcome(final('OUT_OF_MEMORY'), undefined, false)).toMatchObject({ kind: 'killed', signal: expect.stringMatching(/out of memory/) });
    expect(slurmOutcome(final('DEADLINE'), undefined, false)).toMatchObject({ kind: 'killed', signal: 'Slurm state DEADLINE' });
  });
});
