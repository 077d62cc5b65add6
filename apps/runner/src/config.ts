import { resolve } from 'node:path';
import { Command } from 'commander';
import { ENV_NAME_PATTERN, RUNNER_TOKEN_ENV } from '@trainyard/training/runner-kit';

export interface RunnerConfig {
  server: string;
  jobId: string;
  workDir: string;
  /** The job token, from RUNNER_TOKEN_ENV; undefined when it is not set. */
  token: string | undefined;
  /** This machine's environment without the token: the source the trainer's environment is filtered from. */
  environment: Record<string, string | undefined>;
  /** Extra variable names passed to the trainer (TRAINYARD_TRAINER_ENV, as on the server). */
  trainerEnvNames: string[];
}

/** The runner's arguments and environment; the only place that reads them. The token is removed from process.env here. */
export const loadRunnerConfig = (argv: readonly string[] = process.argv): RunnerConfig => {
  const program = new Command()
    .name('runner')
    .description(
      `Runs one attempt of a Trainyard training job on this machine against its server over HTTP (docs/runner.md). The job token is read from ${RUNNER_TOKEN_ENV}, never from the command line.`,
    )
    .requiredOption('--server <url>', 'the Trainyard server, e.g. https://trainyard.example.org')
    .requiredOption('--job <id>', 'the training job id')
    .option('--work-dir <dir>', 'where the job directory (job/) and the runner’s buffer (runner/) are made', process.cwd())
    .parse(argv);
  const options = program.opts<{ server: string; job: string; workDir: string }>();
  const token = process.env[RUNNER_TOKEN_ENV];
  // Nothing this runner starts inherits the token (the trainer's environment is filtered as well).
  delete process.env[RUNNER_TOKEN_ENV];
  return {
    server: options.server,
    jobId: options.job,
    workDir: resolve(options.workDir),
    token: token || undefined,
    environment: { ...process.env },
    trainerEnvNames: (process.env['TRAINYARD_TRAINER_ENV'] ?? '').split(',').filter((name) => ENV_NAME_PATTERN.test(name) && !name.startsWith('TRAINYARD_')),
  };
};
