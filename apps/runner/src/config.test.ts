import { describe, expect, it } from 'vitest';
import { loadRunnerConfig } from './config';

const argv = (...args: string[]): string[] => ['node', 'runner.js', ...args];

describe('the runner’s arguments and environment', () => {
  it('takes the server and job from the flags, and the token from the environment (removed from it)', () => {
    const env: NodeJS.ProcessEnv = { TRAINYARD_JOB_TOKEN: 'tyj_x', PATH: '/bin' };
    const config = loadRunnerConfig(argv('--server', 'https://s', '--job', 'j1', '--work-dir', '/tmp/w'), env);
    expect(config).toMatchObject({ server: 'https://s', jobId: 'j1', workDir: '/tmp/w', token: 'tyj_x', sageMakerRoot: undefined });
    expect(env['TRAINYARD_JOB_TOKEN']).toBeUndefined();
    expect(config.environment['TRAINYARD_JOB_TOKEN']).toBeUndefined();
  });

  it('without flags, takes them from TRAINYARD_SERVER_URL and TRAINYARD_JOB_ID (how a SageMaker job passes them); flags win', () => {
    const env = { TRAINYARD_SERVER_URL: 'https://from-env', TRAINYARD_JOB_ID: 'j-env' };
    expect(loadRunnerConfig(argv(), { ...env })).toMatchObject({ server: 'https://from-env', jobId: 'j-env' });
    expect(loadRunnerConfig(argv('--job', 'j-flag'), { ...env })).toMatchObject({ server: 'https://from-env', jobId: 'j-flag' });
  });

  it('`train` (SageMaker’s argument) is SageMaker mode at /opt/ml, the job under /opt/ml/trainyard; --sagemaker takes another root', () => {
    const env = { TRAINYARD_SERVER_URL: 'https://s', TRAINYARD_JOB_ID: 'j' };
    expect(loadRunnerConfig(argv('train'), { ...env })).toMatchObject({ sageMakerRoot: '/opt/ml', workDir: '/opt/ml/trainyard' });
    expect(loadRunnerConfig(argv('--sagemaker'), { ...env })).toMatchObject({ sageMakerRoot: '/opt/ml' });
    expect(loadRunnerConfig(argv('--sagemaker', '/tmp/ml', 'train'), { ...env })).toMatchObject({ sageMakerRoot: '/tmp/ml', workDir: '/tmp/ml/trainyard' });
  });
});
