import type { CreateTrainingJobRequest } from '@aws-sdk/client-sagemaker';
import { passesThrough } from '@trainyard/training';

/**
 * SageMaker's limits on a CreateTrainingJob request that a job's own values can break, from the
 * API's documentation (the SDK's CreateTrainingJobRequest and the API reference): checked here so
 * a job that does not fit fails with a sentence naming the field, not with SageMaker's
 * ValidationException after the token was minted.
 */
export const SAGEMAKER_LIMITS = {
  /** TrainingJobName: 1–63 characters, `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`. */
  nameLength: 63,
  /** "You can specify a maximum of 100 hyperparameters … Each key and value is limited to 256 characters." */
  hyperparameters: 100,
  hyperparameterLength: 256,
  /** Environment: at most 100 variables, names `[a-zA-Z_][a-zA-Z0-9_]*` of at most 512 characters, values of at most 512. */
  environment: 100,
  environmentLength: 512,
  /** StoppingCondition.MaxRuntimeInSeconds: at most 28 days. */
  maxRuntimeSeconds: 28 * 24 * 3600,
} as const;

export const TRAINING_JOB_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const ENVIRONMENT_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The tags that say which Trainyard job and attempt a SageMaker training job runs (what reconciliation checks). */
export const JOB_ID_TAG = 'trainyard:job-id';
export const ATTEMPT_TAG = 'trainyard:attempt';

/** A job that SageMaker would refuse (a name, a hyperparameter or an environment that does not fit): said before anything is sent. */
export class SageMakerRequestRefused extends Error {}

/**
 * The training job's name: `trainyard-<job id>-a<attempt>` (a UUID job id gives 48 characters and
 * the attempt's digits), one per attempt since SageMaker never takes a name twice.
 */
export const trainingJobName = (jobId: string, attempt: number): string => {
  const name = `trainyard-${jobId}-a${attempt}`;
  if (name.length > SAGEMAKER_LIMITS.nameLength || !TRAINING_JOB_NAME_PATTERN.test(name))
    throw new SageMakerRequestRefused(`job id ${jobId} does not make a SageMaker training job name (${name}: letters, digits and hyphens, at most 63)`);
  return name;
};

/**
 * Hyperparameters in SageMaker's form: a map of strings, each value JSON-encoded as SageMaker's
 * framework estimators do (`5` → "5", `"adam"` → "\"adam\"", `[1,2]` → "[1,2]"); anything past
 * SageMaker's limits is refused with its name.
 */
export const sageMakerHyperparameters = (hyperparameters: Record<string, unknown>): Record<string, string> => {
  const entries = Object.entries(hyperparameters);
  if (entries.length > SAGEMAKER_LIMITS.hyperparameters)
    throw new SageMakerRequestRefused(`${entries.length} hyperparameters; SageMaker takes at most ${SAGEMAKER_LIMITS.hyperparameters}`);
  const encoded: Record<string, string> = {};
  for (const [key, value] of entries) {
    const text = JSON.stringify(value) ?? 'null';
    if (key.length > SAGEMAKER_LIMITS.hyperparameterLength)
      throw new SageMakerRequestRefused(
        `hyperparameter name ${key.slice(0, 40)}… is ${key.length} characters; SageMaker takes at most ${SAGEMAKER_LIMITS.hyperparameterLength}`,
      );
    if (text.length > SAGEMAKER_LIMITS.hyperparameterLength)
      throw new SageMakerRequestRefused(
        `hyperparameter ${key} is ${text.length} characters as SageMaker's string (JSON-encoded); SageMaker takes at most ${SAGEMAKER_LIMITS.hyperparameterLength}: put large values in the dataset or the image`,
      );
    encoded[key] = text;
  }
  return encoded;
};

/**
 * The container's environment: what the runner needs (the server's URL, the job id, the job
 * token) and the variables the operator added to the trainer's environment
 * (TRAINYARD_TRAINER_ENV) — never this server's PATH, HOME or the like, which the image has its
 * own of. SageMaker's Environment is readable by whoever may call DescribeTrainingJob.
 */
export const sageMakerEnvironment = (launch: {
  serverUrl: string;
  jobId: string;
  token: string;
  env: Record<string, string | undefined>;
}): Record<string, string> => {
  const extra = Object.entries(launch.env).filter(
    (entry): entry is [string, string] =>
      entry[1] !== undefined && !entry[0].startsWith('TRAINYARD_') && !passesThrough(entry[0]) && ENVIRONMENT_NAME_PATTERN.test(entry[0]),
  );
  const environment: Record<string, string> = {
    ...Object.fromEntries(extra),
    TRAINYARD_SERVER_URL: launch.serverUrl,
    TRAINYARD_JOB_ID: launch.jobId,
    TRAINYARD_JOB_TOKEN: launch.token,
    TRAINYARD_TRAINER_ENV: extra.map(([name]) => name).join(','),
  };
  const names = Object.keys(environment);
  if (names.length > SAGEMAKER_LIMITS.environment)
    throw new SageMakerRequestRefused(`${names.length} environment variables; SageMaker takes at most ${SAGEMAKER_LIMITS.environment}`);
  for (const [name, value] of Object.entries(environment)) {
    if (name.length > SAGEMAKER_LIMITS.environmentLength || value.length > SAGEMAKER_LIMITS.environmentLength)
      throw new SageMakerRequestRefused(
        `environment variable ${name.slice(0, 60)} is longer than SageMaker's ${SAGEMAKER_LIMITS.environmentLength} characters`,
      );
  }
  return environment;
};

export interface TrainingJobSettings {
  roleArn: string;
  image: string;
  instanceType: string;
  instanceCount: number;
  volumeSizeGb: number;
  outputS3Uri: string;
  /** Where this attempt's /opt/ml/checkpoints is synced: `<checkpoint prefix>/<job id>/`. */
  checkpointS3Uri: string;
  maxRuntimeSeconds: number;
}

/** The whole CreateTrainingJob request for one attempt (docs/sagemaker.md, "The request"). */
export const trainingJobRequest = (
  launch: {
    jobId: string;
    attempt: number;
    serverUrl: string;
    token: string;
    env: Record<string, string | undefined>;
    hyperparameters: Record<string, unknown>;
  },
  settings: TrainingJobSettings,
): CreateTrainingJobRequest => ({
  TrainingJobName: trainingJobName(launch.jobId, launch.attempt),
  RoleArn: settings.roleArn,
  AlgorithmSpecification: { TrainingImage: settings.image, TrainingInputMode: 'File' },
  HyperParameters: sageMakerHyperparameters(launch.hyperparameters),
  ResourceConfig: { InstanceType: settings.instanceType as never, InstanceCount: settings.instanceCount, VolumeSizeInGB: settings.volumeSizeGb },
  StoppingCondition: { MaxRuntimeInSeconds: settings.maxRuntimeSeconds },
  OutputDataConfig: { S3OutputPath: settings.outputS3Uri },
  CheckpointConfig: { S3Uri: settings.checkpointS3Uri, LocalPath: '/opt/ml/checkpoints' },
  Environment: sageMakerEnvironment(launch),
  Tags: [
    { Key: JOB_ID_TAG, Value: launch.jobId },
    { Key: ATTEMPT_TAG, Value: String(launch.attempt) },
  ],
});
