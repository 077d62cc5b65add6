export type { SlurmCli, SlurmCommandRunner, SlurmJobState } from './slurm-cli.port';
export { renderBatchScript, slurmJobName, slurmFiles, slurmMinutes, SLURM_NAME_PREFIX, EARLY_WARNING_SECONDS, EARLY_WARNING_SIGNAL } from './batch-script';
export { createSlurmExecutor, type SlurmExecutorOptions } from './slurm-executor';
export { createSlurmPoller, type SlurmPoller } from './slurm-poller';
export * from './cli';
