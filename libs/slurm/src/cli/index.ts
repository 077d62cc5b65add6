export { createSlurmCli, type SlurmCliOptions } from './slurm-cli';
export { createLocalSlurmRunner, DEFAULT_SLURM_COMMAND_TIMEOUT_MS } from './local-runner';
export { SLURM_JOB_STATES, ACTIVE_STATES } from './slurm-output';
export { createSshSlurmRunner, type SshSlurmRunner, type SshSlurmRunnerOptions } from './ssh-runner';
export { remoteCommandLine, shellWord } from './shell-words';
