import type { Logger } from '@trainyard/core';
import type { SlurmCli, SlurmJobState } from './slurm-cli.port';

export type SlurmUpdate = { inQueue: SlurmJobState } | { final: SlurmJobState | undefined };

/**
 * Watches every Slurm job this server follows with ONE `squeue` call per poll, however many
 * there are; only a job that left the queue costs a call of its own (`finalState`: scontrol,
 * then sacct, then the completion log). A failed or unreadable poll is logged and retried at
 * the next one; it never decides a job's outcome.
 */
export const createSlurmPoller = (deps: { cli: SlurmCli; namePrefix: string; intervalMs: number; logger: Logger }) => {
  const watchers = new Map<string, (update: SlurmUpdate) => void>();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  const poll = async (): Promise<void> => {
    if (polling || watchers.size === 0) return;
    polling = true;
    try {
      const queued = new Map((await deps.cli.queue(deps.namePrefix)).map((state) => [state.slurmJobId, state]));
      for (const [slurmJobId, notify] of [...watchers]) {
        const state = queued.get(slurmJobId);
        if (state) {
          notify({ inQueue: state });
          continue;
        }
        notify({ final: await deps.cli.finalState(slurmJobId) });
      }
    } catch (error) {
      deps.logger.error({ err: error }, 'polling Slurm failed; trying again at the next poll');
    } finally {
      polling = false;
    }
  };

  const ensureTimer = (): void => {
    if (timer || watchers.size === 0) return;
    timer = setInterval(() => void poll(), deps.intervalMs);
    timer.unref();
  };

  return {
    /** Follows one Slurm job; returns how to stop following it. */
    watch(slurmJobId: string, notify: (update: SlurmUpdate) => void): () => void {
      watchers.set(slurmJobId, notify);
      ensureTimer();
      return () => {
        watchers.delete(slurmJobId);
        if (watchers.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
  };
};

export type SlurmPoller = ReturnType<typeof createSlurmPoller>;
