import type { Execution, ExecutionRequest } from './local-executor';

/**
 * Where and how a trainer runs. The orchestrator holds the job's lease and records what happens;
 * an executor submits the run, reports its events and its outcome, stops it on cancel or timeout,
 * and says what a lease takeover and a server stop do with it. The local executor is the first
 * implementation (local-executor.ts); scheduler executors (Slurm, Kubernetes, SageMaker)
 * implement the same port and run the same contract tests (test-fixtures/executor-contract.ts).
 */
export interface TrainerExecutor {
  /** The value of the job's `executor` column that this executor runs. */
  readonly kind: string;
  /**
   * What taking over the lease of a running job does with its run. `restart`: the run was the
   * lease holder's child, so what is left of it on this machine is stopped (and fenced
   * anywhere else) and the job re-queued or failed. `reattach`: the run lives in a scheduler;
   * the new holder follows it, never kills or resubmits it.
   */
  readonly onTakeover: 'restart' | 'reattach';
  /**
   * What a graceful server stop does. `stop`: the run is stopped and the job re-queued without
   * using up an attempt. `detach`: the run keeps going; whoever holds the lease next re-attaches.
   */
  readonly onShutdown: 'stop' | 'detach';
  /** Runs it follows at once (default: the orchestrator's concurrency, which is about this machine's cores). */
  readonly maxRunning?: number;
  /** Submits the run and observes it: events while it runs, its outcome when it ends. */
  start(request: ExecutionRequest): Execution;
  /** Stops whatever an earlier holder left running of the job in `jobDir` on this machine, and waits until it is gone. */
  stopOrphan(jobDir: string): Promise<void>;
}
