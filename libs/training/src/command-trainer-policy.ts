import type { TrainerSpec } from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';
import type { JobResources } from './local-executor';

/**
 * Who may run which command trainer. A command trainer runs arbitrary code as the server's
 * user, so:
 *  - the local session principal (actor `local`: the session token or the UI's cookie — the
 *    user of this machine, who can run code here anyway) may run any command;
 *  - anyone else (API tokens on a shared server) may only run a command that exactly matches
 *    an entry of the operator's allowlist (argv arrays, TRAINYARD_ALLOWED_COMMANDS), with no
 *    `cwd` of their choosing;
 *  - built-in trainers are allowed for everyone;
 *  - on a container executor (Kubernetes, SageMaker) the command runs inside a container image,
 *    never on this machine: any command may run there, but only in an image of the operator's
 *    allowlist (TRAINYARD_RUNNER_IMAGES); built-in trainers (they live on this server) and a
 *    `cwd` are refused there.
 */
export interface CommandTrainerPolicy {
  /** A shared server: the database holds jobs from API-token callers, never the session's. */
  shared: boolean;
  /** Argument vectors the operator allows; matched exactly, element by element. */
  allowedCommands: ReadonlyArray<readonly string[]>;
  /** Container images jobs of container executors may run in (TRAINYARD_RUNNER_IMAGES); the first is the default. */
  containerImages?: readonly string[];
  /** Kubernetes namespaces and service accounts jobs may use (TRAINYARD_K8S_NAMESPACES, …_SERVICE_ACCOUNTS); the first of each is the default. */
  kubernetes?: { namespaces: readonly string[]; serviceAccounts: readonly string[] };
  /** SageMaker instance types jobs may ask for (TRAINYARD_SAGEMAKER_INSTANCE_TYPES): an instance type is a cost. */
  sageMaker?: { instanceTypes: readonly string[] };
}

/** Executors whose trainer runs in a container image on another machine, through the runner. */
export const CONTAINER_EXECUTORS: readonly string[] = ['kubernetes', 'sagemaker'];
export const isContainerExecutor = (executor: string): boolean => CONTAINER_EXECUTORS.includes(executor);

/** Which `resources` keys say where a job runs, and the executors each applies to. */
const PLACEMENT_KEYS: ReadonlyArray<[keyof JobResources, readonly string[]]> = [
  ['partition', ['slurm']],
  ['image', CONTAINER_EXECUTORS],
  ['namespace', ['kubernetes']],
  ['serviceAccount', ['kubernetes']],
  ['instanceType', ['sagemaker']],
  ['instanceCount', ['sagemaker']],
];

/** A `resources` key meant for another executor (a Slurm partition on a Kubernetes job…): why it is refused, or undefined. */
export const misplacedResource = (executor: string, resources: JobResources): string | undefined => {
  for (const [key, executors] of PLACEMENT_KEYS) {
    if (resources[key] !== undefined && !executors.includes(executor))
      return `resources.${key} applies to ${executors.join(' and ')} jobs only; this job's executor is ${executor}`;
  }
  return undefined;
};

/** Why a container job may not run where it asks (an image, a Kubernetes namespace or service account, a SageMaker instance type the operator does not allow), or undefined. */
export const imageRefusal = (policy: CommandTrainerPolicy, executor: string, resources: JobResources): string | undefined => {
  if (!isContainerExecutor(executor)) return undefined;
  const images = policy.containerImages ?? [];
  if (images.length === 0) return `This server allows no container images: its operator sets TRAINYARD_RUNNER_IMAGES before ${executor} jobs can run`;
  const image = resources.image ?? images[0];
  if (image === undefined || !images.includes(image)) return `Image ${image} is not on this server's allowlist (TRAINYARD_RUNNER_IMAGES): ${images.join(', ')}`;
  if (executor === 'sagemaker' && policy.sageMaker && resources.instanceType !== undefined && !policy.sageMaker.instanceTypes.includes(resources.instanceType))
    return `Instance type ${resources.instanceType} is not one this server allows (TRAINYARD_SAGEMAKER_INSTANCE_TYPES): ${policy.sageMaker.instanceTypes.join(', ')}`;
  if (executor !== 'kubernetes' || !policy.kubernetes) return undefined;
  const { namespaces, serviceAccounts } = policy.kubernetes;
  if (resources.namespace !== undefined && !namespaces.includes(resources.namespace))
    return `Namespace ${resources.namespace} is not one this server allows (TRAINYARD_K8S_NAMESPACES): ${namespaces.join(', ')}`;
  if (resources.serviceAccount !== undefined && !serviceAccounts.includes(resources.serviceAccount))
    return `Service account ${resources.serviceAccount} is not one this server allows (TRAINYARD_K8S_SERVICE_ACCOUNTS): ${serviceAccounts.join(', ')}`;
  return undefined;
};

export const LOCAL_ACTOR = 'local';

export const isAllowedCommand = (policy: CommandTrainerPolicy, command: readonly string[]): boolean =>
  policy.allowedCommands.some((entry) => entry.length === command.length && entry.every((arg, i) => arg === command[i]));

/** Why `actor` may not create a job with this trainer, or undefined when it may. */
export const commandRefusal = (policy: CommandTrainerPolicy, trainer: TrainerSpec, actor: string, executor = 'local'): string | undefined => {
  if (isContainerExecutor(executor)) {
    if (trainer.kind === 'builtin')
      return `Built-in trainers run on this server's machine; a ${executor} job runs a command inside its container image: give trainer { kind: 'command', command: [...] }`;
    return trainer.cwd === undefined ? undefined : `A ${executor} job's command runs in its job directory inside the container; a cwd cannot be given`;
  }
  if (trainer.kind !== 'command') return undefined;
  if (actor === LOCAL_ACTOR && !policy.shared) return undefined;
  if (!isAllowedCommand(policy, trainer.command)) {
    return "Command trainers can only be started from the local session; on a shared server only commands in the operator's allowlist (TRAINYARD_ALLOWED_COMMANDS) may run. Use a built-in trainer, or ask the operator to allow this exact command.";
  }
  if (trainer.cwd !== undefined) return 'An allowed command runs in its job directory; a cwd can only be given from the local session.';
  return undefined;
};

export const assertCommandAllowed = (
  policy: CommandTrainerPolicy,
  job: { trainer: TrainerSpec; executor: string; resources: JobResources },
  actor: string,
): void => {
  const refusal = commandRefusal(policy, job.trainer, actor, job.executor);
  if (refusal) throw new DomainError('FORBIDDEN', refusal, { trainer: job.trainer.kind });
  const misplaced = misplacedResource(job.executor, job.resources);
  if (misplaced) throw new DomainError('INVALID_ARGUMENT', misplaced, { path: ['resources'] });
  const image = imageRefusal(policy, job.executor, job.resources);
  if (image) throw new DomainError('FORBIDDEN', image, { path: ['resources', 'image'] });
};

/**
 * What an orchestrator may run: on a shared server only allowed commands (a row may predate
 * the check, or come from an older server); locally, any command the session queued.
 */
export const runRefusal = (policy: CommandTrainerPolicy, trainer: TrainerSpec, executor = 'local', resources: JobResources = {}): string | undefined => {
  // The allowlist of images may have shrunk since the job was queued, locally too.
  const image = imageRefusal(policy, executor, resources);
  if (image) return `Refused to run this job: ${image}`;
  if (!policy.shared) return undefined;
  const refusal = commandRefusal(policy, trainer, '', executor);
  return refusal && `Refused to run this command trainer on a shared server: ${refusal}`;
};
