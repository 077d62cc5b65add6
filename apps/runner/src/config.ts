import { resolve } from 'node:path';
import { Command } from 'commander';
import { ENV_NAME_PATTERN, RUNNER_TOKEN_ENV } from '@trainyard/training/runner-kit';

/** Where SageMaker mounts a training container's files. */
export const SAGEMAKER_ROOT = '/opt/ml';

export interface RunnerConfig {
  server: string;
  jobId: string;
  workDir: string;
  /** SageMaker mode: the container's /opt/ml, mapped to and from the job directory (sagemaker-layout.ts); undefined otherwise. */
  sageMakerRoot: string | undefined;
  /** The job token, from RUNNER_TOKEN_ENV; undefined when it is not set. */
  token: string | undefined;
  /** This machine's environment without the token: the source the trainer's environment is filtered from. */
  environment: Record<string, string | undefined>;
  /** Extra variable names passed to the trainer (TRAINYARD_TRAINER_ENV, as on the server). */
  trainerEnvNames: string[];
}

/**
 * The runner's arguments and environment; the only place that reads them. The token is removed
 * from process.env here. The server and job may come from the environment (TRAINYARD_SERVER_URL,
 * TRAINYARD_JOB_ID) — how a SageMaker training job passes them, since SageMaker starts the image
 * as `<entry point> train` — and `train` as the only argument means SageMaker mode at /opt/ml.
 */
export const loadRunnerConfig = (argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): RunnerConfig => {
  const program = new Command()
    .name('runner')
    .description(
      `Runs one attempt of a Trainyard training job on this machine against its server over HTTP (docs/runner.md). The job token is read from ${RUNNER_TOKEN_ENV}, never from the command line.`,
    )
    .argument('[train]', `SageMaker's argument when it starts the image: the same as --sagemaker ${SAGEMAKER_ROOT}`)
    .option('--server <url>', 'the Trainyard server, e.g. https://trainyard.example.org (default: TRAINYARD_SERVER_URL)', env['TRAINYARD_SERVER_URL'])
    .option('--job <id>', 'the training job id (default: TRAINYARD_JOB_ID)', env['TRAINYARD_JOB_ID'])
    .option(
      '--work-dir <dir>',
      'where the job directory (job/) and the runner’s buffer (runner/) are made (default: the current directory; <root>/trainyard in SageMaker mode)',
    )
    .option(
      '--sagemaker [root]',
      `SageMaker mode: the job directory mapped to and from SageMaker's container paths under root (default ${SAGEMAKER_ROOT}; docs/sagemaker.md)`,
    )
    .parse(argv);
  const options = program.opts<{ server?: string; job?: string; workDir?: string; sagemaker?: string | boolean }>();
  const mode = program.args[0];
  if (mode !== undefined && mode !== 'train') program.error(`unknown argument '${mode}' (only SageMaker's 'train' is taken)`);
  if (!options.server) program.error('no server: give --server <url> or set TRAINYARD_SERVER_URL');
  if (!options.job) program.error('no job: give --job <id> or set TRAINYARD_JOB_ID');
  const sageMakerRoot =
    typeof options.sagemaker === 'string' ? resolve(options.sagemaker) : options.sagemaker === true || mode === 'train' ? SAGEMAKER_ROOT : undefined;
  const token = env[RUNNER_TOKEN_ENV];
  // Nothing this runner starts inherits the token (the trainer's environment is filtered as well).
  delete env[RUNNER_TOKEN_ENV];
  return {
    server: options.server as string,
    jobId: options.job as string,
    workDir: resolve(options.workDir ?? (sageMakerRoot ? resolve(sageMakerRoot, 'trainyard') : process.cwd())),
    sageMakerRoot,
    token: token || undefined,
    environment: { ...env },
    trainerEnvNames: (env['TRAINYARD_TRAINER_ENV'] ?? '').split(',').filter((name) => ENV_NAME_PATTERN.test(name) && !name.startsWith('TRAINYARD_')),
  };
};
