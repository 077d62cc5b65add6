import { createJobInput } from '@trainyard/contracts';
import { describe, expect, it } from 'vitest';
import { jobStartInput } from './jobs.commands';

const base = { name: 'n', param: [], gate: [] };

describe('trainyard jobs start: the job it asks for', () => {
  it('runs a command in this directory locally, but not inside a container, where this directory does not exist', () => {
    expect(jobStartInput(base, ['python3', 'train.py']).trainer).toEqual({ kind: 'command', command: ['python3', 'train.py'], cwd: process.cwd() });
    const input = jobStartInput({ ...base, executor: 'kubernetes', image: 'ghcr.io/lab/trainer:1', namespace: 'ml', serviceAccount: 'trainer', gpus: 1 }, [
      'python3',
      'train.py',
    ]);
    expect(input.trainer).toEqual({ kind: 'command', command: ['python3', 'train.py'] });
    expect(input.resources).toEqual({ image: 'ghcr.io/lab/trainer:1', namespace: 'ml', serviceAccount: 'trainer', gpus: 1 });
    expect(createJobInput.safeParse(input).success).toBe(true);
  });

  it('carries the SageMaker instance type and count', () => {
    const input = jobStartInput({ ...base, executor: 'sagemaker', instanceType: 'ml.g5.xlarge', instanceCount: 1, timeout: 3_600 }, ['train']);
    expect(input.resources).toEqual({ instanceType: 'ml.g5.xlarge', instanceCount: 1, timeoutSeconds: 3_600 });
    expect(createJobInput.safeParse(input).success).toBe(true);
  });
});
