import type { V1Job, V1Secret } from '@kubernetes/client-node';
import { ENV_NAME_PATTERN, passesThrough, RUNNER_TOKEN_ENV } from '@trainyard/training';

/** The labels that name a Job (and its pods) as one attempt of one of our jobs: how a restarted server finds it. */
export const JOB_ID_LABEL = 'trainyard.dev/job-id';
export const ATTEMPT_LABEL = 'trainyard.dev/attempt';
export const RUNNER_CONTAINER = 'runner';
/** The runner's empty working directory in the pod (an emptyDir volume): the image's own filesystem may be read-only. */
export const WORK_DIR = '/trainyard-work';
/** Time the runner gets after its trainer's checkpoint grace to upload the checkpoints and report (docs/kubernetes.md). */
export const UPLOAD_MARGIN_SECONDS = 60;

export interface JobManifestInput {
  jobId: string;
  attempt: number;
  serverUrl: string;
  env: Record<string, string | undefined>;
  namespace: string;
  serviceAccount: string;
  image: string;
  runnerPath: string;
  cpus?: number | undefined;
  memoryMb?: number | undefined;
  gpus?: number | undefined;
  timeoutSeconds?: number | undefined;
  graceMs: number;
  ttlSecondsAfterFinished: number;
}

/** `ty-<job id>-<attempt>`: a DNS-1123 label of at most 63 characters (a job id is a UUID: 36). */
export const kubernetesJobName = (jobId: string, attempt: number): string => {
  const suffix = `-${attempt}`;
  const id = jobId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63 - 3 - suffix.length)
    .replace(/-+$/, '');
  return `ty-${id}${suffix}`;
};

export const attemptLabels = (jobId: string, attempt: number): Record<string, string> => ({
  [JOB_ID_LABEL]: jobId,
  [ATTEMPT_LABEL]: String(attempt),
  'app.kubernetes.io/managed-by': 'trainyard',
});

export const labelSelector = (jobId: string, attempt: number): string => `${JOB_ID_LABEL}=${jobId},${ATTEMPT_LABEL}=${attempt}`;

/**
 * The variables of the trainer's environment a pod gets: only those the operator added
 * (TRAINYARD_TRAINER_ENV), as for SageMaker. The server machine's own (PATH, HOME, Python's
 * paths, CUDA_ and NVIDIA_ variables — which would override the GPU device plugin's) describe another machine:
 * the image defines them.
 */
export const podEnvironment = (env: Record<string, string | undefined>): Array<[string, string]> =>
  Object.entries(env).filter(
    (entry): entry is [string, string] =>
      entry[1] !== undefined && ENV_NAME_PATTERN.test(entry[0]) && !entry[0].startsWith('TRAINYARD_') && !passesThrough(entry[0]),
  );

/** The Secret key of an environment variable's value (a variable may be a credential: values are never in the pod spec). */
const envKey = (name: string): string => `env.${name}`;

/** The container's environment: every value from the attempt's Secret; only the names in the spec. */
const containerEnv = (env: Record<string, string | undefined>, secretName: string) => {
  const passed = podEnvironment(env);
  return [
    ...passed.map(([name]) => ({ name, valueFrom: { secretKeyRef: { name: secretName, key: envKey(name) } } })),
    { name: 'TRAINYARD_TRAINER_ENV', value: passed.map(([name]) => name).join(',') },
  ];
};

/**
 * The batch/v1 Job of one attempt (docs/kubernetes.md explains each field): one pod, never
 * restarted or retried by Kubernetes (retries are the orchestrator's), the runner as its only
 * container with the token from the attempt's Secret, never in the spec.
 */
export const buildJob = (input: JobManifestInput): V1Job => {
  const name = kubernetesJobName(input.jobId, input.attempt);
  const labels = attemptLabels(input.jobId, input.attempt);
  const quantities: Record<string, string> = {};
  if (input.cpus) quantities['cpu'] = String(input.cpus);
  if (input.memoryMb) quantities['memory'] = `${input.memoryMb}Mi`;
  if (input.gpus) quantities['nvidia.com/gpu'] = String(input.gpus);
  const hasQuantities = Object.keys(quantities).length > 0;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: input.namespace, labels },
    spec: {
      backoffLimit: 0,
      ...(input.timeoutSeconds ? { activeDeadlineSeconds: input.timeoutSeconds } : {}),
      ttlSecondsAfterFinished: input.ttlSecondsAfterFinished,
      podFailurePolicy: {
        rules: [
          // A node drained, a pod preempted or evicted: not the trainer's failure (the Job's pod is not counted).
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          // The runner exits with its trainer's code (70: the trainer could not run): the Job fails at once.
          { action: 'FailJob', onExitCodes: { containerName: RUNNER_CONTAINER, operator: 'NotIn', values: [0] } },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: input.serviceAccount,
          // The trainer runs the job's code: it gets no Kubernetes API credentials (the runner needs none).
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: Math.ceil(input.graceMs / 1_000) + UPLOAD_MARGIN_SECONDS,
          volumes: [{ name: 'work', emptyDir: {} }],
          containers: [
            {
              name: RUNNER_CONTAINER,
              image: input.image,
              command: ['node', input.runnerPath, '--server', input.serverUrl, '--job', input.jobId],
              workingDir: WORK_DIR,
              volumeMounts: [{ name: 'work', mountPath: WORK_DIR }],
              env: [...containerEnv(input.env, name), { name: RUNNER_TOKEN_ENV, valueFrom: { secretKeyRef: { name, key: 'token' } } }],
              ...(hasQuantities ? { resources: { requests: quantities, limits: quantities } } : {}),
            },
          ],
        },
      },
    },
  };
};

/** The attempt's token, owned by its Job: Kubernetes' garbage collector deletes it with the Job. */
export const buildSecret = (
  job: { name: string; namespace: string; uid: string; labels: Record<string, string> },
  token: string,
  env: Record<string, string | undefined>,
): V1Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'Opaque',
  metadata: {
    name: job.name,
    namespace: job.namespace,
    labels: job.labels,
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.name, uid: job.uid, controller: false, blockOwnerDeletion: false }],
  },
  stringData: { token, ...Object.fromEntries(podEnvironment(env).map(([name, value]) => [envKey(name), value])) },
});
