import { describe, expect, it } from 'vitest';
import { buildJob, buildSecret, kubernetesJobName } from './job-manifest';

describe('the Job of an attempt', () => {
  it('is named as a DNS-1123 label of at most 63 characters, whatever the id', () => {
    expect(kubernetesJobName('0190A1B2-c3d4-7e5f-8a9b-000000000001', 12)).toBe('ty-0190a1b2-c3d4-7e5f-8a9b-000000000001-12');
    const long = kubernetesJobName(`${'x'.repeat(80)}_--`, 3);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  });

  it('leaves out the timeout and resources it was not given, and never passes the server machine’s paths or TRAINYARD_ variables', () => {
    const job = buildJob({
      jobId: 'j',
      attempt: 1,
      serverUrl: 'https://t',
      env: {
        PATH: '/srv/bin',
        HOME: '/home/srv',
        LANG: 'C.UTF-8',
        NVIDIA_VISIBLE_DEVICES: 'all',
        TRAINYARD_DATA_DIR: '/data',
        'BAD NAME': 'x',
        WANDB_API_KEY: 'secret-key',
      },
      namespace: 'n',
      serviceAccount: 's',
      image: 'i',
      runnerPath: '/opt/trainyard/runner.js',
      graceMs: 10_500,
      ttlSecondsAfterFinished: 60,
    });
    expect(job.spec?.activeDeadlineSeconds).toBeUndefined();
    const container = job.spec?.template.spec?.containers[0];
    expect(container?.resources).toBeUndefined();
    expect(job.spec?.template.spec?.terminationGracePeriodSeconds).toBe(11 + 60);
    // Only the operator's additions pass (TRAINYARD_TRAINER_ENV), their values from the Secret, never in the spec.
    expect(container?.env).toEqual([
      { name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: job.metadata?.name, key: 'env.WANDB_API_KEY' } } },
      { name: 'TRAINYARD_TRAINER_ENV', value: 'WANDB_API_KEY' },
      { name: 'TRAINYARD_JOB_TOKEN', valueFrom: { secretKeyRef: { name: job.metadata?.name, key: 'token' } } },
    ]);
    expect(JSON.stringify(job)).not.toContain('secret-key');
    expect(job.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    const secret = buildSecret({ name: 'ty-j-1', namespace: 'n', uid: 'u', labels: {} }, 'tyj_x', { WANDB_API_KEY: 'secret-key', PATH: '/srv/bin' });
    expect(secret.stringData).toEqual({ token: 'tyj_x', 'env.WANDB_API_KEY': 'secret-key' });
  });
});
