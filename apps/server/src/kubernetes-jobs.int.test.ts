import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { type FakeKubernetes, freePort, rawRequest, type ServerProcess, startFakeKubernetes, startServerProcess } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Kubernetes jobs (docs/kubernetes.md) with the built server (PGlite), TRAINYARD_KUBERNETES=on
// and KUBECONFIG pointing at tools/test-services/fake-kubernetes.ts: the server creates Jobs and
// Secrets there, follows them by watches, and the fake kubelet runs the pod's command for real —
// `node /opt/trainyard/runner.js …` being the built apps/runner/dist/runner.js in an empty
// directory, which runs the command trainer and reports to the server over HTTP with its token.

const probe = fileURLToPath(new URL('../../../libs/training/src/test-fixtures/runner-probe-trainer.mjs', import.meta.url));
const runnerScript = fileURLToPath(new URL('../../runner/dist/runner.js', import.meta.url));
const IMAGE = 'registry.example/trainyard-runner:1';
const root = mkdtempSync(join(tmpdir(), 'trainyard-k8s-jobs-'));
const dataDir = join(root, 'data');
let fake: FakeKubernetes;
let server: ServerProcess;
let serverPort: number;
let client: TrainyardClient;
let snapshotId: string;
let trainLines: number;

const serverEnv = (): Record<string, string> => ({
  TRAINYARD_DATA_DIR: dataDir,
  TRAINYARD_DEMO_DATA: 'off',
  TRAINYARD_KUBERNETES: 'on',
  KUBECONFIG: fake.kubeconfigPath,
  TRAINYARD_RUNNER_IMAGES: IMAGE,
  TRAINYARD_K8S_NAMESPACES: 'training',
  TRAINYARD_K8S_SERVICE_ACCOUNTS: 'trainyard-runner',
  TRAINYARD_CANCEL_GRACE_SECONDS: '2',
  PORT: String(serverPort),
});

const waitForStatus = (id: string, statuses: string[], timeout = 60_000) =>
  vi.waitFor(
    async () => {
      const job = await client.jobs.get.query({ id });
      if (!statuses.includes(job.status)) throw new Error(`job ${id} is ${job.status}, not ${statuses.join('|')}`);
      return job;
    },
    { timeout, interval: 200 },
  );

const createJob = (name: string, hyperparameters: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  client.jobs.create.mutate({
    name,
    executor: 'kubernetes',
    trainer: { kind: 'command', command: [process.execPath, probe] },
    datasetSnapshotId: snapshotId,
    hyperparameters,
    ...extra,
  });

const k8sName = (id: string): string => `ty-${id}-1`;
const logOf = async (id: string, stream: 'stdout' | 'stderr'): Promise<string> => (await client.jobs.logs.query({ id, stream })).text;
const runnerLog = (id: string): string => readFileSync(join(dataDir, 'jobs', id, 'logs', 'runner.log'), 'utf8');
const started = (id: string, fraction = 0.15) =>
  vi.waitFor(
    async () => {
      if ((await client.jobs.get.query({ id })).progress < fraction) throw new Error('not started yet');
    },
    { timeout: 30_000, interval: 50 },
  );

describe('kubernetes jobs (real server, fake Kubernetes API, the real runner in the fake kubelet)', () => {
  beforeAll(async () => {
    fake = await startFakeKubernetes({
      images: [IMAGE],
      imageFiles: { '/opt/trainyard/runner.js': runnerScript },
      node: { cpus: 4, memoryMb: 8_192, gpus: 0 },
    });
    serverPort = await freePort();
    server = await startServerProcess(serverEnv());
    client = createTrainyardClient({ url: server.url, token: server.token });
    const body = syntheticPairs(60, 7)
      .map((pair) => JSON.stringify(pair))
      .join('\n');
    const imported = await rawRequest(`${server.url}/import/training-data`, {
      method: 'POST',
      headers: { host: `127.0.0.1:${serverPort}`, authorization: `Bearer ${server.token}`, 'content-type': 'application/x-ndjson' },
      body,
    });
    expect(JSON.parse(imported.body)).toMatchObject({ imported: 60 });
    const snapshot = await client.datasets.createSnapshot.mutate({ name: 'k8s-60', validationFraction: 0.2, seed: 1 });
    snapshotId = snapshot.id;
    trainLines = snapshot.trainCount;
  }, 120_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await fake?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs a command trainer end to end in a Job: metrics, logs, the model registered, succeeded; the token only in the Secret', async () => {
    const job = await createJob('in a pod', { epochs: 3 }, { targetModel: 'k8s-model', resources: { cpus: 1, memoryMb: 512, timeoutSeconds: 600 } });
    const done = await waitForStatus(job.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', exitCode: 0, executor: 'kubernetes', resources: { image: IMAGE } });
    expect(done.scheduler).toMatchObject({ kind: 'kubernetes', jobId: k8sName(job.id) });

    expect((await client.jobs.metrics.query({ jobId: job.id, names: ['train_loss'] }))['train_loss']?.step).toEqual([1, 2, 3]);
    const stdout = await logOf(job.id, 'stdout');
    expect(stdout).toContain(`probe trainer: ${trainLines} training lines, 3 epochs`);
    expect(await logOf(job.id, 'stderr')).toContain('stderr line of epoch 3');
    const version = await client.models.getVersion.query({ model: 'k8s-model', ref: { alias: 'latest' } });
    expect(version.trainingJobId).toBe(job.id);
    // The runner's own output, followed from the pod's log into the server's job directory.
    await vi.waitFor(() => expect(runnerLog(job.id)).toMatch(/\[runner\]/), { timeout: 10_000 });

    const created = fake.requests.find((request) => request.method === 'POST' && request.path === '/apis/batch/v1/namespaces/training/jobs');
    const spec = JSON.stringify(created?.body);
    const secret = fake.requests.find((request) => request.method === 'POST' && request.path === '/api/v1/namespaces/training/secrets')?.body as {
      stringData: { token: string };
    };
    expect(secret.stringData.token).toMatch(/^tyj_/);
    expect(spec).not.toContain(secret.stringData.token);
    expect(created?.body).toMatchObject({
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: 600,
        template: {
          spec: { serviceAccountName: 'trainyard-runner', restartPolicy: 'Never', terminationGracePeriodSeconds: 2 + 60, containers: [{ image: IMAGE }] },
        },
      },
    });
    // The token ended with the job.
    const inputs = await rawRequest(`${server.url}/runner/jobs/${job.id}/inputs`, {
      headers: { host: `127.0.0.1:${serverPort}`, authorization: `Bearer ${secret.stringData.token}` },
    });
    expect(inputs.status).toBe(401);
  }, 90_000);

  it('a failing trainer: its exit code and traceback reach the job; the Job fails by its podFailurePolicy', async () => {
    const job = await createJob('fails in a pod', { epochs: 3, failAtEpoch: 2 });
    const failed = await waitForStatus(job.id, ['failed', 'succeeded']);
    expect(failed).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(failed.error).toMatch(/trainer exited with code 1: Error: probe trainer failed on purpose at epoch 2/);
    expect(await logOf(job.id, 'stderr')).toContain('Error: probe trainer failed on purpose at epoch 2');
    await vi.waitFor(() =>
      expect(fake.get('jobs', 'training', k8sName(job.id))?.status?.conditions).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Failed', reason: 'PodFailurePolicy' })]),
      ),
    );
  }, 60_000);

  it('a job asking for more cpu than the node has shows Unschedulable as its scheduler reason; its cancel deletes the Job (Foreground)', async () => {
    const job = await createJob('too big', { epochs: 1 }, { resources: { cpus: 64 } });
    const pending = await vi.waitFor(
      async () => {
        const current = await client.jobs.get.query({ id: job.id });
        if (!current.scheduler?.reason?.startsWith('Unschedulable')) throw new Error(`scheduler: ${JSON.stringify(current.scheduler)}`);
        return current;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(pending.scheduler).toMatchObject({
      kind: 'kubernetes',
      jobId: k8sName(job.id),
      state: 'Pending',
      reason: expect.stringContaining('Insufficient cpu'),
    });
    await client.jobs.cancel.mutate({ id: job.id });
    expect((await waitForStatus(job.id, ['cancelled', 'failed'], 30_000)).status).toBe('cancelled');
    const deleted = fake.requests.filter(
      (request) => request.method === 'DELETE' && request.path === `/apis/batch/v1/namespaces/training/jobs/${k8sName(job.id)}`,
    );
    expect(deleted.map((request) => request.query['propagationPolicy'])).toContain('Foreground');
    await vi.waitFor(() => expect(fake.get('jobs', 'training', k8sName(job.id))).toBeUndefined());
  }, 60_000);

  it('a cancel of a running job: the runner hands SIGTERM to the trainer, reports, and the job is cancelled', async () => {
    const job = await createJob('cancelled in a pod', { epochs: 200, stepDelayMs: 200 });
    await started(job.id, 0.01);
    await client.jobs.cancel.mutate({ id: job.id });
    const cancelled = await waitForStatus(job.id, ['cancelled', 'failed'], 30_000);
    expect([cancelled.status, cancelled.error]).toEqual(['cancelled', null]);
    expect(
      fake.requests.some(
        (request) => request.method === 'DELETE' && request.path.endsWith(`/jobs/${k8sName(job.id)}`) && request.query['propagationPolicy'] === 'Foreground',
      ),
    ).toBe(true);
    await vi.waitFor(() => expect(runnerLog(job.id)).toMatch(/trainer ended \(cancelled, /), { timeout: 10_000 });
    await vi.waitFor(() => expect(fake.list('pods', 'training').filter((pod) => pod.metadata.labels?.['trainyard.dev/job-id'] === job.id)).toEqual([]));
  }, 60_000);

  it('watches closed early, a 410 after compaction and log follows cut mid-run: the job completes, the log once', async () => {
    const job = await createJob('interrupted watches', { epochs: 10, stepDelayMs: 200 });
    await started(job.id, 0.2);
    fake.closeWatches();
    fake.cutLogs();
    await started(job.id, 0.5);
    fake.compact();
    fake.closeWatches();
    fake.cutLogs();
    expect(await waitForStatus(job.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded', exitCode: 0 });
    await vi.waitFor(() => expect(runnerLog(job.id)).toMatch(/trainer ended/), { timeout: 10_000 });
    expect(runnerLog(job.id).split('trainer ended')).toHaveLength(2);
  }, 60_000);

  it('a server killed mid-run: the restarted server finds the Job by label and follows it to the end, every point once', async () => {
    const job = await createJob('server restart', { epochs: 16, stepDelayMs: 250 }, { targetModel: 'k8s-restart' });
    await started(job.id);
    server.child.kill('SIGKILL');
    await server.exited;
    const listsBefore = fake.requests.filter(
      (request) => request.method === 'GET' && request.path.endsWith('/jobs') && request.query['watch'] === undefined,
    ).length;
    server = await startServerProcess(serverEnv());
    client = createTrainyardClient({ url: server.url, token: server.token });
    const done = await waitForStatus(job.id, ['succeeded', 'failed']);
    expect([done.status, done.error, done.exitCode, done.attempt]).toEqual(['succeeded', null, 0, 1]);
    const relisted = fake.requests
      .filter((request) => request.method === 'GET' && request.path.endsWith('/jobs') && request.query['watch'] === undefined)
      .slice(listsBefore);
    expect(relisted.map((request) => request.query['labelSelector'])).toContain(`trainyard.dev/job-id=${job.id},trainyard.dev/attempt=1`);
    const metrics = await client.jobs.metrics.query({ jobId: job.id, names: ['train_loss'] });
    expect(metrics['train_loss']?.step).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const stdout = await logOf(job.id, 'stdout');
    for (let epoch = 1; epoch <= 16; epoch += 1) expect(stdout.split(`stdout line of epoch ${epoch}\n`)).toHaveLength(2);
    expect((await client.models.getVersion.query({ model: 'k8s-restart', ref: { alias: 'latest' } })).trainingJobId).toBe(job.id);
    // The pod's log was followed by both servers, each line written once.
    await vi.waitFor(() => expect(runnerLog(job.id)).toMatch(/trainer ended/), { timeout: 10_000 });
    expect(runnerLog(job.id).split('trainer ended')).toHaveLength(2);
  }, 120_000);
});
