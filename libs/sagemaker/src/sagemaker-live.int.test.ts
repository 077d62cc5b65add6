import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ListTagsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SchedulerState } from '@trainyard/training';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createSageMakerLauncher } from './sagemaker-launcher';

// Opt-in, against real SageMaker (docs/sagemaker.md, "Verified"): runs only with
// TRAINYARD_LIVE_SAGEMAKER=1, AWS credentials (the SDK's default chain) and the settings below.
// It creates ONE training job (billed: a few minutes of the instance type), follows its statuses,
// checks its tags, finds it again by name and tags, stops it and waits for Stopped. The runner in
// the image cannot reach a Trainyard server from there (TRAINYARD_LIVE_SAGEMAKER_SERVER_URL is
// unreachable by default), so nothing trains: this checks the launcher's API use, not a job's run.
const env = process.env;
const settings = {
  role: env['TRAINYARD_LIVE_SAGEMAKER_ROLE_ARN'],
  image: env['TRAINYARD_LIVE_SAGEMAKER_IMAGE'],
  output: env['TRAINYARD_LIVE_SAGEMAKER_OUTPUT_S3_URI'],
  checkpoints: env['TRAINYARD_LIVE_SAGEMAKER_CHECKPOINT_S3_URI'],
  instanceType: env['TRAINYARD_LIVE_SAGEMAKER_INSTANCE_TYPE'] ?? 'ml.m5.large',
  serverUrl: env['TRAINYARD_LIVE_SAGEMAKER_SERVER_URL'] ?? 'https://trainyard.invalid',
};
const credentials = ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'].some((name) => env[name]);
const missing = [
  'TRAINYARD_LIVE_SAGEMAKER_ROLE_ARN',
  'TRAINYARD_LIVE_SAGEMAKER_IMAGE',
  'TRAINYARD_LIVE_SAGEMAKER_OUTPUT_S3_URI',
  'TRAINYARD_LIVE_SAGEMAKER_CHECKPOINT_S3_URI',
  'AWS_REGION',
].filter((name) => !env[name]);
const skip =
  env['TRAINYARD_LIVE_SAGEMAKER'] !== '1'
    ? 'set TRAINYARD_LIVE_SAGEMAKER=1 to run it against real SageMaker (it creates a billed training job)'
    : !credentials
      ? 'no AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, a web identity or container credentials)'
      : missing.length > 0
        ? `missing ${missing.join(', ')}`
        : undefined;

const root = mkdtempSync(join(tmpdir(), 'sagemaker-live-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(skip)(`the SageMaker launcher against real SageMaker${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('creates a training job SageMaker accepts, sees its secondary statuses, finds it by name and tags, and stops it', async () => {
    const client = new SageMakerClient({ maxAttempts: 8 });
    const options = {
      client,
      roleArn: settings.role ?? '',
      images: [settings.image ?? ''],
      instanceType: settings.instanceType,
      outputS3Uri: settings.output ?? '',
      checkpointS3Uri: settings.checkpoints ?? '',
      pollMs: 10_000,
    };
    const jobId = randomUUID();
    const jobDir = join(root, jobId);
    mkdirSync(join(jobDir, 'input', 'config'), { recursive: true });
    writeFileSync(join(jobDir, 'input', 'config', 'hyperparameters.json'), JSON.stringify({ epochs: 1, optimizer: 'adam' }));
    writeFileSync(join(jobDir, 'input', 'config', 'job.json'), JSON.stringify({ id: jobId, name: 'live', attempt: 1 }));
    const states: SchedulerState[] = [];
    const handle = await createSageMakerLauncher(options).launch({
      jobId,
      attempt: 1,
      jobDir,
      serverUrl: settings.serverUrl,
      token: 'tyj_live-test-token-that-no-server-knows',
      env: {},
      resources: { timeoutSeconds: 600 },
      graceMs: 10_000,
      onState: (state) => states.push(state),
    });
    const name = `trainyard-${jobId}-a1`;
    await vi.waitFor(() => expect(states.some((state) => state.state !== 'InProgress/Starting')).toBe(true), { timeout: 600_000, interval: 5_000 });
    const found = await createSageMakerLauncher(options).find(jobDir, 1);
    rmSync(join(jobDir, 'runner', 'attempt-1.json'));
    const byTags = await createSageMakerLauncher(options).find(jobDir, 1);
    handle.signal('SIGTERM');
    const how = await handle.gone;
    expect(how).toMatch(new RegExp(`^SageMaker training job ${name} (Stopped|Failed)`));
    expect(found ?? byTags).toBeDefined();
    const described = states.at(-1);
    expect(described?.jobId).toBe(name);
    const arn = (
      await client.send(
        new ListTagsCommand({
          ResourceArn: `arn:aws:sagemaker:${env['AWS_REGION']}:${(settings.role ?? '').split(':')[4]}:training-job/${name.toLowerCase()}`,
        }),
      )
    ).Tags;
    expect(arn).toEqual(
      expect.arrayContaining([
        { Key: 'trainyard:job-id', Value: jobId },
        { Key: 'trainyard:attempt', Value: '1' },
      ]),
    );
    await handle.cleanUp();
    client.destroy();
  }, 1_800_000);
});
