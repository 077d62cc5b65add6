import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

const on = {
  TRAINYARD_SAGEMAKER: 'on',
  TRAINYARD_SAGEMAKER_ROLE_ARN: 'arn:aws:iam::123456789012:role/trainyard-sagemaker',
  TRAINYARD_SAGEMAKER_OUTPUT_S3_URI: 's3://bucket/output',
  TRAINYARD_SAGEMAKER_CHECKPOINT_S3_URI: 's3://bucket/checkpoints',
  TRAINYARD_RUNNER_IMAGES: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainyard-runner:1',
};

describe('TRAINYARD_SAGEMAKER (docs/sagemaker.md)', () => {
  it('is off by default; on, it reads the role, S3 paths and defaults', () => {
    expect(loadConfig({}).sageMaker).toBeUndefined();
    expect(loadConfig(on).sageMaker).toEqual({
      roleArn: 'arn:aws:iam::123456789012:role/trainyard-sagemaker',
      instanceType: 'ml.m5.xlarge',
      instanceTypes: ['ml.m5.xlarge'],
      outputS3Uri: 's3://bucket/output',
      checkpointS3Uri: 's3://bucket/checkpoints',
      region: undefined,
      endpoint: undefined,
      volumeSizeGb: 30,
      pollMs: 15_000,
    });
    expect(
      loadConfig({
        ...on,
        TRAINYARD_SAGEMAKER_REGION: 'eu-west-1',
        TRAINYARD_SAGEMAKER_ENDPOINT: 'http://127.0.0.1:9000',
        TRAINYARD_SAGEMAKER_POLL_SECONDS: '30',
      }).sageMaker,
    ).toMatchObject({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', pollMs: 30_000 });
    // Jobs may ask for the listed instance types and the default one, nothing else (an instance type is a cost).
    expect(loadConfig({ ...on, TRAINYARD_SAGEMAKER_INSTANCE_TYPES: 'ml.g5.xlarge, ml.g5.2xlarge' }).sageMaker?.instanceTypes).toEqual([
      'ml.m5.xlarge',
      'ml.g5.xlarge',
      'ml.g5.2xlarge',
    ]);
    expect(() => loadConfig({ ...on, TRAINYARD_SAGEMAKER_INSTANCE_TYPES: 'ml.g5.xlarge,p5' })).toThrow(/TRAINYARD_SAGEMAKER_INSTANCE_TYPES/);
  });

  it('on, names every missing setting, and refuses values SageMaker would not take', () => {
    expect(() => loadConfig({ TRAINYARD_SAGEMAKER: 'on' })).toThrow(
      /TRAINYARD_SAGEMAKER_ROLE_ARN: TRAINYARD_SAGEMAKER=on needs[^\n]*\n\s+TRAINYARD_SAGEMAKER_OUTPUT_S3_URI[^\n]*\n\s+TRAINYARD_SAGEMAKER_CHECKPOINT_S3_URI[^\n]*\n\s+TRAINYARD_RUNNER_IMAGES/,
    );
    expect(() => loadConfig({ ...on, TRAINYARD_SAGEMAKER_ROLE_ARN: 'trainyard-role' })).toThrow(/TRAINYARD_SAGEMAKER_ROLE_ARN/);
    expect(() => loadConfig({ ...on, TRAINYARD_SAGEMAKER_INSTANCE_TYPE: 'm5.xlarge' })).toThrow(/TRAINYARD_SAGEMAKER_INSTANCE_TYPE/);
    expect(() => loadConfig({ ...on, TRAINYARD_SAGEMAKER_OUTPUT_S3_URI: 'https://bucket/output' })).toThrow(/TRAINYARD_SAGEMAKER_OUTPUT_S3_URI/);
  });
});
