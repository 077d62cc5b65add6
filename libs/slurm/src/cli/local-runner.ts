import { execFile } from 'node:child_process';
import { DomainError } from '@trainyard/core';
import type { SlurmCommandRunner } from '../slurm-cli.port';

export const DEFAULT_SLURM_COMMAND_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Runs Slurm's tools on this machine: execFile with argv (no shell) and a timeout. `env` is the
 * whole environment they run with, nothing inherited behind the caller's back: the app passes its
 * own (PATH, HOME, USER) with `SLURM_CONF` on top when the cluster's config is not the default.
 * A non-zero exit is returned, not thrown: SlurmCli decides what a failure means.
 */
export const createLocalSlurmRunner = (env: Readonly<Record<string, string | undefined>>, defaults: { timeoutMs?: number } = {}): SlurmCommandRunner => ({
  where: 'local',
  run(argv, options = {}) {
    const [command, ...args] = argv;
    if (command === undefined) throw new DomainError('INVALID_ARGUMENT', 'no command to run');
    const timeout = options.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_SLURM_COMMAND_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      execFile(
        command,
        args,
        { cwd: options.cwd, env, timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, stderr, exitCode: 0 });
          const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: unknown; signal?: string | null };
          if (failure.code === 'ENOENT') return reject(new DomainError('UNAVAILABLE', `${command} not found on PATH (local)`, { command }));
          if (failure.killed || failure.signal) {
            return reject(new DomainError('UNAVAILABLE', `${command} did not answer within ${timeout} ms (local)`, { command, timeoutMs: timeout }));
          }
          if (typeof failure.code === 'number') return resolve({ stdout, stderr, exitCode: failure.code });
          reject(new DomainError('UNAVAILABLE', `${command} could not run (local): ${failure.message}`, { command }));
        },
      );
    });
  },
});
