import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  ListTagsCommand,
  ListTrainingJobsCommand,
  ResourceInUse,
  type SageMakerClient,
  StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';
import { type Logger, replaceFile } from '@trainyard/core';
import { redactSecrets, type RunnerHandle, type RunnerLauncher, type RunnerLaunch } from '@trainyard/training';
import { ATTEMPT_TAG, JOB_ID_TAG, SAGEMAKER_LIMITS, SageMakerRequestRefused, trainingJobName, trainingJobRequest } from './training-job-request';

export interface SageMakerLauncherOptions {
  /** Built by the caller with its region, endpoint, credentials and retry settings (throttling is retried by the SDK). */
  client: SageMakerClient;
  /** The IAM role SageMaker assumes for the job (pulls the image, writes S3 and CloudWatch Logs). */
  roleArn: string;
  /** The images jobs may name (the server's allowlist); the first is the default. */
  images: readonly string[];
  /** The instance type of a job that names none (e.g. ml.m5.xlarge). */
  instanceType: string;
  /** The ML storage volume per instance, GB (default 30). */
  volumeSizeGb?: number;
  /** OutputDataConfig.S3OutputPath (required by the API; SageMaker writes model.tar.gz of /opt/ml/model there). */
  outputS3Uri: string;
  /** Checkpoints are synced to `<this>/<job id>/` (CheckpointConfig). */
  checkpointS3Uri: string;
  /** MaxRuntimeInSeconds of a job without a timeout (default 86 400, SageMaker's own default). */
  defaultMaxRuntimeSeconds?: number;
  /** How often DescribeTrainingJob is asked while a job runs (default 15 s); doubled up to 2 min while throttled. */
  pollMs?: number;
  logger?: Logger;
}

interface LaunchRecord {
  name: string;
  arn?: string;
  launchedAt: string;
}

const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
/** What the job's own upload needs past its timeout and grace before SageMaker stops it. */
const UPLOAD_MARGIN_SECONDS = 600;
const MAX_POLL_MS = 120_000;

const errorName = (error: unknown): string => (error instanceof Error ? error.name : '');
const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
/** DescribeTrainingJob of an unknown name: ResourceNotFound as documented; SageMaker is also known to answer ValidationException "Requested resource not found". */
const isNotFound = (error: unknown): boolean =>
  errorName(error) === 'ResourceNotFound' || (errorName(error) === 'ValidationException' && /not found/i.test(errorMessage(error)));

/**
 * Runners as SageMaker training jobs (docs/sagemaker.md): one CreateTrainingJob per attempt with
 * the runner's image, its state from DescribeTrainingJob (SageMaker has no watch; polled, slower
 * while throttled), a cancel as StopTrainingJob (SageMaker sends the container SIGTERM, and
 * SIGKILL after its own grace of 120 s), and found again after a server restart by the recorded
 * name, else by our job id in the name and the tags.
 */
export const createSageMakerLauncher = (options: SageMakerLauncherOptions): RunnerLauncher => {
  const client = options.client;
  const pollMs = options.pollMs ?? 15_000;
  const recordFile = (jobDir: string, attempt: number): string => join(jobDir, 'runner', `attempt-${attempt}.json`);

  const describe = (name: string): Promise<DescribeTrainingJobCommandOutput> => client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));

  const tagsOf = async (arn: string): Promise<Record<string, string>> => {
    const tags: Record<string, string> = {};
    let next: string | undefined;
    do {
      const page = await client.send(new ListTagsCommand({ ResourceArn: arn, ...(next ? { NextToken: next } : {}) }));
      for (const tag of page.Tags ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
      next = page.NextToken;
    } while (next);
    return tags;
  };

  const isOurs = async (arn: string | undefined, jobId: string, attempt: number): Promise<boolean> => {
    if (!arn) return false;
    const tags = await tagsOf(arn);
    return tags[JOB_ID_TAG] === jobId && tags[ATTEMPT_TAG] === String(attempt);
  };

  /** Follows one training job: onState on each change of status or secondary status, `gone` once it is Completed, Failed or Stopped. */
  const follow = (name: string, onState: RunnerLaunch['onState'], first?: DescribeTrainingJobCommandOutput): RunnerHandle => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let last = '';
    let resolveGone!: (how: string) => void;
    const gone = new Promise<string>((resolve) => (resolveGone = resolve));
    const seen = (job: DescribeTrainingJobCommandOutput): boolean => {
      const status = job.TrainingJobStatus ?? 'Unknown';
      const state = job.SecondaryStatus && job.SecondaryStatus !== status ? `${status}/${job.SecondaryStatus}` : status;
      const reason = job.FailureReason ?? job.SecondaryStatusTransitions?.at(-1)?.StatusMessage ?? null;
      const key = `${state}\n${reason}`;
      if (key !== last) {
        last = key;
        onState?.({ kind: 'sagemaker', jobId: name, state, reason });
      }
      if (!TERMINAL.has(status)) return false;
      resolveGone(`SageMaker training job ${name} ${status}${job.FailureReason ? `: ${job.FailureReason}` : ''}`);
      return true;
    };
    const poll = async (delay: number): Promise<void> => {
      if (stopped) return;
      let next = pollMs;
      try {
        if (seen(await describe(name))) return;
      } catch (error) {
        if (isNotFound(error)) return resolveGone(`SageMaker training job ${name} is gone (ResourceNotFound)`);
        // Throttled past the SDK's own retries (or SageMaker unreachable): asked less often until it answers.
        next = Math.min(delay * 2, MAX_POLL_MS);
        options.logger?.error({ err: error, trainingJob: name }, 'DescribeTrainingJob failed; asking again later');
      }
      if (stopped) return;
      timer = setTimeout(() => void poll(next), next);
      // Following a training job never keeps this server's process alive.
      timer.unref();
    };
    if (!(first && seen(first))) {
      timer = setTimeout(() => void poll(pollMs), first ? pollMs : 0);
      timer.unref();
    }
    return {
      signal(signal) {
        // SageMaker has one way to end a job: StopTrainingJob (SIGTERM to the container, SIGKILL after 120 s). A SIGKILL asks again.
        void client.send(new StopTrainingJobCommand({ TrainingJobName: name })).catch((error: unknown) => {
          options.logger?.error({ err: error, trainingJob: name, signal }, 'StopTrainingJob failed');
        });
        // Seen stopping sooner than the next poll.
        clearTimeout(timer);
        timer = setTimeout(() => void poll(pollMs), Math.min(pollMs, 1_000));
        timer.unref();
      },
      gone,
      async cleanUp() {
        // Nothing to remove: SageMaker keeps the job's record, and its S3 output and checkpoints stay where configured.
        stopped = true;
        clearTimeout(timer);
      },
    };
  };

  /** A job named for this attempt that already exists (a launch retried after its answer was lost): ours only if its tags say so. */
  const adopt = async (name: string, jobId: string, attempt: number, onState: RunnerLaunch['onState']): Promise<{ handle: RunnerHandle; arn?: string }> => {
    const existing = await describe(name);
    if (!(await isOurs(existing.TrainingJobArn, jobId, attempt)))
      throw new SageMakerRequestRefused(
        `a SageMaker training job named ${name} already exists and its tags do not say it is attempt ${attempt} of job ${jobId}; refused (not adopted)`,
      );
    return { handle: follow(name, onState, existing), ...(existing.TrainingJobArn ? { arn: existing.TrainingJobArn } : {}) };
  };

  return {
    async launch(launch) {
      const { jobId, attempt, jobDir, resources } = launch;
      const image = resources.image ?? options.images[0];
      if (!image || !options.images.includes(image))
        throw new SageMakerRequestRefused(`image ${image ?? '(none)'} is not on this server's allowlist (TRAINYARD_RUNNER_IMAGES)`);
      const instanceCount = resources.instanceCount ?? 1;
      if (instanceCount !== 1) throw new SageMakerRequestRefused('SageMaker jobs run on one instance here (resources.instanceCount 1)');
      const timeout = resources.timeoutSeconds;
      const maxRuntimeSeconds = Math.min(
        timeout ? timeout + Math.ceil(launch.graceMs / 1_000) + UPLOAD_MARGIN_SECONDS : (options.defaultMaxRuntimeSeconds ?? 86_400),
        SAGEMAKER_LIMITS.maxRuntimeSeconds,
      );
      const hyperparameters = JSON.parse(await readFile(join(jobDir, 'input', 'config', 'hyperparameters.json'), 'utf8')) as Record<string, unknown>;
      const request = trainingJobRequest(
        { jobId, attempt, serverUrl: launch.serverUrl, token: launch.token, env: launch.env, hyperparameters },
        {
          roleArn: options.roleArn,
          image,
          instanceType: resources.instanceType ?? options.instanceType,
          instanceCount,
          volumeSizeGb: options.volumeSizeGb ?? 30,
          outputS3Uri: options.outputS3Uri,
          checkpointS3Uri: `${options.checkpointS3Uri.replace(/\/+$/, '')}/${jobId}/`,
          maxRuntimeSeconds,
        },
      );
      const name = request.TrainingJobName as string;
      await mkdir(join(jobDir, 'runner'), { recursive: true });
      // Recorded before the call: a server that dies before the answer finds the job by this name.
      const record: LaunchRecord = { name, launchedAt: new Date().toISOString() };
      await replaceFile(recordFile(jobDir, attempt), JSON.stringify(record));
      try {
        const created = await client.send(new CreateTrainingJobCommand(request));
        if (created.TrainingJobArn) await replaceFile(recordFile(jobDir, attempt), JSON.stringify({ ...record, arn: created.TrainingJobArn }));
        launch.onState?.({ kind: 'sagemaker', jobId: name, state: 'InProgress/Starting', reason: null });
        return follow(name, launch.onState);
      } catch (error) {
        if (!(error instanceof ResourceInUse))
          // AWS echoes offending values: the token and the operator's variables never reach the job's error.
          throw new Error(redactSecrets(`CreateTrainingJob ${name}: ${errorName(error)}: ${errorMessage(error)}`, Object.values(request.Environment ?? {})));
        const adopted = await adopt(name, jobId, attempt, launch.onState);
        if (adopted.arn) await replaceFile(recordFile(jobDir, attempt), JSON.stringify({ ...record, arn: adopted.arn }));
        return adopted.handle;
      }
    },
    async find(jobDir, attempt, followState) {
      const record = await readFile(recordFile(jobDir, attempt), 'utf8')
        .then((text) => JSON.parse(text) as Partial<LaunchRecord>)
        .catch(() => undefined);
      let name = typeof record?.name === 'string' ? record.name : undefined;
      if (!name) {
        // No record (a server that died before writing it): our job id in the name, confirmed by the tags.
        const jobId = await readFile(join(jobDir, 'input', 'config', 'job.json'), 'utf8')
          .then((text) => String((JSON.parse(text) as { id?: unknown }).id ?? ''))
          .catch(() => '');
        if (!jobId) return undefined;
        const wanted = trainingJobName(jobId, attempt);
        const listed = await client.send(new ListTrainingJobsCommand({ NameContains: jobId, MaxResults: 100 }));
        const match = listed.TrainingJobSummaries?.find((job) => job.TrainingJobName === wanted);
        if (!match || !(await isOurs(match.TrainingJobArn, jobId, attempt))) return undefined;
        name = wanted;
      }
      const job = await describe(name).catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
      if (!job || TERMINAL.has(job.TrainingJobStatus ?? '')) return undefined;
      return follow(name, followState?.onState, job);
    },
  };
};
