import { DomainError } from '@trainyard/core';
import type { RunnerFinish, RunnerInputs, RunnerOutputFile, RunnerRecord } from './runner-protocol';

/** Who is calling a runner route: what the job token's scope says (libs/auth job-tokens.service.ts). */
export interface RunnerCaller {
  jobId: string;
  attempt: number;
}

/** One attempt a runner executor of this server follows now: what the runner routes call. */
export interface LiveRunnerAttempt {
  attempt: number;
  inputs(): Promise<RunnerInputs>;
  records(records: readonly RunnerRecord[]): Promise<{ acked: number; cancelRequested: boolean }>;
  outputs(files: readonly RunnerOutputFile[]): Promise<{ registered: number }>;
  finish(finish: RunnerFinish): Promise<void>;
}

/**
 * The attempts this server follows, by job id: the runner routes (apps/server runner-route.ts)
 * hand each call to the attempt its token names. A job no executor follows here right now (the
 * server restarted and has not re-attached yet, or another server holds its lease) answers
 * UNAVAILABLE, which the runner retries; a token of an older attempt answers FAILED_PRECONDITION.
 */
export const createRunnerHub = () => {
  const live = new Map<string, LiveRunnerAttempt>();
  const attemptOf = (caller: RunnerCaller): LiveRunnerAttempt => {
    const attempt = live.get(caller.jobId);
    if (!attempt) throw new DomainError('UNAVAILABLE', 'No runner attempt of this job is followed by this server now; retry', { jobId: caller.jobId });
    if (attempt.attempt !== caller.attempt) {
      throw new DomainError('FAILED_PRECONDITION', `This token is for attempt ${caller.attempt}; the job is on attempt ${attempt.attempt}`, {
        jobId: caller.jobId,
      });
    }
    return attempt;
  };
  return {
    register(jobId: string, attempt: LiveRunnerAttempt): void {
      live.set(jobId, attempt);
    },
    unregister(jobId: string, attempt: LiveRunnerAttempt): void {
      if (live.get(jobId) === attempt) live.delete(jobId);
    },
    inputs: (caller: RunnerCaller) => attemptOf(caller).inputs(),
    records: (caller: RunnerCaller, records: readonly RunnerRecord[]) => attemptOf(caller).records(records),
    outputs: (caller: RunnerCaller, files: readonly RunnerOutputFile[]) => attemptOf(caller).outputs(files),
    finish: (caller: RunnerCaller, finish: RunnerFinish) => attemptOf(caller).finish(finish),
  };
};

export type RunnerHub = ReturnType<typeof createRunnerHub>;
