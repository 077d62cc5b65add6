import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type FakeSageMaker, startFakeSageMaker } from '@trainyard/test-services';
import type { RunnerLaunch, SchedulerState } from '@trainyard/training';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSageMakerLauncher, type SageMakerLauncherOptions } from './sagemaker-launcher';
import { trainingJobRequest } from './training-job-request';

// The SageMaker launcher against the in-process fake of SageMaker's API
// (tools/test-services/fake-sagemaker.ts), through the real @aws-sdk/client-sagemaker: what it
// sends, how it follows a job's statuses, stops it, adopts or refuses a name that exists, rides
// out throttling and finds a job again. The fake's "instance" runs a small real process here.

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/trainyard-runner:1';
const ROLE = 'arn:aws:iam::123456789012:role/trainyard-sagemaker';
const root = mkdtempSync(join(tmpdir(), 'sagemaker-launcher-'));

/** The fake instance's program: records its arguments and environment, then does what the `mode` hyperparameter says. */
const INSTANCE = `
const fs = require('node:fs');
const hps = JSON.parse(fs.readFileSync('input/config/hyperparameters.json', 'utf8'));
fs.writeFileSync('seen.json', JSON.stringify({ argv: process.argv.slice(1), env: process.env }));
process.on('SIGTERM', () => { fs.writeFileSync('sigterm', ''); setTimeout(() => process.exit(143), 500); });
const mode = JSON.parse(hps.mode ?? '"exit0"');
if (mode === 'fail') setTimeout(() => process.exit(3), 100);
else if (mode === 'wait') setInterval(() => {}, 1000);
else setTimeout(() => process.exit(0), 300);
`;

let fake: FakeSageMaker;
let client: SageMakerClient;
let counter = 0;

const options = (): SageMakerLauncherOptions => ({
  client,
  roleArn: ROLE,
  images: [IMAGE, 'other/image:2'],
  instanceType: 'ml.m5.xlarge',
  outputS3Uri: 's3://trainyard-bucket/output',
  checkpointS3Uri: 's3://trainyard-bucket/checkpoints/',
  pollMs: 50,
});

const newJob = (hyperparameters: Record<string, unknown>): { jobId: string; jobDir: string } => {
  counter += 1;
  const jobId = `01a22000-0000-7000-8000-${String(counter).padStart(12, '0')}`;
  const jobDir = join(root, jobId);
  mkdirSync(join(jobDir, 'input', 'config'), { recursive: true });
  writeFileSync(join(jobDir, 'input', 'config', 'hyperparameters.json'), JSON.stringify(hyperparameters));
  writeFileSync(join(jobDir, 'input', 'config', 'job.json'), JSON.stringify({ id: jobId, name: 'j', attempt: 1 }));
  return { jobId, jobDir };
};

const launchOf = (job: { jobId: string; jobDir: string }, states: SchedulerState[], extra: Partial<RunnerLaunch> = {}): RunnerLaunch => ({
  jobId: job.jobId,
  attempt: 1,
  jobDir: job.jobDir,
  serverUrl: 'https://trainyard.example.org',
  token: 'tyj_secret-token',
  env: { PATH: '/usr/bin', HOME: '/home/server', WANDB_MODE: 'offline', TRAINYARD_SESSION_TOKEN: 'never' },
  resources: { timeoutSeconds: 3600 },
  graceMs: 30_000,
  onState: (state) => states.push(state),
  ...extra,
});

const nameOf = (jobId: string): string => `trainyard-${jobId}-a1`;

describe('the SageMaker launcher (against the fake SageMaker API, real SDK)', () => {
  beforeAll(async () => {
    fake = await startFakeSageMaker({ entry: (image) => (image === IMAGE ? [process.execPath, '-e', INSTANCE] : undefined), phaseMs: 300, stopGraceMs: 2_000 });
    client = new SageMakerClient({
      endpoint: fake.url,
      region: fake.region,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
      maxAttempts: 5,
    });
  });
  afterAll(async () => {
    client?.destroy();
    await fake?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('sends the whole CreateTrainingJob request, follows the secondary statuses to Completed, and records the name', async () => {
    const job = newJob({ epochs: 3, lr: 0.01, optimizer: 'adam', layers: [64, 32] });
    const states: SchedulerState[] = [];
    const handle = await createSageMakerLauncher(options()).launch(launchOf(job, states));
    expect(fake.sent('CreateTrainingJob')).toContainEqual({
      TrainingJobName: nameOf(job.jobId),
      RoleArn: ROLE,
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
      HyperParameters: { epochs: '3', lr: '0.01', optimizer: '"adam"', layers: '[64,32]' },
      ResourceConfig: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
      // The timeout, the checkpoint grace and ten minutes for the runner's uploads.
      StoppingCondition: { MaxRuntimeInSeconds: 3600 + 30 + 600 },
      OutputDataConfig: { S3OutputPath: 's3://trainyard-bucket/output' },
      CheckpointConfig: { S3Uri: `s3://trainyard-bucket/checkpoints/${job.jobId}/`, LocalPath: '/opt/ml/checkpoints' },
      // The server's PATH, HOME and its own TRAINYARD_ variables stay here; the operator's additions go.
      Environment: {
        WANDB_MODE: 'offline',
        TRAINYARD_SERVER_URL: 'https://trainyard.example.org',
        TRAINYARD_JOB_ID: job.jobId,
        TRAINYARD_JOB_TOKEN: 'tyj_secret-token',
        TRAINYARD_TRAINER_ENV: 'WANDB_MODE',
      },
      Tags: [
        { Key: 'trainyard:job-id', Value: job.jobId },
        { Key: 'trainyard:attempt', Value: '1' },
      ],
    });
    const create = fake.requests.find((request) => request.operation === 'CreateTrainingJob' && request.body['TrainingJobName'] === nameOf(job.jobId));
    expect(create?.headers['x-amz-target']).toBe('SageMaker.CreateTrainingJob');
    expect(create?.headers['content-type']).toBe('application/x-amz-json-1.1');
    await expect(handle.gone).resolves.toBe(`SageMaker training job ${nameOf(job.jobId)} Completed`);
    const seen = states.map((state) => state.state);
    for (const state of ['InProgress/Starting', 'InProgress/Downloading', 'InProgress/Training', 'InProgress/Uploading', 'Completed'])
      expect(seen).toContain(state);
    expect(seen.indexOf('InProgress/Training')).toBeLessThan(seen.indexOf('Completed'));
    expect(states.every((state) => state.kind === 'sagemaker' && state.jobId === nameOf(job.jobId))).toBe(true);
    const record = JSON.parse(readFileSync(join(job.jobDir, 'runner', 'attempt-1.json'), 'utf8')) as { name: string; arn: string };
    expect(record).toMatchObject({ name: nameOf(job.jobId), arn: fake.jobs.get(nameOf(job.jobId))?.arn });
    // SageMaker starts the image with `train`; the instance had the Environment we sent.
    const instance = JSON.parse(readFileSync(join(fake.jobs.get(nameOf(job.jobId))?.optMl ?? '', 'seen.json'), 'utf8')) as {
      argv: string[];
      env: Record<string, string>;
    };
    expect(instance.argv.at(-1)).toBe('train');
    expect(instance.env).toMatchObject({ TRAINYARD_JOB_ID: job.jobId, TRAINYARD_JOB_TOKEN: 'tyj_secret-token', TRAINING_JOB_NAME: nameOf(job.jobId) });
    await handle.cleanUp();
  });

  it('a failed job is gone with its FailureReason, which onState shows', async () => {
    const job = newJob({ mode: 'fail' });
    const states: SchedulerState[] = [];
    const handle = await createSageMakerLauncher(options()).launch(launchOf(job, states));
    await expect(handle.gone).resolves.toBe(`SageMaker training job ${nameOf(job.jobId)} Failed: AlgorithmError: the algorithm exited with exit code 3`);
    expect(states.at(-1)).toEqual({
      kind: 'sagemaker',
      jobId: nameOf(job.jobId),
      state: 'Failed',
      reason: 'AlgorithmError: the algorithm exited with exit code 3',
    });
  });

  it('ThrottlingException is retried by the SDK: the launch succeeds after two throttled calls', async () => {
    const job = newJob({});
    const before = fake.sent('CreateTrainingJob').length;
    fake.throttle('CreateTrainingJob', 2);
    fake.throttle('DescribeTrainingJob', 3);
    const handle = await createSageMakerLauncher(options()).launch(launchOf(job, []));
    expect(fake.sent('CreateTrainingJob').length - before).toBe(3);
    expect(fake.sent('CreateTrainingJob').filter((body) => body['TrainingJobName'] === nameOf(job.jobId))).toHaveLength(3);
    await expect(handle.gone).resolves.toContain('Completed');
  }, 30_000);

  it('DescribeTrainingJob throttled past the SDK’s retries: asked again at twice the interval each time, then at the interval again', async () => {
    const job = newJob({ mode: 'wait' });
    const states: SchedulerState[] = [];
    // One attempt per call: every ThrottlingException reaches the launcher.
    const once = new SageMakerClient({
      endpoint: fake.url,
      region: fake.region,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    const handle = await createSageMakerLauncher({ ...options(), client: once, pollMs: 100 }).launch(launchOf(job, states));
    await vi.waitFor(() => expect(states.map((state) => state.state)).toContain('InProgress/Training'), { timeout: 5_000 });
    const from = Date.now();
    fake.throttle('DescribeTrainingJob', 4);
    await vi.waitFor(() => expect(fake.requests.filter((r) => r.operation === 'DescribeTrainingJob' && r.at >= from).length).toBeGreaterThanOrEqual(7), {
      timeout: 10_000,
    });
    const times = fake.requests.filter((r) => r.operation === 'DescribeTrainingJob' && r.at >= from).map((r) => r.at);
    const gaps = times.slice(1).map((at, i) => at - (times[i] ?? at));
    // Four throttled answers: 200, 400, 800, 1600 ms before the next question; then answered, back to 100.
    [200, 400, 800, 1600].forEach((expected, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(expected * 0.9);
      expect(gaps[i]).toBeLessThan(expected + 400);
    });
    expect(gaps[4]).toBeLessThan(200);
    handle.signal('SIGTERM');
    await expect(handle.gone).resolves.toContain('Stopped');
    once.destroy();
  }, 30_000);

  it('a name that exists is adopted when its tags say it is this attempt of this job, and refused otherwise', async () => {
    const job = newJob({ mode: 'wait' });
    const first = await createSageMakerLauncher(options()).launch(launchOf(job, []));
    // A launch repeated (its answer lost): the same name, ResourceInUse, the tags match.
    const states: SchedulerState[] = [];
    const again = await createSageMakerLauncher(options()).launch(launchOf(job, states));
    expect(fake.sent('CreateTrainingJob').filter((body) => body['TrainingJobName'] === nameOf(job.jobId))).toHaveLength(2);
    await vi.waitFor(() => expect(states.some((state) => state.state.startsWith('InProgress'))).toBe(true));
    again.signal('SIGTERM');
    await expect(first.gone).resolves.toContain('Stopped');

    // Someone else's job under the name this attempt would take.
    const other = newJob({});
    const request = trainingJobRequest(
      { jobId: 'someone-else', attempt: 1, serverUrl: 'https://x', token: 't', env: {}, hyperparameters: {} },
      {
        roleArn: ROLE,
        image: IMAGE,
        instanceType: 'ml.m5.xlarge',
        instanceCount: 1,
        volumeSizeGb: 1,
        outputS3Uri: 's3://b/o',
        checkpointS3Uri: 's3://b/c/',
        maxRuntimeSeconds: 60,
      },
    );
    await client.send(new CreateTrainingJobCommand({ ...request, TrainingJobName: nameOf(other.jobId) }));
    await expect(createSageMakerLauncher(options()).launch(launchOf(other, []))).rejects.toThrow(
      `a SageMaker training job named ${nameOf(other.jobId)} already exists and its tags do not say it is attempt 1 of job ${other.jobId}; refused (not adopted)`,
    );
  });

  it('SIGTERM is StopTrainingJob: the instance gets SIGTERM, the job goes Stopping then Stopped', async () => {
    const job = newJob({ mode: 'wait' });
    const states: SchedulerState[] = [];
    const handle = await createSageMakerLauncher(options()).launch(launchOf(job, states));
    await vi.waitFor(() => expect(states.map((state) => state.state)).toContain('InProgress/Training'), { timeout: 5_000 });
    await vi.waitFor(() => expect(existsSync(join(fake.jobs.get(nameOf(job.jobId))?.optMl ?? '', 'seen.json'))).toBe(true));
    handle.signal('SIGTERM');
    await expect(handle.gone).resolves.toBe(`SageMaker training job ${nameOf(job.jobId)} Stopped`);
    expect(fake.sent('StopTrainingJob')).toContainEqual({ TrainingJobName: nameOf(job.jobId) });
    expect(existsSync(join(fake.jobs.get(nameOf(job.jobId))?.optMl ?? '', 'sigterm'))).toBe(true);
    expect(states.map((state) => state.state)).toEqual(expect.arrayContaining(['Stopping', 'Stopped']));
  });

  it('find: a new launcher (a restarted server) finds a running job by its record, or by name and tags without one; a finished one is not found', async () => {
    const job = newJob({ mode: 'wait' });
    await createSageMakerLauncher(options()).launch(launchOf(job, []));
    const states: SchedulerState[] = [];
    const found = await createSageMakerLauncher(options()).find(job.jobDir, 1, { onState: (state) => states.push(state) });
    expect(found).toBeDefined();
    await vi.waitFor(() => expect(states.length).toBeGreaterThan(0));

    // Without the record: ListTrainingJobs by our job id, then the tags.
    rmSync(join(job.jobDir, 'runner', 'attempt-1.json'));
    const listedBefore = fake.sent('ListTrainingJobs').length;
    const byTags = await createSageMakerLauncher(options()).find(job.jobDir, 1);
    expect(byTags).toBeDefined();
    expect(fake.sent('ListTrainingJobs').slice(listedBefore)).toEqual([{ NameContains: job.jobId, MaxResults: 100 }]);
    expect(fake.sent('ListTags').at(-1)).toEqual({ ResourceArn: fake.jobs.get(nameOf(job.jobId))?.arn });

    byTags?.signal('SIGTERM');
    await expect(found?.gone).resolves.toContain('Stopped');
    expect(await createSageMakerLauncher(options()).find(job.jobDir, 1)).toBeUndefined();
    expect(await createSageMakerLauncher(options()).find(job.jobDir, 2)).toBeUndefined();
  });

  it('refuses what SageMaker would refuse, before sending anything: hyperparameters past its limits, an image off the allowlist, several instances', async () => {
    const before = fake.sent('CreateTrainingJob').length;
    const long = newJob({ prompt: 'x'.repeat(300) });
    await expect(createSageMakerLauncher(options()).launch(launchOf(long, []))).rejects.toThrow(
      'hyperparameter prompt is 302 characters as SageMaker’s string (JSON-encoded); SageMaker takes at most 256: put large values in the dataset or the image'.replace(
        '’',
        "'",
      ),
    );
    const many = newJob(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`p${i}`, i])));
    await expect(createSageMakerLauncher(options()).launch(launchOf(many, []))).rejects.toThrow('101 hyperparameters; SageMaker takes at most 100');
    const job = newJob({});
    await expect(createSageMakerLauncher(options()).launch(launchOf(job, [], { resources: { image: 'evil/image:1' } }))).rejects.toThrow(
      "image evil/image:1 is not on this server's allowlist",
    );
    await expect(createSageMakerLauncher(options()).launch(launchOf(job, [], { resources: { instanceCount: 2 } }))).rejects.toThrow('one instance');
    expect(fake.sent('CreateTrainingJob').length).toBe(before);
  });

  it('the fake refuses what SageMaker documents as invalid (ValidationException): a name past 63 characters, a hyperparameter value past 256', async () => {
    const request = trainingJobRequest(
      { jobId: 'x', attempt: 1, serverUrl: 'https://x', token: 't', env: {}, hyperparameters: {} },
      {
        roleArn: ROLE,
        image: IMAGE,
        instanceType: 'ml.m5.xlarge',
        instanceCount: 1,
        volumeSizeGb: 1,
        outputS3Uri: 's3://b/o',
        checkpointS3Uri: 's3://b/c/',
        maxRuntimeSeconds: 60,
      },
    );
    await expect(client.send(new CreateTrainingJobCommand({ ...request, TrainingJobName: 'a'.repeat(64) }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      client.send(new CreateTrainingJobCommand({ ...request, TrainingJobName: 'ok-name', HyperParameters: { a: 'x'.repeat(257) } })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });
});
