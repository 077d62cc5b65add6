import type { TrainerExecutor } from '../executor.port';
import type { ExecutionOutcome } from '../local-executor';

interface SchedulerRun {
  submissions: number;
  cancels: number;
  detaches: number;
  ended: Promise<ExecutionOutcome>;
  end(outcome: ExecutionOutcome): void;
}

/**
 * A stand-in for a batch scheduler behind the TrainerExecutor port (onTakeover `reattach`,
 * onShutdown `detach`), shared by every orchestrator of a test: a run lives in the "cluster", not
 * in the orchestrator that submitted it, exits 0 after runMs unless cancelled, and counts what
 * was done to it. Registered under the `slurm` kind, the scheduler kind the API accepts. The real
 * Slurm executor runs against a real Slurm in apps/server/src/slurm-jobs.int.test.ts; this one lets
 * lease tests freeze and thaw orchestrators on one in-memory database.
 */
export const createStandInScheduler = (runMs: number) => {
  const runs = new Map<string, SchedulerRun>();
  const submit = (): SchedulerRun => {
    let end!: (outcome: ExecutionOutcome) => void;
    const ended = new Promise<ExecutionOutcome>((resolve) => (end = resolve));
    const timer = setTimeout(() => end({ kind: 'exited', exitCode: 0, signal: null }), runMs);
    void ended.then(() => clearTimeout(timer));
    return { submissions: 1, cancels: 0, detaches: 0, ended, end };
  };
  const executor: TrainerExecutor = {
    kind: 'slurm',
    onTakeover: 'reattach',
    onShutdown: 'detach',
    start(request) {
      const id = request.job?.id ?? request.jobDir;
      let run = runs.get(id);
      if (!run || !request.reattach) {
        const submissions = (run?.submissions ?? 0) + 1;
        run = { ...submit(), submissions };
        runs.set(id, run);
      }
      const followed = run;
      let settle!: (outcome: ExecutionOutcome) => void;
      const done = new Promise<ExecutionOutcome>((resolve) => (settle = resolve));
      void followed.ended.then(settle);
      return {
        pid: undefined,
        done,
        cancel() {
          followed.cancels += 1;
          followed.end({ kind: 'killed', exitCode: null, signal: 'SIGTERM', reason: 'cancelled' });
        },
        detach() {
          followed.detaches += 1;
          settle({ kind: 'detached' });
        },
        badEvents: () => ({ count: 0, last: [] }),
        nonFiniteMetrics: () => 0,
      };
    },
    stopOrphan: async () => undefined,
  };
  return { executor, run: (jobId: string) => runs.get(jobId) };
};
