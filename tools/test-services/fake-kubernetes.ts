import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * An in-process fake of the Kubernetes API server (core/v1 pods and secrets, batch/v1 jobs),
 * with a job controller, a one-node scheduler, a registry and a kubelet, written from the API
 * reference (kubernetes.io/docs/reference/kubernetes-api, "API concepts", "Garbage collection",
 * "Jobs"). It implements the semantics a client gets wrong, not the whole API:
 *
 * - create conflicts: 409 with a Status body, reason AlreadyExists;
 * - deletion: batch/v1 Jobs deleted without a propagationPolicy ORPHAN their pods (the API's
 *   default for that group-version; the pods go on running), `Background` deletes the Job then
 *   its dependents, `Foreground` marks the Job (deletionTimestamp, finalizer foregroundDeletion),
 *   deletes the dependents and removes the Job once its pods are gone; Secrets owned by a Job are
 *   collected with it (or orphaned);
 * - watches (`?watch=true`): newline-delimited WatchEvents from a resourceVersion, streams the test
 *   can close early (`closeWatches`), and a too old resourceVersion answered with an ERROR event
 *   holding a 410 Expired Status (`compact`);
 * - pods Pending with the reasons Kubernetes gives: Unschedulable (PodScheduled=False, "0/1 nodes
 *   are available: 1 Insufficient cpu.") when they ask for more than the node has,
 *   ErrImagePull then ImagePullBackOff for an image the registry does not have,
 *   CreateContainerConfigError while a secretKeyRef's Secret is missing;
 * - a kubelet that RUNS the container's command as a real local process (its own process group)
 *   in an empty temp dir (the emptyDir at `workingDir`), `node` being this Node.js and in-image
 *   paths mapped to files here (`imageFiles`), env resolved from secretKeyRef; on delete SIGTERM,
 *   then SIGKILL after terminationGracePeriodSeconds; the pod's phase and exit code and the
 *   Job's conditions (Complete; Failed with PodFailurePolicy, BackoffLimitExceeded or
 *   DeadlineExceeded after activeDeadlineSeconds) from the real exit;
 * - evictions (`evict`): DisruptionTarget=True, a graceful termination, and the podFailurePolicy's
 *   rules in order (onExitCodes, onPodConditions): Ignore starts another pod, FailJob fails;
 * - logs with `timestamps`, `sinceTime` (whole seconds, as metav1.Time parses it) and
 *   `follow=true`, which the test can cut early (`cutLogs`).
 *
 * Not implemented: ttlSecondsAfterFinished (finished Jobs stay), patch, field selectors, auth
 * (any bearer token is accepted), more than one node, pod retries (backoffLimit is taken as 0).
 * Every request is recorded (method, path, query, body) so tests assert what a client sent.
 */

export interface FakeKubernetesOptions {
  /** Images the registry has; any other fails to pull. */
  images: readonly string[];
  /** Files inside every image, mapped to files here (e.g. `/opt/trainyard/runner.js` → apps/runner/dist/runner.js). */
  imageFiles?: Record<string, string>;
  /** The node's allocatable resources (default 4 cpus, 8 GiB, 0 GPUs). */
  node?: { cpus?: number; memoryMb?: number; gpus?: number };
  /** The environment every container starts with before its own (default: PATH and HOME of this process). */
  baseEnv?: Record<string, string>;
}

/** An answer the fake gives instead of serving a request (what RBAC or admission would say): set with `refuse`. */
export type FakeRefusal = (request: { method: string; path: string }) => { code: number; reason: string; message: string } | undefined;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ uid: string; kind: string; name: string; apiVersion: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    finalizers?: string[];
    creationTimestamp: string;
    [key: string]: unknown;
  };
  // The API's JSON of three kinds, read field by field as the controllers need: typing each kind would be the API's own schema.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
};

type Resource = 'jobs' | 'pods' | 'secrets';

export interface FakeKubernetes {
  url: string;
  /** A kubeconfig file (JSON, which is YAML) naming this server: point KUBECONFIG at it. */
  kubeconfigPath: string;
  requests: RecordedRequest[];
  get(resource: Resource, namespace: string, name: string): Obj | undefined;
  list(resource: Resource, namespace?: string): Obj[];
  /** Whether the pod's container process is running. */
  processAlive(namespace: string, pod: string): boolean;
  /** Ends every open watch stream (as an API server's timeout or a proxy does). */
  closeWatches(): void;
  /** Forgets the event history: every older resourceVersion is too old (410 Expired). */
  compact(): void;
  /** Ends every open log follow while the containers go on running. */
  cutLogs(): void;
  /**
   * Evicts a pod as a node drain or preemption does: condition DisruptionTarget=True, then a
   * graceful termination; its Job's podFailurePolicy decides what follows.
   */
  evict(namespace: string, pod: string): void;
  /** Answers matching requests with a Status error instead (undefined: none). */
  refuse(refusal: FakeRefusal | undefined): void;
  /** Kills every container process and stops the server. */
  stop(): Promise<void>;
}

interface LogLine {
  time: string;
  line: string;
}

interface Container {
  process?: ChildProcess;
  workDir?: string;
  log: LogLine[];
  /** Open follows, and whether each asked for timestamps. */
  followers: Map<ServerResponse, boolean>;
  killTimer?: NodeJS.Timeout;
}

interface WatchStream {
  resource: Resource;
  namespace: string;
  selector: Record<string, string>;
  response: ServerResponse;
}

const status = (code: number, reason: string, message: string, details?: Record<string, unknown>) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});

/** RFC3339Nano as the kubelet writes it: nanoseconds, trailing zeros dropped. */
let lastNanos = 0n;
const nanoTimestamp = (): string => {
  let nanos = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  if (nanos <= lastNanos) nanos = lastNanos + 1n;
  lastNanos = nanos;
  const seconds = new Date(Number(nanos / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  const fraction = String(nanos % 1_000_000_000n)
    .padStart(9, '0')
    .replace(/0+$/, '');
  return `${seconds}${fraction ? `.${fraction}` : ''}Z`;
};
const nanosOf = (timestamp: string): bigint => {
  const match = /^(.{19})(?:\.(\d+))?Z$/.exec(timestamp);
  if (!match) return 0n;
  return BigInt(Date.parse(`${match[1]}Z`)) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0').slice(0, 9));
};
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

const parseSelector = (selector: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (selector ?? '')
      .split(',')
      .filter(Boolean)
      .map((term) => term.split(/==?/) as [string, string]),
  );
const matches = (object: Obj, selector: Record<string, string>): boolean =>
  Object.entries(selector).every(([key, value]) => object.metadata.labels?.[key] === value);

const cpuOf = (quantity: string | undefined): number => (quantity ? (quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity)) : 0);
const memoryMbOf = (quantity: string | undefined): number => {
  if (!quantity) return 0;
  const match = /^(\d+)(Mi|Gi|Ki)?$/.exec(quantity);
  if (!match) return Number(quantity) / 1024 / 1024;
  const value = Number(match[1]);
  return match[2] === 'Gi' ? value * 1024 : match[2] === 'Ki' ? value / 1024 : match[2] === 'Mi' ? value : value / 1024 / 1024;
};

export const startFakeKubernetes = async (options: FakeKubernetesOptions): Promise<FakeKubernetes> => {
  const node = { cpus: options.node?.cpus ?? 4, memoryMb: options.node?.memoryMb ?? 8192, gpus: options.node?.gpus ?? 0 };
  const baseEnv =
    options.baseEnv ??
    Object.fromEntries(
      Object.entries({ PATH: process.env['PATH'], HOME: process.env['HOME'] }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
  const store = new Map<string, Obj>();
  const containers = new Map<string, Container>();
  const history: Array<{ rv: number; resource: Resource; type: string; object: Obj }> = [];
  const watches = new Set<WatchStream>();
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let version = 1;
  let compactedBelow = 0;
  let refusal: FakeRefusal | undefined;
  let stopped = false;
  const dir = mkdtempSync(join(tmpdir(), 'fake-kubernetes-'));

  const key = (resource: Resource, namespace: string, name: string): string => `${resource}/${namespace}/${name}`;
  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) run();
    }, ms);
    timers.add(timer);
  };
  const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

  /** Stores a change under a new resourceVersion and tells the matching watches. */
  const emit = (resource: Resource, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Obj): void => {
    version += 1;
    object.metadata.resourceVersion = String(version);
    if (type === 'DELETED') store.delete(key(resource, object.metadata.namespace, object.metadata.name));
    else store.set(key(resource, object.metadata.namespace, object.metadata.name), object);
    const event = { rv: version, resource, type, object: copy(object) };
    history.push(event);
    for (const stream of watches)
      if (stream.resource === resource && stream.namespace === object.metadata.namespace && matches(object, stream.selector))
        stream.response.write(`${JSON.stringify({ type, object: event.object })}\n`);
  };

  const dependentsOf = (uid: string): Array<[Resource, Obj]> =>
    [...store.entries()]
      .filter(([, object]) => object.metadata.ownerReferences?.some((owner) => owner.uid === uid))
      .map(([storeKey, object]) => [storeKey.split('/')[0] as Resource, object]);

  // ---- the kubelet ----

  const podKey = (pod: Obj): string => `${pod.metadata.namespace}/${pod.metadata.name}`;
  const setContainerState = (pod: Obj, state: Record<string, unknown>, phase?: string): void => {
    const container = pod.spec.containers[0];
    pod.status.containerStatuses = [{ name: container.name, image: container.image, ready: Boolean(state['running']), restartCount: 0, state }];
    if (phase) pod.status.phase = phase;
    emit('pods', 'MODIFIED', pod);
  };

  const resolveEnv = (pod: Obj): Record<string, string> | string => {
    const env: Record<string, string> = { ...baseEnv };
    for (const entry of pod.spec.containers[0].env ?? []) {
      if (entry.valueFrom?.secretKeyRef) {
        const ref = entry.valueFrom.secretKeyRef;
        const secret = store.get(key('secrets', pod.metadata.namespace, ref.name));
        if (!secret) return `secret "${ref.name}" not found`;
        const value = secret.data?.[ref.key];
        if (value === undefined) return `couldn't find key ${ref.key} in Secret ${pod.metadata.namespace}/${ref.name}`;
        env[entry.name] = Buffer.from(value, 'base64').toString('utf8');
      } else env[entry.name] = String(entry.value ?? '');
    }
    return env;
  };

  const appendLog = (container: Container, line: string): void => {
    const entry = { time: nanoTimestamp(), line };
    container.log.push(entry);
    for (const [follower, stamped] of container.followers) follower.write(stamped ? `${entry.time} ${line}\n` : `${line}\n`);
  };

  const startContainer = (pod: Obj): void => {
    const live = store.get(key('pods', pod.metadata.namespace, pod.metadata.name));
    if (!live || live.metadata.deletionTimestamp) return;
    const spec = live.spec.containers[0];
    if (!options.images.includes(spec.image)) {
      setContainerState(live, {
        waiting: { reason: 'ErrImagePull', message: `rpc error: code = NotFound desc = failed to pull and unpack image "${spec.image}": not found` },
      });
      later(300, () => {
        const current = store.get(key('pods', pod.metadata.namespace, pod.metadata.name));
        if (current && !current.metadata.deletionTimestamp)
          setContainerState(current, { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${spec.image}"` } });
      });
      return;
    }
    const env = resolveEnv(live);
    if (typeof env === 'string') {
      const waiting = live.status.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason !== 'CreateContainerConfigError' || waiting.message !== env)
        setContainerState(live, { waiting: { reason: 'CreateContainerConfigError', message: env } });
      later(200, () => startContainer(live));
      return;
    }
    const container: Container = containers.get(podKey(live)) ?? { log: [], followers: new Map() };
    containers.set(podKey(live), container);
    const workDir = mkdtempSync(join(dir, 'pod-'));
    container.workDir = workDir;
    const mounts: Array<[string, string]> = (spec.volumeMounts ?? []).map((mount: { mountPath: string }) => [mount.mountPath, workDir]);
    const mapPath = (value: string): string => {
      if (options.imageFiles?.[value]) return options.imageFiles[value];
      for (const [mountPath, here] of mounts) if (value === mountPath || value.startsWith(`${mountPath}/`)) return here + value.slice(mountPath.length);
      return value;
    };
    const [command, ...args] = [...(spec.command ?? []), ...(spec.args ?? [])].map(String);
    const cwd = spec.workingDir ? mapPath(spec.workingDir) : workDir;
    const startedAt = now();
    const child = spawn(command === 'node' ? process.execPath : mapPath(command ?? ''), args.map(mapPath), {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    container.process = child;
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => appendLog(container, line));
    setContainerState(live, { running: { startedAt } }, 'Running');
    const job = live.metadata.ownerReferences?.find((owner) => owner.kind === 'Job');
    const jobObject = job ? store.get(key('jobs', live.metadata.namespace, job.name)) : undefined;
    if (jobObject && !jobObject.status.startTime) {
      jobObject.status = { ...jobObject.status, active: 1, startTime: startedAt };
      emit('jobs', 'MODIFIED', jobObject);
    }
    child.on('error', (error) => appendLog(container, `exec failed: ${error.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(container.killTimer);
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1);
      for (const follower of container.followers.keys()) follower.end();
      container.followers.clear();
      const current = store.get(key('pods', live.metadata.namespace, live.metadata.name));
      if (!current) return;
      setContainerState(
        current,
        { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: now() } },
        exitCode === 0 ? 'Succeeded' : 'Failed',
      );
      podEnded(current, exitCode);
      if (current.metadata.deletionTimestamp) removePod(current);
    });
  };

  const killGroup = (child: ChildProcess | undefined, signal: NodeJS.Signals): void => {
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };

  const removePod = (pod: Obj): void => {
    if (!store.has(key('pods', pod.metadata.namespace, pod.metadata.name))) return;
    emit('pods', 'DELETED', pod);
    const container = containers.get(podKey(pod));
    if (container?.workDir) rmSync(container.workDir, { recursive: true, force: true });
    // A foreground-deleted owner goes once its last dependent has.
    for (const owner of pod.metadata.ownerReferences ?? []) {
      const job = store.get(key('jobs', pod.metadata.namespace, owner.name));
      if (job?.metadata.finalizers?.includes('foregroundDeletion') && !dependentsOf(job.metadata.uid).some(([resource]) => resource === 'pods'))
        finishForeground(job);
    }
  };

  /** Graceful deletion: SIGTERM, SIGKILL after the grace period, the pod removed once its container is gone. */
  const terminatePod = (pod: Obj, gracePeriodSeconds?: number): void => {
    const grace = gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const container = containers.get(podKey(pod));
    const running = container?.process && container.process.exitCode === null && container.process.signalCode === null;
    // A pod already terminating is only hurried by a shorter grace period, never signalled again otherwise.
    if (pod.metadata.deletionTimestamp && grace >= (pod.metadata.deletionGracePeriodSeconds ?? Infinity)) return;
    const hurried = Boolean(pod.metadata.deletionTimestamp);
    pod.metadata.deletionTimestamp ??= now();
    pod.metadata.deletionGracePeriodSeconds = grace;
    emit('pods', 'MODIFIED', pod);
    if (!running) return removePod(pod);
    if (grace === 0) return killGroup(container.process, 'SIGKILL');
    if (!hurried) killGroup(container.process, 'SIGTERM');
    clearTimeout(container.killTimer);
    container.killTimer = setTimeout(() => killGroup(container.process, 'SIGKILL'), grace * 1000);
  };

  // ---- the job controller and the scheduler ----

  const setJobCondition = (job: Obj, type: string, reason?: string, message?: string): void => {
    const time = now();
    job.status.conditions = [
      ...(job.status.conditions ?? []),
      { type, status: 'True', ...(reason ? { reason } : {}), ...(message ? { message } : {}), lastProbeTime: time, lastTransitionTime: time },
    ];
    if (type === 'Complete') job.status.completionTime = time;
    emit('jobs', 'MODIFIED', job);
  };
  const jobFinished = (job: Obj): boolean =>
    (job.status.conditions ?? []).some((condition: { type: string }) => condition.type === 'Complete' || condition.type === 'Failed');

  const podEnded = (pod: Obj, exitCode: number): void => {
    const owner = pod.metadata.ownerReferences?.find((reference) => reference.kind === 'Job');
    const job = owner ? store.get(key('jobs', pod.metadata.namespace, owner.name)) : undefined;
    // A Job being deleted gets no conditions any more.
    if (!job || job.metadata.uid !== owner?.uid || jobFinished(job) || job.metadata.deletionTimestamp) return;
    if (job.status.deadlineExceeded) {
      job.status = { ...job.status, active: 0, failed: (job.status.failed ?? 0) + 1 };
      return setJobCondition(job, 'Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
    }
    if (exitCode === 0) {
      job.status = { ...job.status, active: 0, succeeded: 1 };
      return setJobCondition(job, 'Complete');
    }
    // The podFailurePolicy's rules in order, the first that matches decides (an exit code, or a pod condition).
    const rules: Array<{
      action: string;
      onExitCodes?: { containerName?: string; operator: string; values: number[] };
      onPodConditions?: Array<{ type: string; status?: string }>;
    }> = job.spec.podFailurePolicy?.rules ?? [];
    const conditions: Array<{ type: string; status: string }> = pod.status.conditions ?? [];
    const index = rules.findIndex((rule) =>
      rule.onExitCodes
        ? (!rule.onExitCodes.containerName || rule.onExitCodes.containerName === pod.spec.containers[0].name) &&
          (rule.onExitCodes.operator === 'In' ? rule.onExitCodes.values.includes(exitCode) : !rule.onExitCodes.values.includes(exitCode))
        : (rule.onPodConditions ?? []).some((wanted) =>
            conditions.some((condition) => condition.type === wanted.type && condition.status === (wanted.status ?? 'True')),
          ),
    );
    const rule = index >= 0 ? rules[index] : undefined;
    if (rule?.action === 'Ignore') {
      // Not counted against backoffLimit: the controller starts another pod.
      job.status = { ...job.status, active: 0 };
      emit('jobs', 'MODIFIED', job);
      return createPodFor(job, false);
    }
    job.status = { ...job.status, active: 0, failed: (job.status.failed ?? 0) + 1 };
    if (rule?.action === 'FailJob') {
      const cause = rule.onExitCodes
        ? `Container ${pod.spec.containers[0].name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${exitCode}`
        : `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${rule.onPodConditions?.[0]?.type}`;
      return setJobCondition(job, 'Failed', 'PodFailurePolicy', `${cause} matching FailJob rule at index ${index}`);
    }
    setJobCondition(job, 'Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
  };

  const schedule = (pod: Obj): void => {
    const requests = pod.spec.containers[0].resources?.requests ?? {};
    const short: string[] = [];
    if (cpuOf(requests.cpu) > node.cpus) short.push('Insufficient cpu');
    if (memoryMbOf(requests.memory) > node.memoryMb) short.push('Insufficient memory');
    if (Number(requests['nvidia.com/gpu'] ?? 0) > node.gpus) short.push('Insufficient nvidia.com/gpu');
    if (short.length > 0) {
      pod.status.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: `0/1 nodes are available: ${short.map((reason) => `1 ${reason}`).join(', ')}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`,
          lastTransitionTime: now(),
        },
      ];
      emit('pods', 'MODIFIED', pod);
      return;
    }
    pod.spec.nodeName = 'fake-node';
    pod.status.conditions = [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }];
    setContainerState(pod, { waiting: { reason: 'ContainerCreating' } });
    later(50, () => startContainer(pod));
  };

  const createPodFor = (job: Obj, first = true): void => {
    const template = copy(job.spec.template);
    const name = `${job.metadata.name.slice(0, 57)}-${randomUUID().slice(0, 5)}`;
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...(template.metadata ?? {}),
        name,
        namespace: job.metadata.namespace,
        uid: randomUUID(),
        resourceVersion: '',
        creationTimestamp: now(),
        labels: {
          ...(template.metadata?.labels ?? {}),
          'batch.kubernetes.io/job-name': job.metadata.name,
          'batch.kubernetes.io/controller-uid': job.metadata.uid,
        },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: template.spec,
      status: { phase: 'Pending', conditions: [] },
    };
    emit('pods', 'ADDED', pod);
    later(30, () => schedule(pod));
    const deadline = job.spec.activeDeadlineSeconds;
    if (deadline && first)
      later(deadline * 1000, () => {
        const current = store.get(key('jobs', job.metadata.namespace, job.metadata.name));
        if (!current || current.metadata.uid !== job.metadata.uid || jobFinished(current) || current.metadata.deletionTimestamp) return;
        current.status.deadlineExceeded = true;
        const live = store.get(key('pods', pod.metadata.namespace, pod.metadata.name));
        if (live && containers.get(podKey(live))?.process) terminatePod(live);
        else {
          if (live) removePod(live);
          setJobCondition(current, 'Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
        }
      });
  };

  const finishForeground = (job: Obj): void => {
    emit('jobs', 'DELETED', job);
    for (const [resource, object] of dependentsOf(job.metadata.uid)) if (resource === 'secrets') emit('secrets', 'DELETED', object);
  };

  const deleteJob = (job: Obj, policy: string, gracePeriodSeconds?: number): void => {
    const dependents = dependentsOf(job.metadata.uid);
    if (policy === 'Orphan') {
      for (const [resource, object] of dependents) {
        object.metadata.ownerReferences = object.metadata.ownerReferences?.filter((owner) => owner.uid !== job.metadata.uid);
        emit(resource, 'MODIFIED', object);
      }
      emit('jobs', 'DELETED', job);
      return;
    }
    if (policy === 'Background') {
      emit('jobs', 'DELETED', job);
      for (const [resource, object] of dependents)
        if (resource === 'pods') terminatePod(object, gracePeriodSeconds);
        else emit(resource, 'DELETED', object);
      return;
    }
    job.metadata.deletionTimestamp = now();
    job.metadata.finalizers = [...(job.metadata.finalizers ?? []), 'foregroundDeletion'];
    emit('jobs', 'MODIFIED', job);
    const pods = dependents.filter(([resource]) => resource === 'pods');
    if (pods.length === 0) return finishForeground(job);
    // The garbage collector deletes dependents with their own grace period (the owner's gracePeriodSeconds is not passed on).
    for (const [, pod] of pods) terminatePod(pod);
  };

  // ---- HTTP ----

  const send = (response: ServerResponse, code: number, body: unknown): void => {
    response.writeHead(code, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const notFound = (response: ServerResponse, kind: string, name: string): void =>
    send(response, 404, status(404, 'NotFound', `${kind} "${name}" not found`, { name, kind }));

  const listOf = (resource: Resource, namespace: string, selector: Record<string, string>): Obj[] =>
    [...store.entries()]
      .filter(([storeKey, object]) => storeKey.startsWith(`${resource}/${namespace}/`) && matches(object, selector))
      .map(([, object]) => object);

  const watch = (response: ServerResponse, resource: Resource, namespace: string, query: Record<string, string>): void => {
    const selector = parseSelector(query['labelSelector']);
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = query['resourceVersion'] && query['resourceVersion'] !== '0' ? Number(query['resourceVersion']) : undefined;
    if (from !== undefined && from < compactedBelow) {
      response.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${compactedBelow})`) })}\n`);
      return;
    }
    if (from === undefined) for (const object of listOf(resource, namespace, selector)) response.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
    else
      for (const event of history)
        if (event.rv > from && event.resource === resource && event.object.metadata.namespace === namespace && matches(event.object, selector))
          response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    const stream: WatchStream = { resource, namespace, selector, response };
    watches.add(stream);
    response.on('close', () => watches.delete(stream));
  };

  const readBody = async (request: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? (JSON.parse(text) as unknown) : undefined;
  };

  const create = (response: ServerResponse, resource: Resource, namespace: string, body: Obj, group: string): void => {
    const name = body.metadata?.name;
    if (store.has(key(resource, namespace, name))) {
      send(response, 409, status(409, 'AlreadyExists', `${resource}${group ? `.${group}` : ''} "${name}" already exists`, { name, group, kind: resource }));
      return;
    }
    const object: Obj = { ...copy(body), metadata: { ...copy(body.metadata), namespace, uid: randomUUID(), resourceVersion: '', creationTimestamp: now() } };
    if (resource === 'secrets') toData(object);
    if (resource === 'jobs') object.status = {};
    emit(resource, 'ADDED', object);
    send(response, 201, object);
    if (resource === 'jobs') createPodFor(object);
  };
  const toData = (secret: Obj): void => {
    secret.data = {
      ...(secret.data ?? {}),
      ...Object.fromEntries(Object.entries(secret.stringData ?? {}).map(([name, value]) => [name, Buffer.from(value).toString('base64')])),
    };
    delete secret.stringData;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams.entries());
    const body = await readBody(request).catch(() => undefined);
    requests.push({ method: request.method ?? 'GET', path: url.pathname, query, body });
    const refused = refusal?.({ method: request.method ?? 'GET', path: url.pathname });
    if (refused) return send(response, refused.code, status(refused.code, refused.reason, refused.message));
    const route = /^\/(?:api\/v1|apis\/batch\/v1)\/namespaces\/([^/]+)\/(jobs|pods|secrets)(?:\/([^/]+))?(?:\/(log))?$/.exec(url.pathname);
    if (!route) return notFound(response, 'path', url.pathname);
    const [, namespace = '', resource, name, sub] = route as unknown as [string, string, Resource, string | undefined, string | undefined];
    const group = resource === 'jobs' ? 'batch' : '';
    const method = request.method ?? 'GET';
    if (!name) {
      if (method === 'POST') return create(response, resource, namespace, body as Obj, group);
      if (query['watch'] === 'true' || query['watch'] === '1') return watch(response, resource, namespace, query);
      const kind = resource === 'jobs' ? 'JobList' : resource === 'pods' ? 'PodList' : 'SecretList';
      return send(response, 200, {
        kind,
        apiVersion: group ? 'batch/v1' : 'v1',
        metadata: { resourceVersion: String(version) },
        items: listOf(resource, namespace, parseSelector(query['labelSelector'])),
      });
    }
    const object = store.get(key(resource, namespace, name));
    if (!object) return notFound(response, resource, name);
    if (sub === 'log') return serveLog(response, object, query);
    if (method === 'GET') return send(response, 200, object);
    if (method === 'PUT') {
      const replaced: Obj = {
        ...copy(body as Obj),
        metadata: {
          ...copy((body as Obj).metadata),
          namespace,
          uid: object.metadata.uid,
          resourceVersion: '',
          creationTimestamp: object.metadata.creationTimestamp,
        },
      };
      if (resource === 'secrets') toData(replaced);
      emit(resource, 'MODIFIED', replaced);
      return send(response, 200, replaced);
    }
    if (method === 'DELETE') {
      const options = (body ?? {}) as { propagationPolicy?: string; gracePeriodSeconds?: number };
      const policy = query['propagationPolicy'] ?? options.propagationPolicy;
      const grace = query['gracePeriodSeconds'] !== undefined ? Number(query['gracePeriodSeconds']) : options.gracePeriodSeconds;
      // batch/v1 Jobs: no policy means Orphan (kept for compatibility; `kubectl delete` sends Background).
      if (resource === 'jobs') deleteJob(object, policy ?? 'Orphan', grace);
      else if (resource === 'pods') terminatePod(object, grace);
      else emit(resource, 'DELETED', object);
      return send(response, 200, object);
    }
    send(response, 405, status(405, 'MethodNotAllowed', `${method} is not supported here`));
  };

  const serveLog = (response: ServerResponse, pod: Obj, query: Record<string, string>): void => {
    const container = containers.get(podKey(pod));
    const state = pod.status.containerStatuses?.[0]?.state;
    if (!container || (!state?.running && !state?.terminated)) {
      const reason = state?.waiting?.reason ?? 'ContainerCreating';
      return send(
        response,
        400,
        status(400, 'BadRequest', `container "${pod.spec.containers[0].name}" in pod "${pod.metadata.name}" is waiting to start: ${reason}`),
      );
    }
    // metav1.Time in a query: whole seconds.
    const since = query['sinceTime'] ? BigInt(Date.parse(query['sinceTime'].replace(/\.\d+Z$/, 'Z'))) * 1_000_000n : undefined;
    const stamped = query['timestamps'] === 'true';
    response.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    for (const entry of container.log)
      if (since === undefined || nanosOf(entry.time) >= since) response.write(stamped ? `${entry.time} ${entry.line}\n` : `${entry.line}\n`);
    const running = container.process && container.process.exitCode === null && container.process.signalCode === null;
    if (query['follow'] !== 'true' || !running) return void response.end();
    container.followers.set(response, stamped);
    response.on('close', () => container.followers.delete(response));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => send(response, 500, status(500, 'InternalError', String(error))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP: the client allows it only with TLS verification off.
      clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: 'fake-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: 'default' } }],
      'current-context': 'fake',
    }),
  );

  return {
    url,
    kubeconfigPath,
    requests,
    get: (resource, namespace, name) => store.get(key(resource, namespace, name)),
    list: (resource, namespace) =>
      [...store.entries()].filter(([storeKey]) => storeKey.startsWith(`${resource}/${namespace ?? ''}`)).map(([, object]) => object),
    processAlive(namespace, pod) {
      const child = containers.get(`${namespace}/${pod}`)?.process;
      return Boolean(child && child.exitCode === null && child.signalCode === null);
    },
    evict(namespace, podName) {
      const pod = store.get(key('pods', namespace, podName));
      if (!pod) throw new Error(`no pod ${namespace}/${podName}`);
      pod.status.conditions = [
        ...(pod.status.conditions ?? []),
        { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastTransitionTime: now() },
      ];
      emit('pods', 'MODIFIED', pod);
      terminatePod(pod);
    },
    refuse(next) {
      refusal = next;
    },
    closeWatches() {
      for (const stream of watches) stream.response.end();
      watches.clear();
    },
    compact() {
      compactedBelow = version + 1;
      history.length = 0;
    },
    cutLogs() {
      for (const container of containers.values()) {
        for (const follower of container.followers.keys()) follower.end();
        container.followers.clear();
      }
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      for (const container of containers.values()) {
        clearTimeout(container.killTimer);
        killGroup(container.process, 'SIGKILL');
      }
      for (const stream of watches) stream.response.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
