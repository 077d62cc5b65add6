import { delimiter, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

describe('server config', () => {
  it('has local, embedded defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4777, host: '127.0.0.1', token: undefined, dataDir: resolve('.trainyard') });
    expect(config.database).toEqual({ kind: 'pglite', dataDir: resolve('.trainyard', 'pglite') });
  });

  it('uses PostgreSQL when DATABASE_URL is set', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h:5432/db' }).database).toEqual({
      kind: 'postgresql',
      url: 'postgresql://u@h:5432/db',
    });
  });

  it('names every invalid variable', () => {
    expect(() => loadConfig({ PORT: 'abc', TRAINYARD_TOKEN: 'short', DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: '70000', TRAINYARD_TOKEN: 'short' });
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT/);
      expect((error as Error).message).toMatch(/TRAINYARD_TOKEN/);
    }
  });

  it('refuses to bind the local server to a non-loopback address', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/only listens on loopback/);
  });
});

describe('shared-server rate limit', () => {
  it('lets a push of 1 000 small blobs (one PUT each) through in its burst by default, and can be turned off', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h:5432/db' }).rateLimit).toEqual({ perSecond: 200, burst: 1_000 });
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h:5432/db', TRAINYARD_RATE_LIMIT_PER_SECOND: '0' }).rateLimit).toBeNull();
  });
});

describe('trainer config', () => {
  it('reads extra trainer variables and the command allowlist, and names bad values', () => {
    const config = loadConfig({ TRAINYARD_TRAINER_ENV: 'WANDB_API_KEY, HF_HOME', TRAINYARD_ALLOWED_COMMANDS: '[["/opt/train/bin/train","--fast"]]' });
    expect(config.trainerEnvNames).toEqual(['WANDB_API_KEY', 'HF_HOME']);
    expect(config.allowedCommands).toEqual([['/opt/train/bin/train', '--fast']]);
    expect(loadConfig({})).toMatchObject({ trainerEnvNames: [], allowedCommands: [] });
    expect(() => loadConfig({ TRAINYARD_TRAINER_ENV: 'OK,NOT OK' })).toThrow(/TRAINYARD_TRAINER_ENV/);
    expect(() => loadConfig({ TRAINYARD_ALLOWED_COMMANDS: 'python train.py' })).toThrow(/TRAINYARD_ALLOWED_COMMANDS.*must be JSON/);
    expect(() => loadConfig({ TRAINYARD_ALLOWED_COMMANDS: '[["python","train.py"]]' })).toThrow(/absolute path/);
    expect(() => loadConfig({ TRAINYARD_ALLOWED_COMMANDS: '["/bin/true"]' })).toThrow(/TRAINYARD_ALLOWED_COMMANDS/);
  });

  it('runs Python built-ins with TRAINYARD_PYTHON (default python3), keeping the server’s PYTHONPATH after theirs', () => {
    expect(loadConfig({}).trainerPython).toEqual({ executable: 'python3', path: [] });
    expect(loadConfig({ TRAINYARD_PYTHON: '/opt/venv/bin/python', PYTHONPATH: `/site/a${delimiter}${delimiter}/site/b` }).trainerPython).toEqual({
      executable: '/opt/venv/bin/python',
      path: ['/site/a', '/site/b'],
    });
    expect(() => loadConfig({ TRAINYARD_PYTHON: '' })).toThrow(/TRAINYARD_PYTHON/);
  });
});

describe('verifying read-back of uploads on S3', () => {
  const storeOf = (env: NodeJS.ProcessEnv) => loadConfig({ ARTIFACT_STORE: 's3://team-bucket/models', ...env }).artifactStore;

  it('reads AWS back as 4 parallel ranges and a custom endpoint as one stream, unless told otherwise', () => {
    expect(storeOf({})).toMatchObject({ kind: 's3', verifyReadConcurrency: 4 });
    expect(storeOf({ S3_ENDPOINT: 'http://127.0.0.1:9000' })).toMatchObject({ verifyReadConcurrency: 1 });
    expect(storeOf({ S3_ENDPOINT: 'http://127.0.0.1:9000', S3_VERIFY_READ_CONCURRENCY: '8' })).toMatchObject({ verifyReadConcurrency: 8 });
    expect(() => storeOf({ S3_VERIFY_READ_CONCURRENCY: '0' })).toThrow(/S3_VERIFY_READ_CONCURRENCY/);
  });

  it('runs 8 uploads through the server at once across all clients unless told otherwise (1–64)', () => {
    expect(storeOf({})).toMatchObject({ uploadsInFlight: 8, partSizeBytes: 16 * 1024 * 1024, queueSize: 4 });
    expect(storeOf({ S3_UPLOADS_IN_FLIGHT: '2' })).toMatchObject({ uploadsInFlight: 2 });
    expect(() => storeOf({ S3_UPLOADS_IN_FLIGHT: '0' })).toThrow(/S3_UPLOADS_IN_FLIGHT/);
    expect(() => storeOf({ S3_UPLOADS_IN_FLIGHT: '65' })).toThrow(/S3_UPLOADS_IN_FLIGHT/);
  });
});

describe('runners', () => {
  it('runs no runner-local jobs unless TRAINYARD_RUNNER_LOCAL=on; TRAINYARD_RUNNER_URL is an http(s) origin', () => {
    expect(loadConfig({})).toMatchObject({ runnerLocal: false, runnerUrl: undefined });
    expect(loadConfig({ TRAINYARD_RUNNER_LOCAL: 'on', TRAINYARD_RUNNER_URL: 'https://trainyard.example.org/' })).toMatchObject({
      runnerLocal: true,
      runnerUrl: 'https://trainyard.example.org',
    });
    for (const bad of ['ftp://x', 'https://x/path', 'not a url', 'http://'])
      expect(() => loadConfig({ TRAINYARD_RUNNER_URL: bad }), bad).toThrow(/TRAINYARD_RUNNER_URL/);
  });
});

describe('container images (TRAINYARD_RUNNER_IMAGES)', () => {
  it('is an allowlist of exact references, empty by default, and refuses what is not an image reference', () => {
    expect(loadConfig({}).runnerImages).toEqual([]);
    expect(loadConfig({ TRAINYARD_RUNNER_IMAGES: ' ghcr.io/lab/trainer:1.2 , ghcr.io/lab/torch@sha256:' + 'b'.repeat(64) + ',' }).runnerImages).toEqual([
      'ghcr.io/lab/trainer:1.2',
      'ghcr.io/lab/torch@sha256:' + 'b'.repeat(64),
    ]);
    expect(() => loadConfig({ TRAINYARD_RUNNER_IMAGES: 'ghcr.io/lab/trainer:1.2 --privileged' })).toThrow(/TRAINYARD_RUNNER_IMAGES/);
    expect(() => loadConfig({ TRAINYARD_RUNNER_IMAGES: 'Upper/Case' })).toThrow(/TRAINYARD_RUNNER_IMAGES/);
  });
});

describe('Kubernetes', () => {
  it('is off unless TRAINYARD_KUBERNETES=on; namespaces and service accounts are lists of Kubernetes names, the first the default', () => {
    expect(loadConfig({}).kubernetes).toBeUndefined();
    expect(loadConfig({ TRAINYARD_KUBERNETES: 'on' }).kubernetes).toEqual({
      namespaces: ['default'],
      serviceAccounts: ['default'],
      runnerPath: '/opt/trainyard/runner.js',
      ttlSecondsAfterFinished: 86_400,
    });
    expect(
      loadConfig({
        TRAINYARD_KUBERNETES: 'on',
        TRAINYARD_K8S_NAMESPACES: 'training, gpu',
        TRAINYARD_K8S_SERVICE_ACCOUNTS: 'runner',
        TRAINYARD_K8S_TTL_SECONDS: '600',
      }).kubernetes,
    ).toMatchObject({ namespaces: ['training', 'gpu'], serviceAccounts: ['runner'], ttlSecondsAfterFinished: 600 });
    for (const [name, value] of [
      ['TRAINYARD_K8S_NAMESPACES', 'Kube_System'],
      ['TRAINYARD_K8S_NAMESPACES', ','],
      ['TRAINYARD_K8S_SERVICE_ACCOUNTS', 'a b'],
      ['TRAINYARD_K8S_RUNNER_PATH', 'runner.js'],
    ] as const)
      expect(() => loadConfig({ TRAINYARD_KUBERNETES: 'on', [name]: value }), value).toThrow(new RegExp(name));
  });
});

describe('Slurm', () => {
  it('is off unless TRAINYARD_SLURM=on, and then needs the shared directory', () => {
    expect(loadConfig({}).slurm).toBeUndefined();
    expect(() => loadConfig({ TRAINYARD_SLURM: 'on' })).toThrow(/TRAINYARD_SHARED_DIR: TRAINYARD_SLURM=on needs/);
    expect(loadConfig({ TRAINYARD_SLURM: 'on', TRAINYARD_SHARED_DIR: '/cluster/scratch/trainyard' }).slurm).toEqual({
      ssh: undefined,
      jobCompLog: undefined,
      partition: undefined,
      account: undefined,
      pollMs: 1_000,
      sharedDir: '/cluster/scratch/trainyard',
    });
  });

  it('reads the login node, defaults and poll interval, and refuses what a batch script could not carry', () => {
    const slurm = loadConfig({
      TRAINYARD_SLURM: 'on',
      TRAINYARD_SHARED_DIR: '/shared',
      TRAINYARD_SLURM_SSH: 'alice@login.cluster.example:2222',
      TRAINYARD_SLURM_PARTITION: 'gpu',
      TRAINYARD_SLURM_ACCOUNT: 'nlp-lab',
      TRAINYARD_SLURM_POLL_SECONDS: '0.5',
    }).slurm;
    expect(slurm).toMatchObject({
      ssh: { user: 'alice', host: 'login.cluster.example', port: 2222 },
      partition: 'gpu',
      account: 'nlp-lab',
      pollMs: 500,
    });
    expect(() => loadConfig({ TRAINYARD_SLURM: 'on', TRAINYARD_SHARED_DIR: '/shared dir' })).toThrow(
      /TRAINYARD_SHARED_DIR: must be an absolute path without spaces/,
    );
    expect(() => loadConfig({ TRAINYARD_SLURM: 'on', TRAINYARD_SHARED_DIR: 'relative' })).toThrow(/TRAINYARD_SHARED_DIR/);
    expect(() => loadConfig({ TRAINYARD_SLURM_SSH: 'login; rm -rf /' })).toThrow(/TRAINYARD_SLURM_SSH: must be user@host/);
    expect(() => loadConfig({ TRAINYARD_SLURM_PARTITION: 'gpu --wrap=evil' })).toThrow(/TRAINYARD_SLURM_PARTITION/);
  });
});

describe('scoring', () => {
  const shared = { DATABASE_URL: 'postgresql://u@h:5432/db' };
  it('loads ONNX models locally, not on a shared server unless its operator turns scoring on; the cache is bounded', () => {
    expect(loadConfig({}).scoring).toEqual({ onnx: true, cacheBytes: 512 * 1024 * 1024 });
    expect(loadConfig(shared).scoring.onnx).toBe(false);
    expect(loadConfig({ ...shared, TRAINYARD_SCORING: 'on' }).scoring.onnx).toBe(true);
    expect(loadConfig({ TRAINYARD_SCORING: 'off', TRAINYARD_SCORING_CACHE_MB: '64' }).scoring).toEqual({ onnx: false, cacheBytes: 64 * 1024 * 1024 });
    expect(() => loadConfig({ TRAINYARD_SCORING: 'yes' })).toThrow(/TRAINYARD_SCORING/);
  });
});
