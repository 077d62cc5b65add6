import { constants } from 'node:os';
import { join } from 'node:path';
import {
  BAD_EVENT_SAMPLE_FIRST,
  type ExecutionOutcome,
  RUNNER_TOKEN_ENV,
  type RunnerFinish,
  startLocalExecution,
  trainerEnvironment,
} from '@trainyard/training/runner-kit';
import { loadRunnerConfig } from './config';
import { downloadChannels, downloadCheckpoints, layOutJobDirectory } from './job-directory';
import { followTrainerLogs } from './log-follower';
import { uploadOutputs } from './outputs';
import { createRecordOutbox } from './record-outbox';
import { createRunnerClient, RunnerRefused } from './runner-client';
import { linkSageMakerLayout, sageMakerTrainerEnv } from './sagemaker-layout';
import { startSender } from './sender';

/** The runner's exit code when it could not run the trainer at all (bad arguments, no token, inputs refused or corrupt). */
const SETUP_FAILED_EXIT = 70;

const config = loadRunnerConfig();

const say = (message: string): void => void process.stderr.write(`[runner] ${message}\n`);

const exitCodeOf = (outcome: ExecutionOutcome): number => {
  if (outcome.kind === 'exited') return outcome.exitCode;
  if (outcome.kind === 'killed') return outcome.exitCode ?? 128 + ((outcome.signal && constants.signals[outcome.signal as NodeJS.Signals]) || 9);
  return SETUP_FAILED_EXIT;
};

const main = async (): Promise<number> => {
  const token = config.token;
  if (!token) {
    say(`no job token: set ${RUNNER_TOKEN_ENV}`);
    return SETUP_FAILED_EXIT;
  }
  // A SIGTERM (the platform stopping the job) or the server's word that the job was cancelled: the trainer gets SIGTERM and checkpoints.
  const trainer: { cancel?: () => void; cancelRequested: boolean } = { cancelRequested: false };
  const requestCancel = (): void => {
    trainer.cancelRequested = true;
    trainer.cancel?.();
  };
  process.on('SIGTERM', requestCancel);
  process.on('SIGINT', requestCancel);
  const workDir = config.workDir;
  const jobDir = join(workDir, 'job');
  const client = createRunnerClient(config.server, config.jobId, token, say);
  const inputs = await client.inputs();
  // SageMaker mode: the job directory's data, checkpoints and model are SageMaker's /opt/ml paths (sagemaker-layout.ts).
  if (config.sageMakerRoot) await linkSageMakerLayout(config.sageMakerRoot, jobDir, inputs.hyperparameters);
  await layOutJobDirectory(jobDir, inputs);
  const sageMakerEnv = config.sageMakerRoot
    ? await sageMakerTrainerEnv(
        config.sageMakerRoot,
        inputs.hyperparameters,
        inputs.channels.map((channel) => channel.name),
      )
    : {};
  const outbox = createRecordOutbox(join(workDir, 'runner', 'records.ndjson'));
  // Said here, and sent with the trainer's stderr: what the runner reports is in the job's logs on the server.
  const report = (message: string): void => {
    say(message);
    outbox.add({ kind: 'log', stream: 'stderr', line: `[runner] ${message}` });
  };
  const sender = startSender(outbox, client, inputs.acked, say, () => requestCancel());

  const finish = async (outcome: RunnerFinish['outcome'], bad = { unsent: 0, last: [] as Array<{ line: string; error: string }> }, nonFinite = 0) => {
    await sender.drain();
    await client.finish({ lastSeq: outbox.lastSeq(), outcome, badEvents: bad, nonFiniteMetrics: nonFinite });
  };

  try {
    await downloadChannels(client, jobDir, inputs.channels, say);
    await downloadCheckpoints(client, jobDir, inputs.checkpoints, say);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report(message);
    await finish({ kind: 'setup_failed', message });
    return SETUP_FAILED_EXIT;
  }

  if (trainer.cancelRequested) {
    report('cancelled before the trainer started');
    await finish({ kind: 'killed', exitCode: null, signal: 'SIGTERM', reason: 'cancelled' });
    return 128 + constants.signals.SIGTERM;
  }
  const reported = { checkpoints: new Set<string>(), artifacts: new Set<string>() };
  const execution = startLocalExecution({
    jobDir,
    command: inputs.command,
    env: trainerEnvironment({
      source: config.environment,
      extra: config.trainerEnvNames,
      protocol: { ...sageMakerEnv, TRAINYARD_JOB_DIR: jobDir, TRAINYARD_ATTEMPT: String(inputs.job.attempt) },
    }),
    ...(inputs.timeoutMs ? { timeoutMs: inputs.timeoutMs } : {}),
    graceMs: inputs.graceMs,
    onEvent(event) {
      if (event.type === 'checkpoint' || (event.type === 'artifact' && event.kind === 'checkpoint')) reported.checkpoints.add(event.path);
      else if (event.type === 'artifact') reported.artifacts.add(event.path);
      outbox.add({ kind: 'event', event });
    },
    onBadEvent(line, error) {
      outbox.add({ kind: 'bad_event', line, error });
    },
  });
  trainer.cancel = () => execution.cancel();
  if (trainer.cancelRequested) execution.cancel();
  const logs = followTrainerLogs(jobDir, (stream, line) => outbox.add({ kind: 'log', stream, line }));
  const outcome = await execution.done;
  logs.drain();
  if (outcome.kind === 'spawn_failed') {
    report(outcome.message);
    await finish({ kind: 'setup_failed', message: outcome.message });
    return SETUP_FAILED_EXIT;
  }
  const succeeded = outcome.kind === 'exited' && outcome.exitCode === 0;
  const uploaded = await uploadOutputs(client, jobDir, reported, succeeded, report);
  const how =
    outcome.kind === 'exited'
      ? `exit code ${outcome.exitCode}`
      : outcome.kind === 'killed'
        ? `${outcome.reason}, ${outcome.signal ?? outcome.exitCode}`
        : outcome.kind;
  say(`trainer ended (${how}); ${uploaded} output files uploaded`);
  const bad = execution.badEvents();
  await finish(
    outcome.kind === 'exited'
      ? { kind: 'exited', exitCode: outcome.exitCode }
      : outcome.kind === 'killed'
        ? { kind: 'killed', exitCode: outcome.exitCode, signal: outcome.signal, reason: outcome.reason }
        : { kind: 'setup_failed', message: 'the run was taken away' },
    { unsent: Math.max(0, bad.count - BAD_EVENT_SAMPLE_FIRST), last: bad.last },
    execution.nonFiniteMetrics(),
  );
  return exitCodeOf(outcome);
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(
      error instanceof RunnerRefused
        ? `the server refused: ${error.message}`
        : `failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(SETUP_FAILED_EXIT);
  },
);
