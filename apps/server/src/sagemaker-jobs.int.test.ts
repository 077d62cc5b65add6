import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { type FakeSageMaker, freePort, rawRequest, type ServerProcess, startFakeSageMaker, startServerProcess } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Jobs with executor `sagemaker` (docs/sagemaker.md), end to end: the built server (PGlite) with
// TRAINYARD_SAGEMAKER=on and its SageMaker endpoint pointed at the in-process fake of SageMaker's
// API (tools/test-services/fake-sagemaker.ts). The fake's "instance" runs the image's entry — the
// built runner, `node apps/runner/dist/runner.js --sagemaker <temporary /opt/ml> train` — as a real
// process with the Environment the server sent, so the runner reaches the server over HTTP with
// its job token and runs a trainer written the SageMaker way (SM_CHANNEL_TRAIN, SM_MODEL_DIR).

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainyard-runner:1';
const ROLE = 'arn:aws:iam::123456789012:role/trainyard-sagemaker';
const runner = fileURLToPath(new URL('../../runner/dist/runner.js', import.meta.url));
const trainer = fileURLToPath(new URL('../../../libs/sagemaker/src/test-fixtures/sagemaker-style-trainer.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'trainyard-sagemaker-jobs-'));
let fake: FakeSageMaker;
let server: ServerProcess;
let serverPort: number;
let client: TrainyardClient;
let snapshotId: string;
let trainLines: number;

const serverEnv = (): Record<string, string> => ({
  TRAINYARD_DATA_DIR: join(root, 'data'),
  TRAINYARD_DEMO_DATA: 'off',
  TRAINYARD_SAGEMAKER: 'on',
  TRAINYARD_SAGEMAKER_ROLE_ARN: ROLE,
  TRAINYARD_SAGEMAKER_INSTANCE_TYPE: 'ml.g5.xlarge',
  TRAINYARD_SAGEMAKER_OUTPUT_S3_URI: 's3://trainyard-test/output',
  TRAINYARD_SAGEMAKER_CHECKPOINT_S3_URI: 's3://trainyard-test/checkpoints',
  TRAINYARD_SAGEMAKER_REGION: 'eu-west-1',
  TRAINYARD_SAGEMAKER_ENDPOINT: fake.url,
  TRAINYARD_SAGEMAKER_POLL_SECONDS: '0.2',
  TRAINYARD_RUNNER_IMAGES: IMAGE,
  TRAINYARD_CANCEL_GRACE_SECONDS: '2',
  // The AWS SDK's default credential chain reads these; the fake requires a signature, never checks it.
  AWS_ACCESS_KEY_ID: 'AKIDTRAINYARDTEST',
  AWS_SECRET_ACCESS_KEY: 'not-a-secret',
  PORT: String(serverPort),
});

const waitForStatus = (id: string, statuses: string[], timeout = 60_000) =>
  vi.waitFor(
    async () => {
      const job = await client.jobs.get.query({ id });
      if (!statuses.includes(job.status)) throw new Error(`job ${id} is ${job.status}, not ${statuses.join('|')}`);
      return job;
    },
    { timeout, interval: 200 },
  );

const createJob = (name: string, hyperparameters: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  client.jobs.create.mutate({
    name,
    executor: 'sagemaker',
    trainer: { kind: 'command', command: [process.execPath, trainer] },
    datasetSnapshotId: snapshotId,
    hyperparameters,
    ...extra,
  });

const nameOf = (jobId: string, attempt = 1): string => `trainyard-${jobId}-a${attempt}`;
const logOf = async (id: string, stream: 'stdout' | 'stderr'): Promise<string> => (await client.jobs.logs.query({ id, stream })).text;
const sentFor = (operation: string, jobId: string) => fake.sent(operation).filter((body) => body['TrainingJobName'] === nameOf(jobId));

describe('jobs on SageMaker (built server, fake SageMaker API, real runner and trainer processes)', () => {
  beforeAll(async () => {
    fake = await startFakeSageMaker({
      entry: (image, optMl) => (image === IMAGE ? [process.execPath, runner, '--sagemaker', optMl] : undefined),
      phaseMs: 200,
      stopGraceMs: 20_000,
    });
    serverPort = await freePort();
    server = await startServerProcess(serverEnv());
    client = createTrainyardClient({ url: server.url, token: server.token });
    const body = syntheticPairs(40, 3)
      .map((pair) => JSON.stringify(pair))
      .join('\n');
    const imported = await rawRequest(`${server.url}/import/training-data`, {
      method: 'POST',
      headers: { host: `127.0.0.1:${serverPort}`, authorization: `Bearer ${server.token}`, 'content-type': 'application/x-ndjson' },
      body,
    });
    expect(JSON.parse(imported.body)).toMatchObject({ imported: 40 });
    const snapshot = await client.datasets.createSnapshot.mutate({ name: 'sagemaker-40', validationFraction: 0.25, seed: 1 });
    snapshotId = snapshot.id;
    trainLines = snapshot.trainCount;
  }, 120_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await fake?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs a SageMaker-style trainer end to end: the request we sent, metrics, logs, the model registered, succeeded', async () => {
    const job = await createJob('on sagemaker', { epochs: 3, optimizer: 'adam' }, { targetModel: 'sagemaker-model' });
    const done = await waitForStatus(job.id, ['succeeded', 'failed']);
    expect([done.status, done.error, done.exitCode, done.executor]).toEqual(['succeeded', null, 0, 'sagemaker']);

    const [request] = sentFor('CreateTrainingJob', job.id);
    expect(request).toMatchObject({
      RoleArn: ROLE,
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
      HyperParameters: { epochs: '3', optimizer: '"adam"' },
      ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
      OutputDataConfig: { S3OutputPath: 's3://trainyard-test/output' },
      CheckpointConfig: { S3Uri: `s3://trainyard-test/checkpoints/${job.id}/`, LocalPath: '/opt/ml/checkpoints' },
      Environment: { TRAINYARD_SERVER_URL: server.url, TRAINYARD_JOB_ID: job.id },
      Tags: [
        { Key: 'trainyard:job-id', Value: job.id },
        { Key: 'trainyard:attempt', Value: '1' },
      ],
    });
    const token = (request?.['Environment'] as Record<string, string>)['TRAINYARD_JOB_TOKEN'] ?? '';
    expect(token).toMatch(/^tyj_/);

    const metrics = await client.jobs.metrics.query({ jobId: job.id, names: ['train_loss'] });
    expect(metrics['train_loss']?.step).toEqual([1, 2, 3]);
    const stdout = await logOf(job.id, 'stdout');
    expect(stdout).toContain(`sagemaker-style trainer: ${trainLines} training lines from SM_CHANNEL_TRAIN, optimizer adam, channels ["train","validation"]`);
    expect(stdout).toContain('stdout line of epoch 3');
    // What the trainer wrote to SM_MODEL_DIR came back as the model, with the hash of its bytes.
    const version = await client.models.getVersion.query({ model: 'sagemaker-model', ref: { alias: 'latest' } });
    const artifacts = (await client.artifacts.list.query({ modelVersionId: version.id })).items;
    const model = artifacts.find((artifact) => artifact.name === 'output/model/model.json');
    expect(model?.sha256).toBe(
      createHash('sha256')
        .update(JSON.stringify({ epochs: 3, lines: trainLines }))
        .digest('hex'),
    );
    const checkpoints = (await client.artifacts.list.query({ trainingJobId: job.id, type: 'checkpoint' })).items.map((a) => a.name).sort();
    expect(checkpoints).toEqual(['checkpoints/epoch-1.json', 'checkpoints/epoch-2.json', 'checkpoints/epoch-3.json']);
    // The runner reports before its container exits: SageMaker's job completes just after ours.
    await vi.waitFor(() => expect(fake.jobs.get(nameOf(job.id))?.status).toBe('Completed'), { timeout: 10_000 });
    // The token in SageMaker's Environment (readable with DescribeTrainingJob) is revoked once the job ended.
    const after = await rawRequest(`${server.url}/runner/jobs/${job.id}/inputs`, {
      method: 'GET',
      headers: { host: `127.0.0.1:${serverPort}`, authorization: `Bearer ${token}` },
    });
    expect(after.status).toBe(401);
  }, 90_000);

  it('shows SageMaker’s status and secondary status on the job, and a cancel is StopTrainingJob: the trainer checkpoints, the job is cancelled', async () => {
    const job = await createJob('cancelled on sagemaker', { epochs: 300, stepDelayMs: 200 });
    const training = await vi.waitFor(
      async () => {
        const seen = await client.jobs.get.query({ id: job.id });
        if (seen.scheduler?.state !== 'InProgress/Training' || seen.progress === 0) throw new Error(`scheduler ${JSON.stringify(seen.scheduler)}`);
        return seen;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(training.scheduler).toMatchObject({ kind: 'sagemaker', jobId: nameOf(job.id), state: 'InProgress/Training' });
    await client.jobs.cancel.mutate({ id: job.id });
    const cancelled = await waitForStatus(job.id, ['cancelled', 'failed'], 30_000);
    expect([cancelled.status, cancelled.error]).toEqual(['cancelled', null]);
    expect(sentFor('StopTrainingJob', job.id)).toHaveLength(1);
    await vi.waitFor(() => expect(fake.jobs.get(nameOf(job.id))?.status).toBe('Stopped'), { timeout: 20_000 });
    expect(await logOf(job.id, 'stdout')).toMatch(/stopped by SIGTERM after epoch \d+/);
    expect(fake.jobs.get(nameOf(job.id))?.transitions.map((transition) => transition.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Stopping',
      'Stopped',
    ]);
  }, 90_000);

  it('a server killed mid-run: the restarted server finds the training job by its record and follows it to the end, nothing recorded twice', async () => {
    const job = await createJob('server restart on sagemaker', { epochs: 12, stepDelayMs: 250 }, { targetModel: 'sagemaker-restart' });
    await vi.waitFor(
      async () => {
        if ((await client.jobs.get.query({ id: job.id })).progress < 0.15) throw new Error('not started yet');
      },
      { timeout: 30_000, interval: 50 },
    );
    server.child.kill('SIGKILL');
    await server.exited;
    const describedBefore = sentFor('DescribeTrainingJob', job.id).length;
    server = await startServerProcess(serverEnv());
    client = createTrainyardClient({ url: server.url, token: server.token });
    const done = await waitForStatus(job.id, ['succeeded', 'failed']);
    expect([done.status, done.error, done.exitCode, done.attempt]).toEqual(['succeeded', null, 0, 1]);
    expect(sentFor('CreateTrainingJob', job.id)).toHaveLength(1);
    expect(sentFor('DescribeTrainingJob', job.id).length).toBeGreaterThan(describedBefore);
    const metrics = await client.jobs.metrics.query({ jobId: job.id, names: ['train_loss'] });
    expect(metrics['train_loss']?.step).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const stdout = await logOf(job.id, 'stdout');
    for (let epoch = 1; epoch <= 12; epoch += 1) expect(stdout.split(`stdout line of epoch ${epoch}\n`)).toHaveLength(2);
    expect((await client.models.getVersion.query({ model: 'sagemaker-restart', ref: { alias: 'latest' } })).trainingJobId).toBe(job.id);
    expect(JSON.parse(readFileSync(join(root, 'data', 'jobs', job.id, 'runner', 'attempt-1.json'), 'utf8'))).toMatchObject({ name: nameOf(job.id) });
  }, 120_000);
});
