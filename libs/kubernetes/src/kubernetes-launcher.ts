import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiException, BatchV1Api, CoreV1Api, type KubeConfig, Log, type V1Job, type V1Pod, Watch } from '@kubernetes/client-node';
import { type Logger, replaceFile } from '@trainyard/core';
import { redactSecrets, type RunnerHandle, type RunnerLaunch, type RunnerLauncher } from '@trainyard/training';
import { attemptLabels, buildJob, buildSecret, JOB_ID_LABEL, ATTEMPT_LABEL, kubernetesJobName, labelSelector, RUNNER_CONTAINER } from './job-manifest';
import { describeApiError } from './api-error';
import { attemptState, jobFinish, runnerEnded, runnerStarted } from './job-state';
import { followPodLog } from './pod-log-follower';
import { startWatchLoop } from './watch-loop';

export interface KubernetesLauncherOptions {
  kubeConfig: KubeConfig;
  /** Namespaces jobs may run in; the first is the default. */
  namespaces: readonly string[];
  /** Service accounts pods may run as; the first is the default. */
  serviceAccounts: readonly string[];
  /** Images jobs may run (the server's allowlist); the first is the default. */
  images: readonly string[];
  /** Where the runner is in the image (default `/opt/trainyard/runner.js`). */
  runnerPath?: string;
  /** How long Kubernetes keeps a finished Job, its pod (and log) and Secret (default one day). */
  ttlSecondsAfterFinished?: number;
  logger?: Logger;
}

/** A runner handle that can also stop following (the Job goes on): what a server handing the job over does. */
export interface KubernetesRunnerHandle extends RunnerHandle {
  stop(): void;
}

/** What `find` needs after a server restart: `<jobDir>/runner/attempt-<n>.json`. */
interface LaunchRecord {
  jobId: string;
  namespace: string;
  name: string;
  uid?: string;
  launchedAt: string;
}

const recordFile = (jobDir: string, attempt: number): string => join(jobDir, 'runner', `attempt-${attempt}.json`);
const isApiError = (error: unknown, code: number): boolean => error instanceof ApiException && error.code === code;

const pick = (kind: string, asked: string | undefined, allowed: readonly string[]): string => {
  const chosen = asked ?? allowed[0];
  if (!chosen) throw new Error(`no Kubernetes ${kind} is configured`);
  if (!allowed.includes(chosen)) throw new Error(`${kind} ${chosen} is not one this server allows (${allowed.join(', ')})`);
  return chosen;
};

/**
 * Runners as Kubernetes Jobs (docs/kubernetes.md): one batch/v1 Job per attempt, its token in a
 * Secret the Job owns, followed by watches of the Job and its pods (never by polling) and the
 * pod's log copied into the job's `logs/runner.log`. A cancel deletes the Job with
 * `propagationPolicy: Foreground` (batch/v1's default would orphan the pod, which would go on
 * running). A restarted server finds its Jobs again by label.
 */
export interface KubernetesLauncher extends RunnerLauncher {
  launch(launch: RunnerLaunch): Promise<KubernetesRunnerHandle>;
  find(jobDir: string, attempt: number, follow?: Pick<RunnerLaunch, 'onState'>): Promise<KubernetesRunnerHandle | undefined>;
}

export const createKubernetesLauncher = (options: KubernetesLauncherOptions): KubernetesLauncher => {
  const batch = options.kubeConfig.makeApiClient(BatchV1Api);
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(options.kubeConfig);
  const log = new Log(options.kubeConfig);
  const runnerPath = options.runnerPath ?? '/opt/trainyard/runner.js';
  const ttlSecondsAfterFinished = options.ttlSecondsAfterFinished ?? 86_400;
  const warn = (error: unknown, message: string): void => options.logger?.error({ err: error }, message);

  const follow = (
    target: { namespace: string; name: string; jobId: string; attempt: number; jobDir: string },
    onState?: RunnerLaunch['onState'],
  ): KubernetesRunnerHandle => {
    const { namespace, name } = target;
    const selector = labelSelector(target.jobId, target.attempt);
    let job: V1Job | undefined;
    const pods = new Map<string, V1Pod>();
    let reported = '';
    /** The log followers, by pod: a replacement pod's log is followed too (its lines are later, so nothing repeats). */
    const logFollows = new Map<string, ReturnType<typeof followPodLog>>();
    let settle!: (how: string) => void;
    let settled = false;
    const gone = new Promise<string>((resolve) => (settle = resolve));

    // A list gives Dates, a watch strings: compared as times. The newest pod is the one that counts (after a
    // disruption the podFailurePolicy ignores, Kubernetes starts another).
    const createdAt = (pod: V1Pod): number => new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
    const currentPod = (): V1Pod | undefined => [...pods.values()].sort((a, b) => createdAt(a) - createdAt(b)).at(-1);

    const end = (how: string): void => {
      if (settled) return;
      settled = true;
      settle(how);
    };

    const update = (): void => {
      const pod = currentPod();
      const state = attemptState(job, pod);
      const key = `${state.state}\n${state.reason}`;
      if (key !== reported) {
        reported = key;
        onState?.({ kind: 'kubernetes', jobId: name, state: state.state, reason: state.reason });
      }
      const podName = pod?.metadata?.name;
      if (podName && !logFollows.has(podName) && runnerStarted(pod)) {
        logFollows.set(
          podName,
          followPodLog({
            log,
            namespace,
            pod: podName,
            container: RUNNER_CONTAINER,
            file: join(target.jobDir, 'logs', 'runner.log'),
            positionFile: join(target.jobDir, 'runner', `attempt-${target.attempt}.log-position`),
            ended: () => settled || runnerEnded(pods.get(podName)) || !pods.has(podName),
            onError: (error) => warn(error, `following the log of pod ${podName} failed; trying again`),
          }),
        );
      }
      const finished = job ? jobFinish(job) : undefined;
      if (finished)
        end(`the Kubernetes Job ${name} ${finished.state === 'Succeeded' ? 'completed' : `failed${finished.reason ? ` (${finished.reason})` : ''}`}`);
    };

    const jobs = startWatchLoop<V1Job>({
      watch,
      path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
      labelSelector: selector,
      list: async () => {
        const list = await batch.listNamespacedJob({ namespace, labelSelector: selector });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
      },
      onSync(items) {
        job = items.find((item) => item.metadata?.name === name);
        if (!job) end(`the Kubernetes Job ${name} is gone (deleted)`);
        else update();
      },
      onEvent(type, object) {
        if (object.metadata?.name !== name) return;
        if (type === 'DELETED') {
          job = undefined;
          end(`the Kubernetes Job ${name} was deleted`);
          return;
        }
        job = object;
        update();
      },
      onError: (error) => warn(error, `watching Kubernetes Job ${name} failed; watching again`),
    });
    const podWatch = startWatchLoop<V1Pod>({
      watch,
      path: `/api/v1/namespaces/${namespace}/pods`,
      labelSelector: selector,
      list: async () => {
        const list = await core.listNamespacedPod({ namespace, labelSelector: selector });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
      },
      onSync(items) {
        pods.clear();
        for (const pod of items) if (pod.metadata?.name) pods.set(pod.metadata.name, pod);
        update();
      },
      onEvent(type, pod) {
        const podName = pod.metadata?.name;
        if (!podName) return;
        if (type === 'DELETED') pods.delete(podName);
        else pods.set(podName, pod);
        update();
      },
      onError: (error) => warn(error, `watching the pods of Kubernetes Job ${name} failed; watching again`),
    });

    // Once the Job is over (and its log read to the end, for at most a minute), nothing is followed any more.
    void gone.then(async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...logFollows.values()].map((follower) => follower.done)),
        new Promise((resolve) => (timer = setTimeout(resolve, 60_000))),
      ]);
      clearTimeout(timer);
      for (const follower of logFollows.values()) follower.stop();
      jobs.stop();
      podWatch.stop();
    });

    function stopFollowing(): void {
      for (const follower of logFollows.values()) follower.stop();
      jobs.stop();
      podWatch.stop();
    }

    const remove = async (gracePeriodSeconds?: number): Promise<void> => {
      // A kill ends the pods first, itself: the garbage collector would delete them with their own grace period (SIGTERM first).
      if (gracePeriodSeconds === 0)
        for (const podName of pods.keys())
          await core.deleteNamespacedPod({ name: podName, namespace, gracePeriodSeconds: 0 }).catch((error: unknown) => {
            if (!isApiError(error, 404)) warn(error, `deleting pod ${podName} failed`);
          });
      await batch
        .deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground', ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) })
        .catch((error: unknown) => {
          if (!isApiError(error, 404)) warn(error, `deleting Kubernetes Job ${name} failed`);
        });
    };

    return {
      stop: stopFollowing,
      signal(signal) {
        void remove(signal === 'SIGKILL' ? 0 : undefined);
      },
      gone,
      // The Job, its pod (and so its log) and its Secret are left to ttlSecondsAfterFinished: nothing to remove here.
      // The attempt is over for the server: following goes on until the Job is (to read the log to its end), for at most 5 minutes.
      async cleanUp() {
        const timer = setTimeout(stopFollowing, 5 * 60_000);
        timer.unref();
        void gone.then(() => clearTimeout(timer));
      },
    };
  };

  const readRecord = async (jobDir: string, attempt: number): Promise<Partial<LaunchRecord>> =>
    readFile(recordFile(jobDir, attempt), 'utf8')
      .then((text) => JSON.parse(text) as Partial<LaunchRecord>)
      .catch(() => ({}));

  return {
    async launch(launch) {
      const { jobId, attempt, jobDir, resources } = launch;
      const namespace = pick('namespace', resources.namespace, options.namespaces);
      const serviceAccount = pick('service account', resources.serviceAccount, options.serviceAccounts);
      const image = pick('image', resources.image, options.images);
      const name = kubernetesJobName(jobId, attempt);
      await mkdir(join(jobDir, 'runner'), { recursive: true });
      // Written before the Job exists: a server that dies right after creating it still knows where to look.
      const record: LaunchRecord = { jobId, namespace, name, launchedAt: new Date().toISOString() };
      await replaceFile(recordFile(jobDir, attempt), JSON.stringify(record));
      const body = buildJob({
        jobId,
        attempt,
        serverUrl: launch.serverUrl,
        env: launch.env,
        namespace,
        serviceAccount,
        image,
        runnerPath,
        cpus: resources.cpus,
        memoryMb: resources.memoryMb,
        gpus: resources.gpus,
        timeoutSeconds: resources.timeoutSeconds,
        graceMs: launch.graceMs,
        ttlSecondsAfterFinished,
      });
      let created: V1Job;
      try {
        created = await batch.createNamespacedJob({ namespace, body });
      } catch (error) {
        if (!isApiError(error, 409)) throw describeApiError(error, `creating Kubernetes Job ${name} in namespace ${namespace}`);
        // Launched before a crash (the same attempt): adopted. Anything else of that name is not ours to take.
        const existing = await batch.readNamespacedJob({ name, namespace });
        const labels = existing.metadata?.labels ?? {};
        if (labels[JOB_ID_LABEL] !== jobId || labels[ATTEMPT_LABEL] !== String(attempt))
          throw new Error(
            `a Kubernetes Job named ${name} already exists in namespace ${namespace} and is not attempt ${attempt} of job ${jobId}; not taking it over`,
          );
        created = existing;
      }
      const uid = created.metadata?.uid;
      if (!uid) throw new Error(`Kubernetes Job ${name} has no uid`);
      const secret = buildSecret({ name, namespace, uid, labels: attemptLabels(jobId, attempt) }, launch.token, launch.env);
      try {
        await core.createNamespacedSecret({ namespace, body: secret }).catch(async (error: unknown) => {
          if (!isApiError(error, 409)) throw error;
          // Left by an earlier launch of this attempt (or by a deleted Job of that name not yet collected): this token replaces it.
          await core.replaceNamespacedSecret({ name, namespace, body: secret });
        });
      } catch (error) {
        // Without its token the pod could never start: the Job is not left waiting for it.
        await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' }).catch(() => undefined);
        const described = describeApiError(error, `creating the token Secret of Kubernetes Job ${name}`);
        // An API server may echo what it refused: the token and the operator's variables never reach the job's error.
        throw new Error(redactSecrets(described.message, [launch.token, ...Object.values(launch.env)]));
      }
      await replaceFile(recordFile(jobDir, attempt), JSON.stringify({ ...record, uid }));
      return follow({ namespace, name, jobId, attempt, jobDir }, launch.onState);
    },

    async find(jobDir, attempt, following) {
      const record = await readRecord(jobDir, attempt);
      const jobId =
        record.jobId ??
        (await readFile(join(jobDir, 'input', 'config', 'job.json'), 'utf8')
          .then((text) => String((JSON.parse(text) as { id?: unknown }).id))
          .catch(() => undefined));
      if (!jobId) return undefined;
      // By label, not by the record's name: in the recorded namespace, or in each allowed one if the record never got written.
      for (const namespace of record.namespace ? [record.namespace] : options.namespaces) {
        const list = await batch
          .listNamespacedJob({ namespace, labelSelector: labelSelector(jobId, attempt) })
          .catch((error: unknown) => Promise.reject(describeApiError(error, `listing the Kubernetes Jobs of attempt ${attempt} in namespace ${namespace}`)));
        const found = list.items.find((item) => !jobFinish(item) && item.metadata?.name);
        if (found?.metadata?.name) return follow({ namespace, name: found.metadata.name, jobId, attempt, jobDir }, following?.onState);
      }
      return undefined;
    },
  };
};
