import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { RUNNER_CONTAINER } from './job-manifest';

/** Container waiting reasons that keep a pod pending for a reason someone must fix (or wait out). */
const PENDING_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'InvalidImageName']);

/** How a Job ended, if it has: its Complete or Failed condition (with Kubernetes' reason: DeadlineExceeded, PodFailurePolicy, BackoffLimitExceeded…). */
export const jobFinish = (job: V1Job): { state: 'Succeeded' | 'Failed'; reason: string | null } | undefined => {
  for (const condition of job.status?.conditions ?? []) {
    if (condition.status !== 'True') continue;
    if (condition.type === 'Complete') return { state: 'Succeeded', reason: null };
    if (condition.type === 'Failed') return { state: 'Failed', reason: [condition.reason, condition.message].filter(Boolean).join(': ') || null };
  }
  return undefined;
};

/**
 * The attempt as the job shows it (`scheduler`): Pending with why (Unschedulable and the
 * scheduler's message, ImagePullBackOff, CreateContainerConfigError…), Running, Terminating,
 * Succeeded or Failed with Kubernetes' reason.
 */
export const attemptState = (job: V1Job | undefined, pod: V1Pod | undefined): { state: string; reason: string | null } => {
  const finished = job ? jobFinish(job) : undefined;
  if (finished) return finished;
  if (job?.metadata?.deletionTimestamp) return { state: 'Terminating', reason: 'the Job is being deleted' };
  if (!pod) return { state: 'Pending', reason: 'no pod yet' };
  if (pod.metadata?.deletionTimestamp) return { state: 'Terminating', reason: null };
  const container = pod.status?.containerStatuses?.find((status) => status.name === RUNNER_CONTAINER);
  const waiting = container?.state?.waiting;
  if (waiting?.reason && PENDING_REASONS.has(waiting.reason)) return { state: 'Pending', reason: [waiting.reason, waiting.message].filter(Boolean).join(': ') };
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False') return { state: 'Pending', reason: [scheduled.reason ?? 'Unschedulable', scheduled.message].filter(Boolean).join(': ') };
  if (container?.state?.running) return { state: 'Running', reason: null };
  if (container?.state?.terminated) {
    const ended = container.state.terminated;
    return {
      state: ended.exitCode === 0 ? 'Succeeded' : 'Failed',
      reason: `the runner exited with code ${ended.exitCode}${ended.reason ? ` (${ended.reason})` : ''}`,
    };
  }
  return { state: 'Pending', reason: waiting?.reason ?? pod.status?.phase ?? null };
};

/** Whether the runner container has ended (its log is complete). */
export const runnerEnded = (pod: V1Pod | undefined): boolean =>
  Boolean(pod?.status?.containerStatuses?.find((status) => status.name === RUNNER_CONTAINER)?.state?.terminated) ||
  pod?.status?.phase === 'Succeeded' ||
  pod?.status?.phase === 'Failed';

export const runnerStarted = (pod: V1Pod | undefined): boolean => {
  const state = pod?.status?.containerStatuses?.find((status) => status.name === RUNNER_CONTAINER)?.state;
  return Boolean(state?.running || state?.terminated);
};
