import type { Logger } from '@trainyard/core';
import type { TrainerExecutor } from '@trainyard/training';
import type { SlurmConfig } from './config';

/**
 * The Slurm executor for TRAINYARD_SLURM=on: Slurm's commands on this machine (with this
 * server's environment, so SLURM_CONF and PATH apply), or on the login node over SSH. Loaded
 * only when configured: a server without Slurm never loads the SSH library.
 */
export const createConfiguredSlurmExecutor = async (config: SlurmConfig, env: Record<string, string | undefined>, logger: Logger): Promise<TrainerExecutor> => {
  const slurm = await import('@trainyard/slurm');
  const passed = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const runner = config.ssh
    ? slurm.createSshSlurmRunner({
        host: config.ssh.host,
        user: config.ssh.user,
        port: config.ssh.port,
        ...(config.ssh.privateKeyPath ? { privateKeyPath: config.ssh.privateKeyPath } : {}),
        ...(config.ssh.knownHostsPath ? { knownHostsPath: config.ssh.knownHostsPath } : {}),
        // A cluster whose configuration is not in the login node's default place names it here too.
        ...(passed['SLURM_CONF'] ? { env: { SLURM_CONF: passed['SLURM_CONF'] } } : {}),
        ...(passed['SSH_AUTH_SOCK'] && !config.ssh.privateKeyPath ? { agent: passed['SSH_AUTH_SOCK'] } : {}),
      })
    : slurm.createLocalSlurmRunner(passed);
  const cli = slurm.createSlurmCli(runner, config.jobCompLog ? { jobCompLog: config.jobCompLog } : {});
  return slurm.createSlurmExecutor({
    cli,
    logger,
    pollMs: config.pollMs,
    ...(config.partition ? { partition: config.partition } : {}),
    ...(config.account ? { account: config.account } : {}),
  });
};
