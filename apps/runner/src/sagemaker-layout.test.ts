import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linkSageMakerLayout, sageMakerTrainerEnv } from './sagemaker-layout';

const dir = mkdtempSync(join(tmpdir(), 'sagemaker-layout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the job directory ↔ SageMaker’s /opt/ml (a temporary root)', () => {
  const root = join(dir, 'opt-ml');
  const jobDir = join(dir, 'trainyard', 'job');
  const hyperparameters = { epochs: 3, optimizer: 'adam', 'not-an-env-name': true };

  it('links the job directory’s data, checkpoints and model to SageMaker’s paths, both ways', async () => {
    mkdirSync(join(root, 'input', 'config'), { recursive: true });
    writeFileSync(join(root, 'input', 'config', 'resourceconfig.json'), JSON.stringify({ current_host: 'algo-1', hosts: ['algo-1'] }));
    await linkSageMakerLayout(root, jobDir, hyperparameters);
    // What the runner downloads into the job directory is where a SageMaker trainer reads it …
    mkdirSync(join(jobDir, 'input', 'data', 'train'), { recursive: true });
    writeFileSync(join(jobDir, 'input', 'data', 'train', 'data.jsonl'), '{}\n');
    expect(readFileSync(join(root, 'input', 'data', 'train', 'data.jsonl'), 'utf8')).toBe('{}\n');
    // … and what a SageMaker trainer writes is where the runner uploads from.
    writeFileSync(join(root, 'model', 'model.bin'), 'weights');
    writeFileSync(join(root, 'checkpoints', 'step-1.ckpt'), 'ckpt');
    expect(readdirSync(join(jobDir, 'output', 'model'))).toEqual(['model.bin']);
    expect(readdirSync(join(jobDir, 'checkpoints'))).toEqual(['step-1.ckpt']);
    writeFileSync(join(jobDir, 'output', 'model', 'ours.json'), '{}');
    expect(readdirSync(join(root, 'model')).sort()).toEqual(['model.bin', 'ours.json']);
    // SageMaker's hyperparameters.json (string values) is written when SageMaker did not; linking again changes nothing.
    expect(JSON.parse(readFileSync(join(root, 'input', 'config', 'hyperparameters.json'), 'utf8'))).toEqual({
      epochs: '3',
      optimizer: '"adam"',
      'not-an-env-name': 'true',
    });
    await linkSageMakerLayout(root, jobDir, { epochs: 9 });
    expect(JSON.parse(readFileSync(join(root, 'input', 'config', 'hyperparameters.json'), 'utf8'))).toMatchObject({ epochs: '3' });
  });

  it('gives a trainer the SM_* variables SageMaker’s training toolkit sets, for these paths', async () => {
    const env = await sageMakerTrainerEnv(root, hyperparameters, ['train', 'validation']);
    expect(env).toMatchObject({
      SM_MODEL_DIR: join(root, 'model'),
      SM_CHANNEL_TRAIN: join(root, 'input', 'data', 'train'),
      SM_CHANNEL_VALIDATION: join(root, 'input', 'data', 'validation'),
      SM_CHANNELS: '["train","validation"]',
      SM_HPS: JSON.stringify(hyperparameters),
      SM_HP_EPOCHS: '3',
      SM_HP_OPTIMIZER: '"adam"',
      SM_INPUT_CONFIG_DIR: join(root, 'input', 'config'),
      SM_OUTPUT_DATA_DIR: join(root, 'output', 'data'),
      SM_CHECKPOINT_DIR: join(root, 'checkpoints'),
      SM_CURRENT_HOST: 'algo-1',
      SM_HOSTS: '["algo-1"]',
    });
    expect(Object.keys(env).some((name) => name.includes('NOT-AN'))).toBe(false);
  });
});
