import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { freePort, isProcessAlive, rawRequest, type ServerProcess, startServerProcess, startTcpProxy, type TcpProxy } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Jobs through the runner (docs/runner.md), all real: the built server (PGlite) with
// TRAINYARD_RUNNER_LOCAL=on starts `node apps/runner/dist/runner.js` as a process of its own in an
// empty temporary directory; the runner reaches the server only over HTTP with its job token,
// through a TCP proxy the tests cut (tools/test-services/tcp-proxy.ts) and an HTTP hop that can
// corrupt blob downloads. Jobs run one at a time (the machine has 2 cores).

const probe = fileURLToPath(new URL('../../../libs/training/src/test-fixtures/runner-probe-trainer.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'trainyard-runner-jobs-'));
const dataDir = join(root, 'data');
let server: ServerProcess;
let serverPort: number;
let client: TrainyardClient;
let proxy: TcpProxy;
let hop: Server;
let corruptBlobs = false;
let snapshotId: string;
let trainLines: number;

/**
 * An HTTP hop between the TCP proxy and the server: it passes requests on with the server's own
 * Host (the local server answers only its loopback address) and, while `corruptBlobs` is set,
 * flips one byte of every blob it passes back — a corrupting network, seen only by the runner.
 */
const serverEnv = (): Record<string, string> => ({
  TRAINYARD_DATA_DIR: dataDir,
  TRAINYARD_DEMO_DATA: 'off',
  TRAINYARD_RUNNER_LOCAL: 'on',
  TRAINYARD_RUNNER_URL: `http://127.0.0.1:${proxy.port}`,
  TRAINYARD_CANCEL_GRACE_SECONDS: '2',
  // Garbage collection runs only when a test asks; with no grace period, what it keeps is what is referenced.
  TRAINYARD_GC_GRACE_MINUTES: '0',
  PORT: String(serverPort),
});

const startHop = async (port: number): Promise<Server> => {
  const hopServer = createServer((request, response) => {
    const upstream = httpRequest(
      { host: '127.0.0.1', port: serverPort, method: request.method, path: request.url, headers: { ...request.headers, host: `127.0.0.1:${serverPort}` } },
      (answer) => {
        if (!(corruptBlobs && request.method === 'GET' && request.url?.startsWith('/blobs/sha256/') && answer.statusCode === 200)) {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if (body.length > 0) body[0] = (body[0] ?? 0) ^ 0xff;
          response.writeHead(200, answer.headers);
          response.end(body);
        });
      },
    );
    upstream.on('error', () => response.destroy());
    // The client went away (the TCP proxy cut it): so does the request to the server.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => hopServer.listen(port, '127.0.0.1', resolve));
  return hopServer;
};

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
    executor: 'runner-local',
    trainer: { kind: 'command', command: [process.execPath, probe] },
    datasetSnapshotId: snapshotId,
    hyperparameters,
    ...extra,
  });

const jobDir = (id: string): string => join(dataDir, 'jobs', id);
const runnerRecord = (id: string): { pid: number; workDir: string } =>
  JSON.parse(readFileSync(join(jobDir(id), 'runner', 'attempt-1.json'), 'utf8')) as { pid: number; workDir: string };
const logOf = async (id: string, stream: 'stdout' | 'stderr' | 'events'): Promise<string> => (await client.jobs.logs.query({ id, stream })).text;

/** The job token as the runner process holds it: in its environment (Linux: /proc/<pid>/environ), never in its arguments. */
const tokenOfRunner = (pid: number): string => {
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const token = environ.find((entry) => entry.startsWith('TRAINYARD_JOB_TOKEN='))?.slice('TRAINYARD_JOB_TOKEN='.length);
  if (!token) throw new Error('no job token in the runner’s environment');
  expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(token);
  return token;
};

const call = (path: string, token: string, init: { method?: string; body?: string | Buffer; contentType?: string } = {}) =>
  rawRequest(`${server.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      host: `127.0.0.1:${serverPort}`,
      authorization: `Bearer ${token}`,
      ...(init.body !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });

describe('jobs through the runner (runner-local executor, real server process and runner processes)', () => {
  beforeAll(async () => {
    serverPort = await freePort();
    const hopPort = await freePort();
    hop = await startHop(hopPort);
    proxy = await startTcpProxy(hopPort);
    server = await startServerProcess(serverEnv());
    client = createTrainyardClient({ url: server.url, token: server.token });
    const body = syntheticPairs(60, 7)
      .map((pair) => JSON.stringify(pair))
      .join('\n');
    const imported = await call('/import/training-data', server.token, { method: 'POST', body, contentType: 'application/x-ndjson' });
    expect(JSON.parse(imported.body)).toMatchObject({ imported: 60 });
    const snapshot = await client.datasets.createSnapshot.mutate({ name: 'runner-60', validationFraction: 0.2, seed: 1 });
    snapshotId = snapshot.id;
    trainLines = snapshot.trainCount;
  }, 120_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await proxy?.close();
    await new Promise((resolve) => hop?.close(resolve));
    if (!process.env['KEEP_RUNNER_TEST_DIR']) rmSync(root, { recursive: true, force: true });
  });

  it('runs a job end to end in an empty directory: metrics, logs, the model registered with verified hashes, exit code 0', async () => {
    const job = await createJob('through the runner', { epochs: 3 }, { targetModel: 'runner-model' });
    const done = await waitForStatus(job.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', exitCode: 0, executor: 'runner-local' });

    const metrics = await client.jobs.metrics.query({ jobId: job.id, names: ['train_loss'] });
    expect(metrics['train_loss']?.step).toEqual([1, 2, 3]);
    const stdout = await logOf(job.id, 'stdout');
    expect(stdout).toContain(`probe trainer: ${trainLines} training lines, 3 epochs`);
    for (const epoch of [1, 2, 3]) expect(stdout).toContain(`stdout line of epoch ${epoch}`);
    expect(await logOf(job.id, 'stderr')).toContain('stderr line of epoch 3');

    // The model file, checkpoints and the reported artifact came back as blobs with the hashes of the bytes the trainer wrote.
    const expectedModel = Buffer.from(`weights after 3 epochs on ${trainLines} lines\n`.repeat(1000));
    const version = await client.models.getVersion.query({ model: 'runner-model', ref: { alias: 'latest' } });
    const ofVersion = (await client.artifacts.list.query({ modelVersionId: version.id })).items;
    expect(ofVersion.map((a) => [a.name, a.type]).sort()).toEqual([
      ['notes.txt', 'metadata'],
      ['output/model/model.bin', 'model'],
    ]);
    expect(ofVersion.find((a) => a.name === 'output/model/model.bin')?.sha256).toBe(createHash('sha256').update(expectedModel).digest('hex'));
    const downloaded = await call(`/blobs/sha256/${ofVersion.find((a) => a.name === 'output/model/model.bin')?.sha256}`, server.token);
    expect(downloaded.status).toBe(200);
    const checkpoints = (await client.artifacts.list.query({ trainingJobId: job.id, type: 'checkpoint' })).items.map((a) => a.name).sort();
    expect(checkpoints).toEqual(['checkpoints/epoch-1.json', 'checkpoints/epoch-2.json', 'checkpoints/epoch-3.json']);

    // The runner worked in a directory of its own, removed once the attempt ended; nothing of it is in the server's job directory.
    const { workDir } = runnerRecord(job.id);
    expect(workDir.startsWith(join(dataDir))).toBe(false);
    expect(existsSync(workDir)).toBe(false);
    expect(existsSync(join(jobDir(job.id), 'output', 'model', 'model.bin'))).toBe(false);
  }, 90_000);

  it('propagates the trainer’s exit code, and a failing trainer’s traceback is in the job’s logs and error', async () => {
    const failing = await createJob('fails', { epochs: 3, failAtEpoch: 2 });
    const failed = await waitForStatus(failing.id, ['failed', 'succeeded']);
    expect(failed).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(failed.error).toMatch(/trainer exited with code 1: Error: probe trainer failed on purpose at epoch 2/);
    const stderr = await logOf(failing.id, 'stderr');
    expect(stderr).toContain('Error: probe trainer failed on purpose at epoch 2');
    expect(stderr).toMatch(/at file:\/\/.*runner-probe-trainer\.mjs/);

    const seven = await createJob('exits 7', { epochs: 1, exitCode: 7 });
    expect(await waitForStatus(seven.id, ['failed', 'succeeded'])).toMatchObject({ status: 'failed', exitCode: 7 });
  }, 90_000);

  it('a retry on a fresh runner directory resumes from the checkpoints the failed attempt uploaded', async () => {
    const job = await client.jobs.create.mutate({
      name: 'resumes',
      executor: 'runner-local',
      trainer: { kind: 'builtin', name: 'example' },
      hyperparameters: { epochs: 3, failAtEpoch: 2 },
      maxAttempts: 2,
    });
    expect(await waitForStatus(job.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded', attempt: 2, exitCode: 0 });
    // Attempt 1 ran epoch 1 and failed in epoch 2; attempt 2, in another empty directory, found epoch 1's checkpoint.
    const stdout = await logOf(job.id, 'stdout');
    expect(stdout).toContain('example trainer starting at epoch 1 of 3');
    expect(stdout).toContain('example trainer starting at epoch 2 of 3');
    // Attempt 2 trained epochs 2 and 3 only (attempt 1's point may be lost: that trainer exits without flushing fd 3).
    expect((await client.jobs.metrics.query({ jobId: job.id, names: ['train_loss'] }))['train_loss']?.step.slice(-2)).toEqual([2, 3]);
    const checkpoints = (await client.artifacts.list.query({ trainingJobId: job.id, type: 'checkpoint' })).items.map((a) => a.name).sort();
    expect(checkpoints).toEqual(expect.arrayContaining(['checkpoints/epoch-2.json', 'checkpoints/epoch-3.json']));
  }, 90_000);

  it('a failed job’s uploaded checkpoints survive blob garbage collection past its grace period: a retry still resumes from them', async () => {
    const job = await client.jobs.create.mutate({
      name: 'fails, retried after GC',
      executor: 'runner-local',
      trainer: { kind: 'builtin', name: 'example' },
      hyperparameters: { epochs: 3, failAtEpoch: 2 },
      maxAttempts: 1,
    });
    expect(await waitForStatus(job.id, ['succeeded', 'failed'])).toMatchObject({ status: 'failed', attempt: 1 });
    const report = await client.artifacts.gc.mutate({ dryRun: false });
    expect(report.dryRun).toBe(false);
    await client.jobs.retry.mutate({ id: job.id });
    expect(await waitForStatus(job.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded', attempt: 2 });
    // Epoch 1's checkpoint, uploaded by the failed attempt, was still there for the retry.
    expect(await logOf(job.id, 'stdout')).toContain('example trainer starting at epoch 2 of 3');
  }, 90_000);

  it('a job token reaches only its own job’s runner routes and input blobs, and stops working when the job ends', async () => {
    const other = (await client.jobs.list.query({})).items.find((j) => j.name === 'through the runner');
    const otherModel = (await client.artifacts.list.query({ trainingJobId: other?.id ?? '', type: 'model' })).items[0];
    const job = await createJob('long', { epochs: 200, stepDelayMs: 200 });
    await vi.waitFor(
      async () => {
        if ((await client.jobs.get.query({ id: job.id })).progress === 0) throw new Error('no epoch yet');
      },
      { timeout: 30_000, interval: 50 },
    );
    const token = await vi.waitFor(() => tokenOfRunner(runnerRecord(job.id).pid), { timeout: 20_000, interval: 100 });

    const inputs = await call(`/runner/jobs/${job.id}/inputs`, token);
    expect(inputs.status).toBe(200);
    const channels = (JSON.parse(inputs.body) as { channels: Array<{ name: string; sha256: string }> }).channels;
    expect(channels.map((c) => c.name)).toEqual(['train', 'validation']);
    expect((await call(`/blobs/sha256/${channels[0]?.sha256}`, token)).status).toBe(200);
    const put = await call(`/blobs/sha256/${createHash('sha256').update('an output').digest('hex')}`, token, {
      method: 'PUT',
      body: 'an output',
      contentType: 'application/octet-stream',
    });
    expect([200, 201]).toContain(put.status);

    // Everything else: another blob, another job, the API, the other routes.
    expect((await call(`/blobs/sha256/${otherModel?.sha256}`, token)).status).toBe(403);
    expect((await call(`/blobs/sha256/${otherModel?.sha256}`, token, { method: 'HEAD' })).status).toBe(403);
    expect((await call(`/runner/jobs/${other?.id}/inputs`, token)).status).toBe(403);
    expect((await call(`/runner/jobs/${other?.id}/records`, token, { method: 'POST', body: '{"records":[]}' })).status).toBe(403);
    expect((await call('/trpc/jobs.list', token)).status).toBe(403);
    expect((await call('/trpc/system.health', token)).status).toBe(403);
    expect((await call(`/trpc/jobs.cancel`, token, { method: 'POST', body: JSON.stringify({ id: job.id }) })).status).toBe(403);
    await expect(createTrainyardClient({ url: server.url, token }).jobs.get.query({ id: job.id })).rejects.toThrow();
    expect((await call('/import/training-data', token, { method: 'POST', body: '{}', contentType: 'application/x-ndjson' })).status).toBe(403);
    expect((await call('/blob-batches', token, { method: 'POST', body: 'x', contentType: 'application/octet-stream' })).status).toBe(403);
    expect((await call('/uploads/x/1', token, { method: 'PUT', body: 'x', contentType: 'application/octet-stream' })).status).toBe(403);
    expect((await call('/blob-batches/read', token, { method: 'POST', body: '{}' })).status).toBe(403);
    expect((await call('/backup', token)).status).toBe(403);
    // A browser cannot sign in with it either.
    expect((await call('/session', token, { method: 'POST', body: JSON.stringify({ token }) })).status).toBe(401);
    // Strict bodies: unknown keys and oversized batches are refused.
    expect((await call(`/runner/jobs/${job.id}/records`, token, { method: 'POST', body: '{"records":[],"extra":1}' })).status).toBe(400);
    // Outputs: only blobs that are stored, only under job-relative names.
    const unstored = { path: 'output/model/m.bin', sha256: 'b'.repeat(64), size: 3 };
    expect((await call(`/runner/jobs/${job.id}/outputs`, token, { method: 'POST', body: JSON.stringify({ files: [unstored] }) })).status).toBe(412);
    const escaping = { ...unstored, path: '../../etc/passwd' };
    expect((await call(`/runner/jobs/${job.id}/outputs`, token, { method: 'POST', body: JSON.stringify({ files: [escaping] }) })).status).toBe(400);
    // The server's session token is no job token: the runner routes refuse it.
    expect((await call(`/runner/jobs/${job.id}/inputs`, server.token)).status).toBe(403);

    await client.jobs.cancel.mutate({ id: job.id });
    const cancelled = await waitForStatus(job.id, ['cancelled', 'failed'], 30_000);
    expect([cancelled.status, cancelled.error]).toEqual(['cancelled', null]);
    // The runner handed SIGTERM to the trainer, which stopped at the end of its epoch; the runner reported that and ended.
    expect(await logOf(job.id, 'stderr')).toMatch(/stderr line of epoch \d+/);
    expect(readFileSync(join(jobDir(job.id), 'logs', 'runner.log'), 'utf8')).toMatch(/trainer ended \(cancelled, /);
    expect((await call(`/runner/jobs/${job.id}/inputs`, token)).status).toBe(401);
    expect((await call(`/blobs/sha256/${channels[0]?.sha256}`, token)).status).toBe(401);
  }, 90_000);

  it('buffers records on disk while the server cannot be reached and catches up after, each exactly once', async () => {
    const job = await createJob('disconnected', { epochs: 12, stepDelayMs: 250 });
    await vi.waitFor(
      async () => {
        if ((await client.jobs.get.query({ id: job.id })).progress < 0.15) throw new Error('not started yet');
      },
      { timeout: 30_000, interval: 50 },
    );
    const buffer = join(runnerRecord(job.id).workDir, 'runner', 'records.ndjson');
    proxy.pause();
    proxy.dropConnections();
    const before = readFileSync(buffer, 'utf8').split('\n').length;
    // The trainer goes on; its records pile up in the runner's file while no connection gets through.
    await vi.waitFor(
      () => {
        if (readFileSync(buffer, 'utf8').split('\n').length < before + 12) throw new Error('not buffered yet');
      },
      { timeout: 20_000, interval: 100 },
    );
    const stalled = (await client.jobs.get.query({ id: job.id })).progress;
    expect(stalled).toBeLessThan(1);
    proxy.resume();
    expect(await waitForStatus(job.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded', exitCode: 0 });

    const metrics = await client.jobs.metrics.query({ jobId: job.id, names: ['train_loss'] });
    expect(metrics['train_loss']?.step).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(metrics['train_loss']?.total).toBe(12);
    const stdout = await logOf(job.id, 'stdout');
    for (let epoch = 1; epoch <= 12; epoch += 1) expect(stdout.split(`stdout line of epoch ${epoch}\n`)).toHaveLength(2);
  }, 90_000);

  it('a server killed mid-run: the runner goes on and buffers, the restarted server re-attaches to it, nothing is recorded twice', async () => {
    const job = await createJob('server restart', { epochs: 16, stepDelayMs: 250 }, { targetModel: 'restart-model' });
    await vi.waitFor(
      async () => {
        if ((await client.jobs.get.query({ id: job.id })).progress < 0.15) throw new Error('not started yet');
      },
      { timeout: 30_000, interval: 50 },
    );
    const { pid: runnerPid, workDir } = runnerRecord(job.id);
    const buffer = join(workDir, 'runner', 'records.ndjson');
    server.child.kill('SIGKILL');
    await server.exited;
    const before = readFileSync(buffer, 'utf8').split('\n').length;
    await vi.waitFor(
      () => {
        if (readFileSync(buffer, 'utf8').split('\n').length < before + 8) throw new Error('not buffered yet');
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(isProcessAlive(runnerPid)).toBe(true);
    server = await startServerProcess(serverEnv());
    client = createTrainyardClient({ url: server.url, token: server.token });
    const done = await waitForStatus(job.id, ['succeeded', 'failed']);
    expect([done.status, done.error, done.exitCode, done.attempt]).toEqual(['succeeded', null, 0, 1]);
    const metrics = await client.jobs.metrics.query({ jobId: job.id, names: ['train_loss'] });
    expect(metrics['train_loss']?.step).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    const stdout = await logOf(job.id, 'stdout');
    for (let epoch = 1; epoch <= 16; epoch += 1) expect(stdout.split(`stdout line of epoch ${epoch}\n`)).toHaveLength(2);
    expect((await client.models.getVersion.query({ model: 'restart-model', ref: { alias: 'latest' } })).trainingJobId).toBe(job.id);
    expect(existsSync(workDir)).toBe(false);
  }, 120_000);

  it('a server stopped gracefully leaves the runner running; the next start re-attaches and the job completes', async () => {
    const job = await createJob('server stop', { epochs: 12, stepDelayMs: 250 });
    await vi.waitFor(
      async () => {
        if ((await client.jobs.get.query({ id: job.id })).progress < 0.15) throw new Error('not started yet');
      },
      { timeout: 30_000, interval: 50 },
    );
    const { pid: runnerPid } = runnerRecord(job.id);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(isProcessAlive(runnerPid)).toBe(true);
    server = await startServerProcess(serverEnv());
    client = createTrainyardClient({ url: server.url, token: server.token });
    const done = await waitForStatus(job.id, ['succeeded', 'failed']);
    expect([done.status, done.error, done.attempt]).toEqual(['succeeded', null, 1]);
    const stdout = await logOf(job.id, 'stdout');
    for (let epoch = 1; epoch <= 12; epoch += 1) expect(stdout.split(`stdout line of epoch ${epoch}\n`)).toHaveLength(2);
  }, 120_000);

  it('a runner refuses a channel whose bytes do not hash to what the server named; the trainer never runs', async () => {
    corruptBlobs = true;
    try {
      const job = await createJob('corrupt channel', { epochs: 1 });
      const failed = await waitForStatus(job.id, ['failed', 'succeeded']);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/channel train: SHA-256 [0-9a-f]{64} .* is not the [0-9a-f]{64} .* the server named; refused/);
      expect(await logOf(job.id, 'stderr')).toMatch(/\[runner\] channel train: SHA-256/);
      expect(await logOf(job.id, 'stdout')).not.toContain('probe trainer');
    } finally {
      corruptBlobs = false;
    }
  }, 90_000);
});
