import { describe, expect, it } from 'vitest';
import { SageMakerRequestRefused, sageMakerEnvironment, sageMakerHyperparameters, trainingJobName, TRAINING_JOB_NAME_PATTERN } from './training-job-request';

describe('the CreateTrainingJob request’s parts', () => {
  it('names a UUID job’s attempt within SageMaker’s rule, and refuses an id that cannot make one', () => {
    const name = trainingJobName('01a22000-0000-7000-8000-000000000001', 12);
    expect(name).toBe('trainyard-01a22000-0000-7000-8000-000000000001-a12');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(TRAINING_JOB_NAME_PATTERN.test(name)).toBe(true);
    expect(() => trainingJobName('x'.repeat(60), 1)).toThrow(SageMakerRequestRefused);
    expect(() => trainingJobName('a_b', 1)).toThrow(/does not make a SageMaker training job name/);
  });

  it('encodes every hyperparameter value as JSON, as SageMaker’s framework estimators do', () => {
    expect(sageMakerHyperparameters({ n: 3, lr: 0.5, name: 'adam', on: true, list: [1, 'a'], nested: { a: null } })).toEqual({
      n: '3',
      lr: '0.5',
      name: '"adam"',
      on: 'true',
      list: '[1,"a"]',
      nested: '{"a":null}',
    });
    expect(() => sageMakerHyperparameters({ ['k'.repeat(257)]: 1 })).toThrow(/SageMaker takes at most 256/);
    expect(sageMakerHyperparameters({ fits: 'x'.repeat(254) })['fits']).toHaveLength(256);
  });

  it('passes the runner’s variables and the operator’s additions, never the server’s PATH, HOME or TRAINYARD_ variables; refuses more than SageMaker takes', () => {
    const env = sageMakerEnvironment({
      serverUrl: 'https://t.example',
      jobId: 'j',
      token: 'tyj_t',
      env: { PATH: '/usr/bin', HOME: '/root', LC_ALL: 'C', CUDA_HOME: '/cuda', TRAINYARD_DATA_DIR: '/data', HF_HOME: '/hf', UNSET: undefined },
    });
    expect(env).toEqual({
      HF_HOME: '/hf',
      TRAINYARD_SERVER_URL: 'https://t.example',
      TRAINYARD_JOB_ID: 'j',
      TRAINYARD_JOB_TOKEN: 'tyj_t',
      TRAINYARD_TRAINER_ENV: 'HF_HOME',
    });
    const many = Object.fromEntries(Array.from({ length: 97 }, (_, i) => [`VAR_${i}`, 'x']));
    expect(() => sageMakerEnvironment({ serverUrl: 'https://t', jobId: 'j', token: 't', env: many })).toThrow(
      '101 environment variables; SageMaker takes at most 100',
    );
    expect(() => sageMakerEnvironment({ serverUrl: 'https://t', jobId: 'j', token: 't', env: { BIG: 'x'.repeat(513) } })).toThrow(
      /longer than SageMaker's 512/,
    );
  });
});
