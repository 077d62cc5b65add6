export { createSageMakerLauncher, type SageMakerLauncherOptions } from './sagemaker-launcher';
export {
  trainingJobName,
  trainingJobRequest,
  sageMakerHyperparameters,
  sageMakerEnvironment,
  SageMakerRequestRefused,
  SAGEMAKER_LIMITS,
  JOB_ID_TAG,
  ATTEMPT_TAG,
} from './training-job-request';
