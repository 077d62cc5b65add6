import { describe, expect, it } from 'vitest';
import { passesThrough, trainerEnvironment } from './trainer-env';

const server = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/alice',
  USER: 'alice',
  LANG: 'en_US.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'Europe/Berlin',
  TMPDIR: '/tmp/alice',
  HTTPS_PROXY: 'http://proxy:3128',
  no_proxy: 'localhost',
  CUDA_VISIBLE_DEVICES: '0,1',
  NVIDIA_VISIBLE_DEVICES: 'all',
  ROCM_PATH: '/opt/rocm',
  HIP_VISIBLE_DEVICES: '0',
  CONDA_PREFIX: '/opt/conda/envs/train',
  VIRTUAL_ENV: '/home/alice/.venv',
  PYTHONPATH: '/home/alice/lib',
  // Secrets and server settings: never passed on.
  TRAINYARD_TOKEN: 'session-token-session-token-session-token',
  DATABASE_URL: 'postgresql://trainyard:secret@db/trainyard',
  AWS_ACCESS_KEY_ID: 'AKIA…',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'session',
  GITHUB_TOKEN: 'ghp_…',
  NODE_OPTIONS: '--require /tmp/evil.js',
  TRAINYARD_DATA_DIR: '/data',
  WANDB_API_KEY: 'wandb-key',
  UNSET: undefined,
};

describe('trainer environment', () => {
  it('passes the allowlist through and nothing else', () => {
    const env = trainerEnvironment({ source: server, protocol: { TRAINYARD_JOB_DIR: '/data/jobs/1' } });
    expect(Object.keys(env).sort()).toEqual(
      [
        'PATH',
        'HOME',
        'USER',
        'LANG',
        'LC_ALL',
        'TZ',
        'TMPDIR',
        'HTTPS_PROXY',
        'no_proxy',
        'CUDA_VISIBLE_DEVICES',
        'NVIDIA_VISIBLE_DEVICES',
        'ROCM_PATH',
        'HIP_VISIBLE_DEVICES',
        'CONDA_PREFIX',
        'VIRTUAL_ENV',
        'PYTHONPATH',
        'TRAINYARD_JOB_DIR',
      ].sort(),
    );
    expect(env['PATH']).toBe('/usr/bin:/bin');
    expect(env['TRAINYARD_JOB_DIR']).toBe('/data/jobs/1');
  });

  it('adds the names the operator configured, the runtime variables, and the protocol variables last', () => {
    const env = trainerEnvironment({
      source: { ...server, TRAINYARD_JOB_DIR: '/elsewhere' },
      extra: ['WANDB_API_KEY'],
      runtime: { ELECTRON_RUN_AS_NODE: '1', PATH: '/runtime/bin' },
      protocol: { TRAINYARD_JOB_DIR: '/data/jobs/1' },
    });
    expect(env).toMatchObject({ WANDB_API_KEY: 'wandb-key', ELECTRON_RUN_AS_NODE: '1', PATH: '/runtime/bin', TRAINYARD_JOB_DIR: '/data/jobs/1' });
    expect(env['DATABASE_URL']).toBeUndefined();
  });

  it('matches prefixes, not substrings', () => {
    expect(passesThrough('LC_CTYPE')).toBe(true);
    expect(passesThrough('MY_CUDA_KEY')).toBe(false);
    expect(passesThrough('PATHEXT')).toBe(false);
    expect(passesThrough('TRAINYARD_TOKEN')).toBe(false);
    expect(passesThrough('AWS_SECRET_ACCESS_KEY', ['AWS_REGION'])).toBe(false);
    expect(passesThrough('AWS_REGION', ['AWS_REGION'])).toBe(true);
  });
});
