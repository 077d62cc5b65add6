import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { type FakeKubernetes, startFakeKubernetes } from '@trainyard/test-services';
import type { RunnerLaunch, SchedulerState } from '@trainyard/training';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKubernetesLauncher, type KubernetesLauncherOptions } from './kubernetes-launcher';

// The launcher against tools/test-services/fake-kubernetes.ts: what it sends, and how it follows
// a Job through watches, pending reasons, a log that closes early, a cancel and a restart. The
// fake kubelet runs test-fixtures/image-runner.mjs as the image's runner (no Trainyard server
// here; apps/server/src/kubernetes-jobs.int.test.ts runs the real runner).

const imageRunner = fileURLToPath(new URL('./test-fixtures/image-runner.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'trainyard-k8s-launcher-'));
let fake: FakeKubernetes;
let kubeConfig: KubeConfig;
let jobCount = 0;

const launcherWith = (extra: Partial<KubernetesLauncherOptions> = {}) =>
  createKubernetesLauncher({
    kubeConfig,
    namespaces: ['training', 'other'],
    serviceAccounts: ['trainyard-runner', 'gpu-runner'],
    images: ['registry.example/trainer:1', 'registry.example/missing:1'],
    ttlSecondsAfterFinished: 3_600,
    ...extra,
  });

/** A job directory as the runner executor leaves it before a launch. */
const newJob = (): { jobId: string; jobDir: string } => {
  jobCount += 1;
  const jobId = `0190a1b2-c3d4-7e5f-8a9b-${String(jobCount).padStart(12, '0')}`;
  const jobDir = join(root, jobId);
  mkdirSync(join(jobDir, 'logs'), { recursive: true });
  mkdirSync(join(jobDir, 'input', 'config'), { recursive: true });
  writeFileSync(join(jobDir, 'input', 'config', 'job.json'), JSON.stringify({ id: jobId }));
  return { jobId, jobDir };
};

const launchOf = (job: { jobId: string; jobDir: string }, mode: string, extra: Partial<RunnerLaunch> = {}): RunnerLaunch => ({
  jobId: job.jobId,
  attempt: 1,
  jobDir: job.jobDir,
  serverUrl: 'https://trainyard.example.org',
  token: 'tyj_secret-token-value',
  env: { FAKE_RUNNER_MODE: mode, PATH: '/server/only/bin', OMP_NUM_THREADS: '2', TRAINYARD_SESSION_TOKEN: 'never passed' },
  resources: { cpus: 1, memoryMb: 512, timeoutSeconds: 600 },
  graceMs: 5_000,
  ...extra,
});

const runnerLog = (jobDir: string): string[] =>
  readFileSync(join(jobDir, 'logs', 'runner.log'), 'utf8')
    .split('\n')
    .filter(Boolean);
const jobRequests = (method: string) => fake.requests.filter((request) => request.method === method && /\/jobs(\/|$)/.test(request.path));

beforeAll(async () => {
  fake = await startFakeKubernetes({
    images: ['registry.example/trainer:1'],
    imageFiles: { '/opt/trainyard/runner.js': imageRunner },
    node: { cpus: 4, memoryMb: 8_192, gpus: 1 },
  });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(fake.kubeconfigPath);
});

afterAll(async () => {
  await fake?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('the Job and Secret of an attempt', () => {
  it('sends every field docs/kubernetes.md names, keeps the token out of the spec, runs, and follows it to Complete', async () => {
    const job = newJob();
    const states: SchedulerState[] = [];
    const handle = await launcherWith().launch(
      launchOf(job, 'quick', {
        resources: { cpus: 2, memoryMb: 1_024, gpus: 1, timeoutSeconds: 900, serviceAccount: 'gpu-runner' },
        onState: (state) => states.push(state),
      }),
    );
    const name = `ty-${job.jobId}-1`;
    expect(name.length).toBeLessThanOrEqual(63);

    const created = jobRequests('POST').at(-1);
    expect(created?.path).toBe('/apis/batch/v1/namespaces/training/jobs');
    // The request's JSON, asserted field by field.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const body = created?.body as any;
    expect(JSON.stringify(body)).not.toContain('tyj_secret-token-value');
    expect(body.metadata).toMatchObject({ name, labels: { 'trainyard.dev/job-id': job.jobId, 'trainyard.dev/attempt': '1' } });
    expect(body.spec).toMatchObject({
      backoffLimit: 0,
      activeDeadlineSeconds: 900,
      ttlSecondsAfterFinished: 3_600,
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          { action: 'FailJob', onExitCodes: { containerName: 'runner', operator: 'NotIn', values: [0] } },
        ],
      },
    });
    const pod = body.spec.template.spec;
    expect(body.spec.template.metadata.labels).toMatchObject({ 'trainyard.dev/job-id': job.jobId, 'trainyard.dev/attempt': '1' });
    expect(pod).toMatchObject({ restartPolicy: 'Never', serviceAccountName: 'gpu-runner', terminationGracePeriodSeconds: 5 + 60 });
    const container = pod.containers[0];
    expect(container).toMatchObject({
      name: 'runner',
      image: 'registry.example/trainer:1',
      command: ['node', '/opt/trainyard/runner.js', '--server', 'https://trainyard.example.org', '--job', job.jobId],
      resources: { requests: { cpu: '2', memory: '1024Mi', 'nvidia.com/gpu': '1' }, limits: { cpu: '2', memory: '1024Mi', 'nvidia.com/gpu': '1' } },
    });
    const env = Object.fromEntries(
      container.env.map((entry: { name: string; value?: string; valueFrom?: unknown }) => [entry.name, entry.value ?? entry.valueFrom]),
    );
    // The operator's additions only (OMP_NUM_THREADS and PATH describe the server's machine), values from the Secret.
    expect(env).toEqual({
      FAKE_RUNNER_MODE: { secretKeyRef: { name, key: 'env.FAKE_RUNNER_MODE' } },
      TRAINYARD_TRAINER_ENV: 'FAKE_RUNNER_MODE',
      TRAINYARD_JOB_TOKEN: { secretKeyRef: { name, key: 'token' } },
    });
    expect(pod.automountServiceAccountToken).toBe(false);

    const secretRequest = fake.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/secrets')).at(-1);
    const uid = fake.get('jobs', 'training', name)?.metadata.uid;
    expect(secretRequest?.body).toMatchObject({
      metadata: { name, namespace: 'training', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid }] },
      stringData: { token: 'tyj_secret-token-value', 'env.FAKE_RUNNER_MODE': 'quick' },
    });

    expect(await handle.gone).toBe(`the Kubernetes Job ${name} completed`);
    expect(states.map((state) => state.state)).toContain('Running');
    expect(states.at(-1)).toEqual({ kind: 'kubernetes', jobId: name, state: 'Succeeded', reason: null });
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('done'));
    expect(runnerLog(job.jobDir)).toContain(`args --server https://trainyard.example.org --job ${job.jobId}`);
    expect(runnerLog(job.jobDir)).toContain(`token present length ${'tyj_secret-token-value'.length}`);
    expect(JSON.parse(readFileSync(join(job.jobDir, 'runner', 'attempt-1.json'), 'utf8'))).toMatchObject({
      namespace: 'training',
      name,
      uid,
      jobId: job.jobId,
    });
  });

  it('refuses a namespace, service account or image the server does not allow', async () => {
    const job = newJob();
    await expect(launcherWith().launch(launchOf(job, 'quick', { resources: { namespace: 'kube-system' } }))).rejects.toThrow(
      /namespace kube-system is not one this server allows/,
    );
    await expect(launcherWith().launch(launchOf(job, 'quick', { resources: { serviceAccount: 'admin' } }))).rejects.toThrow(/service account admin/);
    await expect(launcherWith().launch(launchOf(job, 'quick', { resources: { image: 'evil:latest' } }))).rejects.toThrow(/image evil:latest/);
  });

  it('a trainer error fails the Job through the podFailurePolicy, with the reason', async () => {
    const job = newJob();
    const handle = await launcherWith().launch(launchOf(job, 'fail'));
    expect(await handle.gone).toMatch(
      /failed \(PodFailurePolicy: Container runner for pod training\/.* failed with exit code 3 matching FailJob rule at index 1\)/,
    );
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('trainer failed'));
  });

  it('the timeout is activeDeadlineSeconds: DeadlineExceeded', async () => {
    const job = newJob();
    const handle = await launcherWith().launch(
      launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '1000' }, resources: { timeoutSeconds: 1 } }),
    );
    expect(await handle.gone).toMatch(/failed \(DeadlineExceeded: Job was active longer than specified deadline\)/);
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('got SIGTERM'));
  });
});

describe('refusals', () => {
  it('a Job the API refuses (RBAC) fails the launch with the API server’s message; a refused Secret deletes the Job it was for', async () => {
    const job = newJob();
    const forbidden = (what: string) => ({
      code: 403,
      reason: 'Forbidden',
      message: `${what} is forbidden: User "system:serviceaccount:trainyard:server" cannot create resource`,
    });
    fake.refuse((request) => (request.method === 'POST' && request.path.endsWith('/jobs') ? forbidden('jobs.batch') : undefined));
    await expect(launcherWith().launch(launchOf(job, 'quick'))).rejects.toThrow(
      `creating Kubernetes Job ty-${job.jobId}-1 in namespace training: Kubernetes answered 403: jobs.batch is forbidden: User "system:serviceaccount:trainyard:server" cannot create resource`,
    );
    fake.refuse((request) => (request.method === 'POST' && request.path.endsWith('/secrets') ? forbidden('secrets') : undefined));
    try {
      await expect(launcherWith().launch(launchOf(job, 'quick'))).rejects.toThrow(
        /creating the token Secret of Kubernetes Job .*: Kubernetes answered 403: secrets is forbidden/,
      );
    } finally {
      fake.refuse(undefined);
    }
    expect(jobRequests('DELETE').at(-1)).toMatchObject({
      path: `/apis/batch/v1/namespaces/training/jobs/ty-${job.jobId}-1`,
      query: { propagationPolicy: 'Foreground' },
    });
    await vi.waitFor(() => expect(fake.get('jobs', 'training', `ty-${job.jobId}-1`)).toBeUndefined());
  });
});

describe('a disruption', () => {
  it('is ignored by the podFailurePolicy: Kubernetes starts another pod, whose log is followed too, and the Job completes', async () => {
    const job = newJob();
    const handle = await launcherWith().launch(launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '10' } }));
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 3'));
    const ours = () => fake.list('pods', 'training').filter((pod) => pod.metadata.labels?.['trainyard.dev/job-id'] === job.jobId);
    const [first] = ours();
    fake.evict('training', first?.metadata.name ?? '');
    expect(await handle.gone).toMatch(/completed/);
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('done'));
    const log = runnerLog(job.jobDir);
    expect(log).toContain('got SIGTERM');
    expect(log.filter((line) => line.startsWith('args '))).toHaveLength(2);
    expect(log.filter((line) => line === 'line 10')).toHaveLength(1);
    expect(ours().map((pod) => pod.metadata.name)).not.toContain(first?.metadata.name);
  });
});

describe('a conflict on create', () => {
  it('adopts the Job of the same attempt (a launch repeated after a crash) and refuses one that is not ours', async () => {
    const job = newJob();
    // The same attempt launched again (the server crashed before it recorded the launch): the same environment.
    const env = { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '20' };
    const first = await launcherWith().launch(launchOf(job, 'slow', { env }));
    const again = await launcherWith().launch(launchOf(job, 'slow', { env }));
    expect(fake.list('pods', 'training').filter((pod) => pod.metadata.labels?.['trainyard.dev/job-id'] === job.jobId)).toHaveLength(1);
    expect(await again.gone).toMatch(/completed/);
    expect(await first.gone).toMatch(/completed/);

    // A Job of that name with someone else's labels.
    const other = newJob();
    const name = `ty-${other.jobId}-1`;
    const response = await fetch(`${fake.url}/apis/batch/v1/namespaces/training/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        metadata: { name, labels: { app: 'not-trainyard' } },
        spec: { template: { spec: { containers: [{ name: 'x', image: 'registry.example/trainer:1', command: ['node', '-e', ''] }] } } },
      }),
    });
    expect(response.status).toBe(201);
    const conflict = await fetch(`${fake.url}/apis/batch/v1/namespaces/training/jobs`, { method: 'POST', body: JSON.stringify({ metadata: { name } }) });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'AlreadyExists',
      code: 409,
      details: { name, group: 'batch', kind: 'jobs' },
    });
    await expect(launcherWith().launch(launchOf(other, 'quick'))).rejects.toThrow(
      `a Kubernetes Job named ${name} already exists in namespace training and is not attempt 1 of job ${other.jobId}`,
    );
  });
});

describe('pending reasons', () => {
  it('Unschedulable (more cpu than the node has) and ImagePullBackOff reach onState', async () => {
    const big = newJob();
    const states: SchedulerState[] = [];
    const unschedulable = await launcherWith().launch(launchOf(big, 'quick', { resources: { cpus: 64 }, onState: (state) => states.push(state) }));
    await vi.waitFor(() =>
      expect(states.at(-1)).toMatchObject({
        kind: 'kubernetes',
        state: 'Pending',
        reason: expect.stringMatching(/^Unschedulable: 0\/1 nodes are available: 1 Insufficient cpu/),
      }),
    );
    unschedulable.signal('SIGTERM');
    expect(await unschedulable.gone).toMatch(/deleted/);

    const missing = newJob();
    const pulls: SchedulerState[] = [];
    const pulling = await launcherWith().launch(
      launchOf(missing, 'quick', { resources: { image: 'registry.example/missing:1' }, onState: (state) => pulls.push(state) }),
    );
    await vi.waitFor(() => expect(pulls.at(-1)?.reason).toMatch(/^ImagePullBackOff: Back-off pulling image "registry.example\/missing:1"/));
    expect(pulls.map((state) => state.reason?.split(':')[0])).toContain('ErrImagePull');
    pulling.signal('SIGKILL');
    expect(await pulling.gone).toMatch(/deleted/);
  });
});

describe('a Job found whose Secret is missing', () => {
  it('shows CreateContainerConfigError as the pending reason (found by label: a Job our labels name, created elsewhere)', async () => {
    const job = newJob();
    const name = `ty-${job.jobId}-1`;
    const labels = { 'trainyard.dev/job-id': job.jobId, 'trainyard.dev/attempt': '1' };
    const created = await fetch(`${fake.url}/apis/batch/v1/namespaces/other/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        metadata: { name, labels },
        spec: {
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: 'runner',
                  image: 'registry.example/trainer:1',
                  command: ['node', '/opt/trainyard/runner.js'],
                  env: [{ name: 'TRAINYARD_JOB_TOKEN', valueFrom: { secretKeyRef: { name, key: 'token' } } }],
                },
              ],
            },
          },
        },
      }),
    });
    expect(created.status).toBe(201);
    const states: SchedulerState[] = [];
    // No attempt record: every allowed namespace is searched by label.
    const found = await launcherWith().find(job.jobDir, 1, { onState: (state) => states.push(state) });
    expect(found).toBeDefined();
    await vi.waitFor(() => expect(states.at(-1)).toMatchObject({ state: 'Pending', reason: `CreateContainerConfigError: secret "${name}" not found` }));
    found?.signal('SIGTERM');
    expect(await found?.gone).toMatch(/deleted/);
  });
});

describe('the pod log', () => {
  it('is followed into logs/runner.log; follows cut early are resumed without a line twice', async () => {
    const job = newJob();
    const handle = await launcherWith().launch(launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '40' } }));
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 5'));
    fake.cutLogs();
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 20'));
    fake.cutLogs();
    await handle.gone;
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('done'));
    const lines = runnerLog(job.jobDir).filter((line) => line.startsWith('line '));
    expect(lines).toEqual(Array.from({ length: 40 }, (_, index) => `line ${index + 1}`));
    const resumed = fake.requests.filter((request) => request.path.endsWith('/log') && request.query['sinceTime']);
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    expect(resumed[0]?.query).toMatchObject({ follow: 'true', timestamps: 'true', container: 'runner' });
  });
});

describe('cancel', () => {
  it('SIGTERM deletes the Job with propagationPolicy Foreground: the runner gets SIGTERM, the pod, Job and Secret go', async () => {
    const job = newJob();
    const handle = await launcherWith().launch(launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '1000' } }));
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 2'));
    handle.signal('SIGTERM');
    expect(await handle.gone).toMatch(/deleted/);
    const deleted = jobRequests('DELETE').at(-1);
    expect(deleted?.query).toMatchObject({ propagationPolicy: 'Foreground' });
    expect(deleted?.query['gracePeriodSeconds']).toBeUndefined();
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('got SIGTERM'));
    const name = `ty-${job.jobId}-1`;
    expect(fake.get('jobs', 'training', name)).toBeUndefined();
    expect(fake.get('secrets', 'training', name)).toBeUndefined();
    expect(fake.list('pods', 'training').filter((pod) => pod.metadata.labels?.['trainyard.dev/job-id'] === job.jobId)).toEqual([]);
  });

  it('(the fake is honest) a delete without propagationPolicy orphans the pod, which goes on running', async () => {
    const job = newJob();
    const handle = await launcherWith().launch(launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '1000' } }));
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 2'));
    const name = `ty-${job.jobId}-1`;
    const response = await fetch(`${fake.url}/apis/batch/v1/namespaces/training/jobs/${name}`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    expect(await handle.gone).toMatch(/deleted/);
    const [pod] = fake.list('pods', 'training').filter((item) => item.metadata.labels?.['trainyard.dev/job-id'] === job.jobId);
    expect(pod?.metadata.ownerReferences).toEqual([]);
    expect(fake.processAlive('training', pod?.metadata.name ?? '')).toBe(true);
    await fetch(`${fake.url}/api/v1/namespaces/training/pods/${pod?.metadata.name}?gracePeriodSeconds=0`, { method: 'DELETE' });
    await vi.waitFor(() => expect(fake.processAlive('training', pod?.metadata.name ?? '')).toBe(false));
  });

  it('(the fake is honest) a container that ignores SIGTERM is killed after terminationGracePeriodSeconds', async () => {
    const name = 'ignores-sigterm';
    const response = await fetch(`${fake.url}/apis/batch/v1/namespaces/other/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        metadata: { name },
        spec: {
          template: {
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'x',
                  image: 'registry.example/trainer:1',
                  command: ['node', '-e', "process.on('SIGTERM', () => console.log('ignored')); console.log('ready'); setInterval(() => {}, 1000)"],
                },
              ],
            },
          },
        },
      }),
    });
    expect(response.status).toBe(201);
    const pod = () => fake.list('pods', 'other').find((item) => item.metadata.labels?.['batch.kubernetes.io/job-name'] === name);
    // Its handler is in place once it said so (a SIGTERM before that would end node at once).
    await vi.waitFor(async () => expect(await (await fetch(`${fake.url}/api/v1/namespaces/other/pods/${pod()?.metadata.name}/log`)).text()).toContain('ready'));
    const podName = pod()?.metadata.name ?? '';
    const started = Date.now();
    await fetch(`${fake.url}/apis/batch/v1/namespaces/other/jobs/${name}?propagationPolicy=Foreground`, { method: 'DELETE' });
    await vi.waitFor(() => expect(fake.get('jobs', 'other', name)).toBeUndefined(), { timeout: 5_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(fake.processAlive('other', podName)).toBe(false);
  });

  it('SIGKILL deletes the Job and its pods with gracePeriodSeconds 0', async () => {
    const job = newJob();
    const handle = await launcherWith().launch(launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '1000' } }));
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 2'));
    handle.signal('SIGKILL');
    // The pod is killed first: the Job controller may see its exit (137, failing the Job by the podFailurePolicy) before the Job's deletion.
    expect(await handle.gone).toMatch(/deleted|failed with exit code 137/);
    const deleteOfThisJob = () => jobRequests('DELETE').find((request) => request.path.endsWith(`/jobs/ty-${job.jobId}-1`));
    await vi.waitFor(() => expect(deleteOfThisJob()).toBeDefined());
    expect(deleteOfThisJob()?.query).toMatchObject({ propagationPolicy: 'Foreground', gracePeriodSeconds: '0' });
    expect(fake.requests.some((request) => request.method === 'DELETE' && request.path.includes('/pods/') && request.query['gracePeriodSeconds'] === '0')).toBe(
      true,
    );
    expect(runnerLog(job.jobDir)).not.toContain('got SIGTERM');
  });
});

describe('after a server restart', () => {
  it('a new launcher finds the running Job by label (with or without the record) and follows it; a finished one is not found', async () => {
    const job = newJob();
    await launcherWith().launch(launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '30' } }));
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 2'));
    rmSync(join(job.jobDir, 'runner', 'attempt-1.json'));
    const states: SchedulerState[] = [];
    const found = await launcherWith().find(job.jobDir, 1, { onState: (state) => states.push(state) });
    expect(found).toBeDefined();
    const listed = fake.requests.filter((request) => request.method === 'GET' && request.path.endsWith('/jobs') && !request.query['watch']).at(-1);
    expect(listed?.query['labelSelector']).toBe(`trainyard.dev/job-id=${job.jobId},trainyard.dev/attempt=1`);
    expect(await found?.gone).toMatch(/completed/);
    expect(states.at(-1)?.state).toBe('Succeeded');
    expect(await launcherWith().find(job.jobDir, 1)).toBeUndefined();
    expect(await launcherWith().find(job.jobDir, 2)).toBeUndefined();
  });
});

describe('the log after a restart', () => {
  it('a new launcher goes on from where the one before stopped writing: every line once', async () => {
    const job = newJob();
    const first = await launcherWith().launch(launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '40' } }));
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 10'));
    // The server goes away (it stops following; the pod goes on), and one starts again.
    first.stop();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const found = await launcherWith().find(job.jobDir, 1);
    expect(await found?.gone).toMatch(/completed/);
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('done'));
    expect(runnerLog(job.jobDir).filter((line) => line.startsWith('line '))).toEqual(Array.from({ length: 40 }, (_, index) => `line ${index + 1}`));
    expect(runnerLog(job.jobDir).filter((line) => line.startsWith('args '))).toHaveLength(1);
  });
});

describe('watches', () => {
  it('closed early are opened again from the last resourceVersion; 410 Gone lists again; no change is missed', async () => {
    const job = newJob();
    const handle = await launcherWith().launch(launchOf(job, 'slow', { env: { FAKE_RUNNER_MODE: 'slow', FAKE_RUNNER_LINES: '30' } }));
    await vi.waitFor(() => expect(runnerLog(job.jobDir)).toContain('line 2'));
    const watchesBefore = fake.requests.filter((request) => request.query['watch'] === 'true').length;
    fake.closeWatches();
    await vi.waitFor(() => expect(fake.requests.filter((request) => request.query['watch'] === 'true').length).toBeGreaterThanOrEqual(watchesBefore + 2));
    const resumed = fake.requests.filter((request) => request.query['watch'] === 'true').slice(watchesBefore);
    expect(resumed.every((request) => Number(request.query['resourceVersion']) > 0)).toBe(true);
    const listsBefore = fake.requests.filter((request) => request.method === 'GET' && request.path.endsWith('/jobs') && !request.query['watch']).length;
    fake.compact();
    fake.closeWatches();
    await vi.waitFor(() =>
      expect(fake.requests.filter((request) => request.method === 'GET' && request.path.endsWith('/jobs') && !request.query['watch']).length).toBeGreaterThan(
        listsBefore,
      ),
    );
    expect(await handle.gone).toMatch(/completed/);
  });
});
