import { lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The job directory ↔ SageMaker's container paths (docs/sagemaker.md, "The mapping"). The files
 * live where SageMaker expects them — it syncs /opt/ml/checkpoints with S3 and uploads
 * /opt/ml/model as model.tar.gz — and the job directory's entries are links to them, so a trainer
 * written for SageMaker (/opt/ml/input/data/train, /opt/ml/model, SM_* variables) and one written
 * for Trainyard (TRAINYARD_JOB_DIR) both work, and the runner uploads what either wrote.
 *
 *   <job dir>/input/data   → <root>/input/data      (channels: <root>/input/data/<channel>/data.jsonl)
 *   <job dir>/checkpoints  → <root>/checkpoints
 *   <job dir>/output/model → <root>/model
 *
 * `<job dir>/input/config/` stays the job directory's own (hyperparameters.json with JSON values,
 * job.json); `<root>/input/config/hyperparameters.json` is SageMaker's (string values), written
 * here only when SageMaker did not.
 */
export const SAGEMAKER_LINKS = [
  ['input/data', 'input/data'],
  ['checkpoints', 'checkpoints'],
  ['output/model', 'model'],
] as const;

const linkOnce = async (target: string, path: string): Promise<void> => {
  if (await lstat(path).catch(() => undefined)) return;
  await symlink(target, path, 'dir');
};

/** Makes SageMaker's directories under `root` and links the job directory's entries to them (before the job directory is laid out). */
export const linkSageMakerLayout = async (root: string, jobDir: string, hyperparameters: Record<string, unknown>): Promise<void> => {
  for (const [, there] of SAGEMAKER_LINKS) await mkdir(join(root, there), { recursive: true });
  await mkdir(join(root, 'input', 'config'), { recursive: true });
  await mkdir(join(root, 'output', 'data'), { recursive: true });
  for (const [here, there] of SAGEMAKER_LINKS) {
    await mkdir(join(jobDir, here, '..'), { recursive: true });
    await linkOnce(join(root, there), join(jobDir, here));
  }
  const sageMakers = join(root, 'input', 'config', 'hyperparameters.json');
  if (!(await lstat(sageMakers).catch(() => undefined)))
    await writeFile(sageMakers, JSON.stringify(Object.fromEntries(Object.entries(hyperparameters).map(([key, value]) => [key, JSON.stringify(value)]))));
};

const ENV_SAFE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The SM_* variables SageMaker's training toolkit gives a trainer, for the paths above: what a
 * trainer written for SageMaker reads. SM_HPS holds the hyperparameters with their JSON types
 * (as the toolkit decodes them), SM_HP_<NAME> each one as SageMaker's string.
 */
export const sageMakerTrainerEnv = async (
  root: string,
  hyperparameters: Record<string, unknown>,
  channels: readonly string[],
): Promise<Record<string, string>> => {
  const resource = JSON.parse(await readFile(join(root, 'input', 'config', 'resourceconfig.json'), 'utf8').catch(() => '{}')) as {
    current_host?: string;
    hosts?: string[];
  };
  const env: Record<string, string> = {
    SM_MODEL_DIR: join(root, 'model'),
    SM_INPUT_DIR: join(root, 'input'),
    SM_INPUT_CONFIG_DIR: join(root, 'input', 'config'),
    SM_INPUT_DATA_DIR: join(root, 'input', 'data'),
    SM_OUTPUT_DIR: join(root, 'output'),
    SM_OUTPUT_DATA_DIR: join(root, 'output', 'data'),
    SM_CHECKPOINT_DIR: join(root, 'checkpoints'),
    SM_CHANNELS: JSON.stringify(channels),
    SM_HPS: JSON.stringify(hyperparameters),
    SM_CURRENT_HOST: resource.current_host ?? 'algo-1',
    SM_HOSTS: JSON.stringify(resource.hosts ?? [resource.current_host ?? 'algo-1']),
  };
  for (const channel of channels) env[`SM_CHANNEL_${channel.toUpperCase()}`] = join(root, 'input', 'data', channel);
  for (const [key, value] of Object.entries(hyperparameters)) if (ENV_SAFE.test(key)) env[`SM_HP_${key.toUpperCase()}`] = JSON.stringify(value);
  return env;
};
