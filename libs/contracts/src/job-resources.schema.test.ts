import { describe, expect, it } from 'vitest';
import { createJobInput } from './jobs.schema';

const job = (resources: Record<string, unknown>) =>
  createJobInput.safeParse({ name: 'j', executor: 'sagemaker', trainer: { kind: 'command', command: ['python3', 'train.py'] }, resources });

describe('a SageMaker job’s resources', () => {
  it('takes one instance: several (distributed training) are refused (docs/sagemaker.md, "One instance")', () => {
    expect(job({ instanceType: 'ml.g5.xlarge', instanceCount: 1 }).success).toBe(true);
    expect(job({ instanceCount: 2 }).success).toBe(false);
  });
});
