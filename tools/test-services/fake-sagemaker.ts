import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * An in-process fake of SageMaker's training-job API, written from its documentation (the API
 * reference and the SDK's models): AWS JSON 1.1 over HTTP as @aws-sdk/client-sagemaker sends it
 * (`POST /`, `X-Amz-Target: SageMaker.<Operation>`, `Content-Type: application/x-amz-json-1.1`;
 * errors as HTTP 400 with `__type` and `x-amzn-errortype`). It implements what bites a client:
 *
 * - CreateTrainingJob's validation (the name's pattern and length, required members, the role
 *   ARN and S3 URI patterns, hyperparameter, environment and tag limits) → ValidationException;
 *   a name taken (by any job, ever) → ResourceInUse; ThrottlingException injectable per operation.
 * - DescribeTrainingJob with SageMaker's status transitions: InProgress with the secondary
 *   statuses Starting → Downloading → Training → Uploading, then Completed or Failed (with a
 *   FailureReason); StopTrainingJob → Stopping → Stopped; MaxRuntimeInSeconds → Stopped with
 *   MaxRuntimeExceeded. Each transition is kept in SecondaryStatusTransitions.
 * - ListTrainingJobs (NameContains, StatusEquals, newest first, MaxResults/NextToken), ListTags.
 * - An "instance" that RUNS the image's entry as a real local process — `entry(image, optMl)`
 *   names it, SageMaker's `train` argument is appended — with the job's Environment (and
 *   TRAINING_JOB_NAME / TRAINING_JOB_ARN, as SageMaker sets them), a temporary directory as its
 *   /opt/ml (`input/config/hyperparameters.json` with the string values as sent,
 *   `resourceconfig.json`, `input/data/`, `model/`, `checkpoints/`, `output/`), SIGTERM on a stop,
 *   then SIGKILL after the grace (SageMaker's is 120 s). Its output is the job's "CloudWatch log".
 *
 * Not modelled: S3 (no model.tar.gz, no checkpoint sync), credentials (a SigV4 Authorization
 * header is required, never verified), other operations, several instances.
 * Every request is recorded, so tests assert what was sent.
 */
export interface FakeSageMakerOptions {
  /** The command that runs an image's entry point on the fake instance, given its /opt/ml; undefined: the image cannot be pulled. */
  entry(image: string, optMl: string): string[] | undefined;
  /** How long each of Starting and Downloading (and Uploading) lasts (default 150 ms). */
  phaseMs?: number;
  /** From StopTrainingJob's SIGTERM to SIGKILL (default 120 000 ms, SageMaker's). */
  stopGraceMs?: number;
  /** The container's base environment (an image has its own PATH, HOME; default: PATH and HOME of this process). */
  baseEnv?: Record<string, string>;
}

export interface FakeTrainingJob {
  name: string;
  arn: string;
  request: Record<string, unknown>;
  status: 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';
  secondary: string;
  failureReason?: string;
  transitions: Array<{ Status: string; StartTime: number; EndTime?: number; StatusMessage: string }>;
  tags: Array<{ Key: string; Value: string }>;
  creationTime: number;
  endTime?: number;
  optMl?: string;
  process?: ChildProcess;
  /** The instance's stdout and stderr (what SageMaker sends to CloudWatch Logs). */
  log: string;
  exited?: Promise<void>;
}

export interface FakeSageMakerRequest {
  operation: string;
  /** When it arrived (Date.now()). */
  at: number;
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
}

export interface FakeSageMaker {
  url: string;
  region: string;
  requests: FakeSageMakerRequest[];
  jobs: Map<string, FakeTrainingJob>;
  /** The next `times` calls of `operation` answer ThrottlingException. */
  throttle(operation: string, times: number): void;
  /** Requests of one operation, bodies only. */
  sent(operation: string): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const ACCOUNT = '123456789012';
const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const ROLE_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
const S3_PATTERN = /^(https|s3):\/\/([^/]+)\/?(.*)$/;
const ENV_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TERMINAL = new Set(['Completed', 'Failed', 'Stopped']);
const now = (): number => Date.now() / 1000;

const invalid = (message: string): never => {
  throw new ApiError('ValidationException', `1 validation error detected: ${message}`);
};

const validateCreate = (body: Record<string, unknown>): void => {
  const name = body['TrainingJobName'];
  if (typeof name !== 'string') invalid("Value null at 'trainingJobName' failed to satisfy constraint: Member must not be null");
  if ((name as string).length > 63 || !NAME_PATTERN.test(name as string))
    invalid(
      `Value '${name as string}' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`,
    );
  const role = body['RoleArn'];
  if (typeof role !== 'string' || role.length < 20 || role.length > 2048 || !ROLE_PATTERN.test(role))
    invalid(`Value '${String(role)}' at 'roleArn' failed to satisfy constraint`);
  const algorithm = body['AlgorithmSpecification'] as Record<string, unknown> | undefined;
  if (!algorithm || !['Pipe', 'File', 'FastFile'].includes(String(algorithm['TrainingInputMode'])))
    invalid("Value at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint");
  if (typeof algorithm?.['TrainingImage'] !== 'string' && typeof algorithm?.['AlgorithmName'] !== 'string')
    invalid('AlgorithmSpecification needs a TrainingImage or an AlgorithmName');
  const output = body['OutputDataConfig'] as Record<string, unknown> | undefined;
  if (typeof output?.['S3OutputPath'] !== 'string' || !S3_PATTERN.test(output['S3OutputPath']))
    invalid("Value at 'outputDataConfig.s3OutputPath' failed to satisfy constraint");
  const resources = body['ResourceConfig'] as Record<string, unknown> | undefined;
  if (!resources || typeof resources['VolumeSizeInGB'] !== 'number' || resources['VolumeSizeInGB'] < 1)
    invalid("Value at 'resourceConfig.volumeSizeInGB' failed to satisfy constraint");
  if (typeof resources?.['InstanceType'] !== 'string' || typeof resources['InstanceCount'] !== 'number' || resources['InstanceCount'] < 1)
    invalid("Value at 'resourceConfig' failed to satisfy constraint: InstanceType and InstanceCount are required");
  const stopping = body['StoppingCondition'] as Record<string, unknown> | undefined;
  const maxRuntime = stopping?.['MaxRuntimeInSeconds'];
  if (typeof maxRuntime !== 'number' || maxRuntime < 1)
    invalid("Value at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1");
  const checkpoint = body['CheckpointConfig'] as Record<string, unknown> | undefined;
  if (checkpoint && (typeof checkpoint['S3Uri'] !== 'string' || !S3_PATTERN.test(checkpoint['S3Uri'])))
    invalid("Value at 'checkpointConfig.s3Uri' failed to satisfy constraint");
  const hyperparameters = (body['HyperParameters'] ?? {}) as Record<string, unknown>;
  if (Object.keys(hyperparameters).length > 100)
    invalid("Value at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal to 100");
  for (const [key, value] of Object.entries(hyperparameters)) {
    if (typeof value !== 'string') invalid(`Value at 'hyperParameters.${key}' failed to satisfy constraint: Member must be a string`);
    if (key.length > 256 || (value as string).length > 256)
      invalid(
        `Value at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256]`,
      );
  }
  const environment = (body['Environment'] ?? {}) as Record<string, unknown>;
  if (Object.keys(environment).length > 100) invalid("Value at 'environment' failed to satisfy constraint: Member must have length less than or equal to 100");
  for (const [key, value] of Object.entries(environment)) {
    if (!ENV_NAME.test(key) || key.length > 512 || typeof value !== 'string' || value.length > 512)
      invalid(`Value at 'environment.${key}' failed to satisfy constraint`);
  }
  const tags = (body['Tags'] ?? []) as Array<Record<string, unknown>>;
  if (tags.length > 50) invalid("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50");
  for (const tag of tags) {
    if (typeof tag['Key'] !== 'string' || tag['Key'].length < 1 || tag['Key'].length > 128 || typeof tag['Value'] !== 'string' || tag['Value'].length > 256)
      invalid("Value at 'tags' failed to satisfy constraint");
  }
};

export const startFakeSageMaker = async (options: FakeSageMakerOptions): Promise<FakeSageMaker> => {
  const region = 'us-east-1';
  const phaseMs = options.phaseMs ?? 150;
  const stopGraceMs = options.stopGraceMs ?? 120_000;
  const requests: FakeSageMakerRequest[] = [];
  const jobs = new Map<string, FakeTrainingJob>();
  const throttled = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, action: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  const transition = (job: FakeTrainingJob, secondary: string, message: string, status?: FakeTrainingJob['status']): void => {
    const at = now();
    const open = job.transitions.at(-1);
    if (open && open.EndTime === undefined) open.EndTime = at;
    job.secondary = secondary;
    if (status) job.status = status;
    job.transitions.push({ Status: secondary, StartTime: at, StatusMessage: message, ...(TERMINAL.has(job.status) ? { EndTime: at } : {}) });
    if (TERMINAL.has(job.status)) job.endTime = at;
  };

  const runInstance = async (job: FakeTrainingJob): Promise<void> => {
    const image = String((job.request['AlgorithmSpecification'] as Record<string, unknown>)['TrainingImage']);
    const optMl = await mkdtemp(join(tmpdir(), 'fake-sagemaker-opt-ml-'));
    job.optMl = optMl;
    const argv = options.entry(image, optMl);
    if (!argv || !argv[0]) {
      job.failureReason = `ClientError: Cannot pull algorithm container image ${image}`;
      transition(job, 'Failed', job.failureReason, 'Failed');
      return;
    }
    await mkdir(join(optMl, 'input', 'config'), { recursive: true });
    await mkdir(join(optMl, 'input', 'data'), { recursive: true });
    for (const dir of ['model', 'checkpoints', join('output', 'data')]) await mkdir(join(optMl, dir), { recursive: true });
    await writeFile(join(optMl, 'input', 'config', 'hyperparameters.json'), JSON.stringify(job.request['HyperParameters'] ?? {}));
    await writeFile(
      join(optMl, 'input', 'config', 'resourceconfig.json'),
      JSON.stringify({ current_host: 'algo-1', hosts: ['algo-1'], network_interface_name: 'eth0' }),
    );
    const log = createWriteStream(join(optMl, 'instance.log'));
    const child = spawn(argv[0], [...argv.slice(1), 'train'], {
      cwd: optMl,
      env: {
        ...(options.baseEnv ?? { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' }),
        ...(job.request['Environment'] as Record<string, string> | undefined),
        TRAINING_JOB_NAME: job.name,
        TRAINING_JOB_ARN: job.arn,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    job.process = child;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        job.log += chunk.toString('utf8');
        log.write(chunk);
      });
    }
    job.exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        job.failureReason = `AlgorithmError: the container could not start: ${error.message}`;
        transition(job, 'Failed', job.failureReason, 'Failed');
        resolve();
      });
      child.once('exit', (code, signal) => {
        log.end();
        job.process = undefined;
        if (job.status === 'Stopping') {
          transition(job, job.secondary === 'MaxRuntimeExceeded' ? 'MaxRuntimeExceeded' : 'Stopped', 'Training job stopped', 'Stopped');
        } else if (code === 0) {
          transition(job, 'Uploading', 'Uploading generated training model');
          later(phaseMs, () => transition(job, 'Completed', 'Training job completed', 'Completed'));
        } else {
          job.failureReason = `AlgorithmError: the algorithm exited with ${signal ? `signal ${signal}` : `exit code ${code}`}`;
          transition(job, 'Failed', job.failureReason, 'Failed');
        }
        resolve();
      });
    });
  };

  const stop = (job: FakeTrainingJob, secondary: 'Stopping' | 'MaxRuntimeExceeded'): void => {
    job.status = 'Stopping';
    transition(job, secondary, secondary === 'Stopping' ? 'Stopping the training job' : 'Training job exceeded MaxRuntimeInSeconds');
    const child = job.process;
    if (!child) {
      // Not started yet: nothing to signal.
      later(phaseMs, () => transition(job, 'Stopped', 'Training job stopped', 'Stopped'));
      return;
    }
    child.kill('SIGTERM');
    later(stopGraceMs, () => {
      if (job.process === child) child.kill('SIGKILL');
    });
  };

  const create = (body: Record<string, unknown>): Record<string, unknown> => {
    validateCreate(body);
    const name = String(body['TrainingJobName']);
    if (jobs.has(name))
      throw new ApiError(
        'ResourceInUse',
        `Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:aws:sagemaker:${region}:${ACCOUNT}:training-job/${name.toLowerCase()})`,
      );
    const job: FakeTrainingJob = {
      name,
      arn: `arn:aws:sagemaker:${region}:${ACCOUNT}:training-job/${name.toLowerCase()}`,
      request: body,
      status: 'InProgress',
      secondary: 'Starting',
      transitions: [{ Status: 'Starting', StartTime: now(), StatusMessage: 'Launching requested ML instances' }],
      tags: ((body['Tags'] ?? []) as Array<{ Key: string; Value: string }>).map((tag) => ({ ...tag })),
      creationTime: now(),
      log: '',
    };
    jobs.set(name, job);
    later(phaseMs, () => {
      if (job.status !== 'InProgress') return;
      transition(job, 'Downloading', 'Downloading the training image');
      later(phaseMs, () => {
        if (job.status !== 'InProgress') return;
        transition(job, 'Training', 'Training image download completed. Training in progress.');
        void runInstance(job);
        const maxRuntime = Number((body['StoppingCondition'] as Record<string, unknown>)['MaxRuntimeInSeconds']);
        later(maxRuntime * 1000, () => {
          if (job.status === 'InProgress') stop(job, 'MaxRuntimeExceeded');
        });
      });
    });
    return { TrainingJobArn: job.arn };
  };

  const find = (name: unknown): FakeTrainingJob => {
    const job = jobs.get(String(name));
    if (!job) throw new ApiError('ResourceNotFound', `Requested resource not found.`);
    return job;
  };

  const describe = (job: FakeTrainingJob): Record<string, unknown> => ({
    TrainingJobName: job.name,
    TrainingJobArn: job.arn,
    ModelArtifacts: {
      S3ModelArtifacts: `${String((job.request['OutputDataConfig'] as Record<string, unknown>)['S3OutputPath']).replace(/\/$/, '')}/${job.name}/output/model.tar.gz`,
    },
    TrainingJobStatus: job.status,
    SecondaryStatus: job.secondary,
    ...(job.failureReason ? { FailureReason: job.failureReason } : {}),
    HyperParameters: job.request['HyperParameters'] ?? {},
    AlgorithmSpecification: job.request['AlgorithmSpecification'],
    RoleArn: job.request['RoleArn'],
    OutputDataConfig: job.request['OutputDataConfig'],
    ResourceConfig: job.request['ResourceConfig'],
    StoppingCondition: job.request['StoppingCondition'],
    ...(job.request['CheckpointConfig'] ? { CheckpointConfig: job.request['CheckpointConfig'] } : {}),
    ...(job.request['Environment'] ? { Environment: job.request['Environment'] } : {}),
    CreationTime: job.creationTime,
    LastModifiedTime: job.transitions.at(-1)?.StartTime ?? job.creationTime,
    ...(job.endTime ? { TrainingEndTime: job.endTime } : {}),
    SecondaryStatusTransitions: job.transitions,
  });

  const operations: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    CreateTrainingJob: create,
    DescribeTrainingJob: (body) => describe(find(body['TrainingJobName'])),
    StopTrainingJob: (body) => {
      const job = find(body['TrainingJobName']);
      if (job.status !== 'InProgress')
        throw new ApiError('ValidationException', `The request was rejected because the training job is in status ${job.status}.`);
      stop(job, 'Stopping');
      return {};
    },
    ListTrainingJobs: (body) => {
      const contains = typeof body['NameContains'] === 'string' ? body['NameContains'].toLowerCase() : undefined;
      const max = typeof body['MaxResults'] === 'number' ? body['MaxResults'] : 10;
      if (max < 1 || max > 100) invalid("Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100");
      const matching = [...jobs.values()]
        .filter((job) => (!contains || job.name.toLowerCase().includes(contains)) && (!body['StatusEquals'] || job.status === body['StatusEquals']))
        .sort((a, b) => b.creationTime - a.creationTime);
      const start = typeof body['NextToken'] === 'string' ? Number(body['NextToken']) : 0;
      const page = matching.slice(start, start + max);
      return {
        TrainingJobSummaries: page.map((job) => ({
          TrainingJobName: job.name,
          TrainingJobArn: job.arn,
          CreationTime: job.creationTime,
          LastModifiedTime: job.transitions.at(-1)?.StartTime ?? job.creationTime,
          TrainingJobStatus: job.status,
          SecondaryStatus: job.secondary,
          ...(job.endTime ? { TrainingEndTime: job.endTime } : {}),
        })),
        ...(start + max < matching.length ? { NextToken: String(start + max) } : {}),
      };
    },
    ListTags: (body) => {
      const job = [...jobs.values()].find((candidate) => candidate.arn === body['ResourceArn']);
      if (!job) throw new ApiError('ResourceNotFound', `Resource ${String(body['ResourceArn'])} not found.`);
      return { Tags: job.tags };
    },
  };

  const answer = (response: ServerResponse, status: number, body: Record<string, unknown>, errorType?: string): void => {
    response.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': randomUUID(),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    response.end(JSON.stringify(body));
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        const target = String(request.headers['x-amz-target'] ?? '');
        const operation = target.startsWith('SageMaker.') ? target.slice('SageMaker.'.length) : '';
        if (request.method !== 'POST' || request.url !== '/' || !String(request.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1'))
          throw new ApiError('UnknownOperationException', 'expected POST / with application/x-amz-json-1.1');
        if (!String(request.headers['authorization'] ?? '').startsWith('AWS4-HMAC-SHA256 '))
          throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        requests.push({ operation, at: Date.now(), body, headers: request.headers });
        const handler = operations[operation];
        if (!handler) throw new ApiError('UnknownOperationException', `Unknown operation ${target}`);
        const left = throttled.get(operation) ?? 0;
        if (left > 0) {
          throttled.set(operation, left - 1);
          throw new ApiError('ThrottlingException', 'Rate exceeded');
        }
        answer(response, 200, handler(body));
      } catch (error) {
        if (error instanceof ApiError) answer(response, error.status, { __type: error.type, message: error.message }, error.type);
        else answer(response, 500, { __type: 'InternalFailure', message: String(error) }, 'InternalFailure');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    region,
    requests,
    jobs,
    throttle(operation, times) {
      throttled.set(operation, (throttled.get(operation) ?? 0) + times);
    },
    sent: (operation) => requests.filter((entry) => entry.operation === operation).map((entry) => entry.body),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const job of jobs.values()) {
        job.process?.kill('SIGKILL');
        await job.exited;
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const job of jobs.values()) if (job.optMl) await rm(job.optMl, { recursive: true, force: true });
    },
  };
};
