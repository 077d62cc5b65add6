import { describe, expect, it } from 'vitest';
import { buildJob, kubernetesJobName } from './job-manifest';

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
      env: { PATH: '/srv/bin', HOME: '/home/srv', LANG: 'C.UTF-8', TRAINYARD_DATA_DIR: '/data', 'BAD NAME': 'x' },
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
    expect(container?.env?.map((entry) => entry.name)).toEqual(['LANG', 'TRAINYARD_TRAINER_ENV', 'TRAINYARD_JOB_TOKEN']);
  });
});
