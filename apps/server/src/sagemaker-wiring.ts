import type { BlobStore } from '@trainyard/artifacts';
import type { Logger } from '@trainyard/core';
import { createRunnerExecutor, type JobTokenIssuer, type RunnerHub, type TrainerExecutor } from '@trainyard/training';
import type { SageMakerConfig } from './config';

/** Attempts of one SageMaker call, throttling included (the SDK's standard retry mode backs off, longer after a ThrottlingException). */
const SAGEMAKER_MAX_ATTEMPTS = 8;

/**
 * The SageMaker executor for TRAINYARD_SAGEMAKER=on (docs/sagemaker.md): the runner executor with
 * a launcher that starts each attempt's runner as a SageMaker training job. Loaded only when
 * configured: a server without SageMaker never loads the AWS SDK's SageMaker client.
 * Credentials come from the AWS SDK's default chain (environment, profile, instance or task role).
 */
export const createConfiguredSageMakerExecutor = async (
  config: SageMakerConfig,
  deps: {
    images: readonly string[];
    tokens: JobTokenIssuer;
    blobs: Pick<BlobStore, 'put' | 'stat'>;
    hub: RunnerHub;
    serverUrl: () => string;
    logger: Logger;
  },
): Promise<TrainerExecutor> => {
  const [{ SageMakerClient }, { createSageMakerLauncher }] = await Promise.all([import('@aws-sdk/client-sagemaker'), import('@trainyard/sagemaker')]);
  const client = new SageMakerClient({
    maxAttempts: SAGEMAKER_MAX_ATTEMPTS,
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
  });
  return createRunnerExecutor({
    kind: 'sagemaker',
    launcher: createSageMakerLauncher({
      client,
      roleArn: config.roleArn,
      images: deps.images,
      instanceType: config.instanceType,
      volumeSizeGb: config.volumeSizeGb,
      outputS3Uri: config.outputS3Uri,
      checkpointS3Uri: config.checkpointS3Uri,
      pollMs: config.pollMs,
      logger: deps.logger,
    }),
    tokens: deps.tokens,
    blobs: deps.blobs,
    hub: deps.hub,
    serverUrl: deps.serverUrl,
    logger: deps.logger,
  });
};
