export type { SlurmCli, SlurmCommandRunner, SlurmJobState } from './slurm-cli.port';
export * from './cli';
