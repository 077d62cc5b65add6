import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJobInput, createVersionInput } from '@trainyard/contracts';
import { isDomainError } from '@trainyard/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOrchestratorHarness } from './test-fixtures/orchestrator-harness';

type Harness = Awaited<ReturnType<typeof createOrchestratorHarness>>;
let h: Harness;
let snapshotId: string;
const fixture = (name: string): string => fileURLToPath(new URL(`./test-fixtures/${name}`, import.meta.url));
const job = (input: Record<string, unknown>) => createJobInput.parse({ name: 'test job', trainer: { kind: 'builtin', name: 'example' }, ...input });
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2]?.startsWith('Z');
  } catch {
    return false;
  }
};

beforeAll(async () => {
  h = await createOrchestratorHarness();
  await h.trainingData.collectBatch(
    Array.from({ length: 50 }, (_, i) => ({
      aiText: `It is important to note that sample ${i} is formal.`,
      humanizedText: `Sample ${i} is pretty casual, honestly.`,
    })),
  );
  snapshotId = (await h.snapshots.create({ name: 'fifty', filter: {}, validationFraction: 0.2, seed: 1 })).id;
  await h.orchestrator.start();
});
afterAll(() => h?.close());

describe('orchestrator with the local executor', () => {
  it('runs a trainer end to end: channels, metrics, artifacts, gate, version with lineage', async () => {
    const created = await h.jobs.create(
      job({
        datasetSnapshotId: snapshotId,
        hyperparameters: { epochs: 3 },
        targetModel: 'example-model',
        validation: [{ metric: 'val_accuracy', op: '>=', value: 0.9 }],
      }),
    );
    const done = await h.waitFor(created.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1, progress: 1, finalMetrics: { train_loss: 0.25, val_accuracy: 0.99 } });
    expect(readFileSync(join(h.workspace.dirOf(created.id), 'logs', 'stdout.log'), 'utf8')).toMatch(/starting at epoch 1 of 3[\s\S]*done/);
    const snapshot = await h.snapshots.get(snapshotId);
    expect(readFileSync(join(h.workspace.dirOf(created.id), 'logs', 'events.log'), 'utf8')).toContain(
      `${snapshot.trainCount} training and ${snapshot.validationCount} validation lines`,
    );
    const version = await h.versions.get('example-model', { alias: 'latest' });
    expect(version).toMatchObject({ version: 1, trainingJobId: created.id, datasetSnapshotId: snapshotId, metrics: { val_accuracy: 0.99 } });
    const artifacts = await h.artifacts.list({ trainingJobId: created.id, limit: 50 });
    expect(artifacts.items.map((a) => `${a.type}:${a.name}`).sort()).toEqual([
      'checkpoint:checkpoints/epoch-1.json',
      'checkpoint:checkpoints/epoch-2.json',
      'checkpoint:checkpoints/epoch-3.json',
      'model:output/model/model.json',
    ]);
    expect(version.artifactIds).toEqual(artifacts.items.filter((a) => a.type === 'model').map((a) => a.id));
    const series = await h.jobs.metrics(created.id, undefined, 100);
    expect(series['train_loss']?.step).toEqual([1, 2, 3]);
  });

  it('fine-tunes from a parent version: the job keeps its id, the new version names it by model and number', async () => {
    await h.models.register({ name: 'fine-tune-base', description: '', tags: [], metadata: {} }, 'test');
    const parent = await h.versions.create(createVersionInput.parse({ model: 'fine-tune-base' }), 'test');
    const created = await h.jobs.create(
      job({ hyperparameters: { epochs: 1 }, targetModel: 'example-tuned', parentVersion: { model: 'fine-tune-base', version: parent.version } }),
    );
    expect(created.parentVersionId).toBe(parent.id);
    expect((await h.waitFor(created.id, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect((await h.versions.get('example-tuned', { alias: 'latest' })).parentVersion).toEqual({ model: 'fine-tune-base', version: parent.version });
  });

  it('fails a job whose metrics miss the gate, with the report and no version', async () => {
    const created = await h.jobs.create(
      job({ hyperparameters: { epochs: 1 }, targetModel: 'gated-model', validation: [{ metric: 'val_accuracy', op: '>=', value: 0.999 }] }),
    );
    const done = await h.waitFor(created.id, ['succeeded', 'failed']);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/validation gate failed/);
    expect(done.validationReport).toMatchObject({ passed: false, results: [{ observed: 0.99, threshold: 0.999, passed: false }] });
    expect(done.modelVersionId).toBeNull();
    expect(isDomainError(await h.versions.get('gated-model', { alias: 'latest' }).catch((e: unknown) => e))).toBe(true);
  });

  it('rejects unknown trainers and invalid hyperparameters before queueing anything', async () => {
    const unknown = await h.jobs.create(job({ trainer: { kind: 'builtin', name: 'nope' } })).catch((e: unknown) => e);
    expect(isDomainError(unknown) && unknown.message).toMatch(/Unknown trainer nope; available: example/);
    const invalid = await h.jobs.create(job({ hyperparameters: { epochs: -1, surprise: true } })).catch((e: unknown) => e);
    expect(isDomainError(invalid) && invalid.message).toMatch(/Invalid hyperparameters for example: epochs: .*; Unrecognized key/);
    expect((await h.jobs.list({ limit: 200 })).items.every((j) => j.name === 'test job')).toBe(true);
  });

  it('fails a command that does not exist, with the reason', async () => {
    const created = await h.jobs.create(job({ trainer: { kind: 'command', command: ['/no/such/trainer-binary'] }, maxAttempts: 3 }));
    const done = await h.waitFor(created.id, ['failed']);
    expect(done.error).toBe('command not found: /no/such/trainer-binary');
    expect(done.attempt).toBe(1); // not retried: it cannot start
  });

  it('logs and skips malformed event lines without failing the job', async () => {
    const created = await h.jobs.create(job({ trainer: { kind: 'command', command: [process.execPath, fixture('garbage-trainer.mjs')] } }));
    const done = await h.waitFor(created.id, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    const events = readFileSync(join(h.workspace.dirOf(created.id), 'logs', 'events.log'), 'utf8');
    expect(events).toMatch(/skipped malformed event \(not JSON/);
    expect(events).toMatch(/event line longer than/);
    expect((await h.jobs.metrics(created.id, ['loss'], 10_000))['loss']?.total).toBe(2_001);
  });

  it('takes 10 million metric points from one trainer, stores all of them and still answers a chart query', async () => {
    const created = await h.jobs.create(job({ trainer: { kind: 'command', command: [process.execPath, fixture('metric-flood-trainer.mjs'), '10000000'] } }));
    const done = await h.waitFor(created.id, ['succeeded', 'failed'], 120_000);
    expect(done.status).toBe('succeeded');
    const series = await h.jobs.metrics(created.id, ['loss'], 2_000);
    expect(series['loss']?.total).toBe(10_000_000);
    expect(series['loss']?.value.length).toBeLessThanOrEqual(2_000);
  }, 180_000);

  it('cancels a trainer that ignores SIGTERM and forks: SIGKILL after the grace period, no orphan left', async () => {
    const created = await h.jobs.create(job({ trainer: { kind: 'command', command: [process.execPath, fixture('stubborn-trainer.mjs')] } }));
    await h.waitFor(created.id, ['running']);
    const pidsFile = join(h.workspace.dirOf(created.id), 'pids.json');
    await vi.waitFor(() => expect(existsSync(pidsFile)).toBe(true), { timeout: 5_000, interval: 50 });
    const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as { trainer: number; child: number };
    await h.jobs.cancel(created.id);
    const done = await h.waitFor(created.id, ['cancelled', 'failed']);
    expect(done.status).toBe('cancelled');
    expect(readFileSync(join(h.workspace.dirOf(created.id), 'logs', 'stdout.log'), 'utf8')).toMatch(/ignoring SIGTERM/);
    expect(alive(pids.trainer)).toBe(false);
    expect(alive(pids.child)).toBe(false);
    const error = await h.jobs.cancel(created.id).catch((e: unknown) => e);
    expect(isDomainError(error) && error.message).toBe('A cancelled job cannot become cancelled');
  });

  it('retries a failed attempt with backoff and resumes from its latest checkpoint', async () => {
    const created = await h.jobs.create(job({ hyperparameters: { epochs: 3, failAtEpoch: 2 }, maxAttempts: 2 }));
    const done = await h.waitFor(created.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    const stdout = readFileSync(join(h.workspace.dirOf(created.id), 'logs', 'stdout.log'), 'utf8');
    expect(stdout).toMatch(/starting at epoch 1 of 3[\s\S]*starting at epoch 2 of 3/);
  });

  it('exit 75 asks to be run again: an attempt, retried at once (no backoff); TRAINYARD_ATTEMPT says which', async () => {
    const trainer = { kind: 'command', command: [process.execPath, '-e', 'process.exit(process.env.TRAINYARD_ATTEMPT === "1" ? 75 : 0)'] };
    const created = await h.jobs.create(job({ trainer, maxAttempts: 2 }));
    const statuses: Array<{ status: string; error?: string | null; at: number }> = [];
    const unsubscribe = h.bus.subscribe(created.id, (event) => {
      if (event.type === 'status') statuses.push({ status: event.status, error: event.error ?? null, at: Date.now() });
    });
    try {
      const done = await h.waitFor(created.id, ['succeeded', 'failed']);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
      const requeued = statuses.find((event) => event.status === 'queued');
      expect(requeued?.error).toMatch(/exited with code 75.*asked to be run again/);
      // Started again at once, not held back by the 1 s backoff of an ordinary failure (notBefore gates a claim).
      const again = statuses.find((event) => event.status === 'running' && event.at >= (requeued?.at ?? Infinity));
      expect((again?.at ?? Infinity) - (requeued?.at ?? 0)).toBeLessThan(900);
    } finally {
      unsubscribe();
    }
  });

  it('answers a duplicate idempotency key with the existing job', async () => {
    const first = await h.jobs.create(job({ idempotencyKey: 'nightly-2026-11-26', hyperparameters: { epochs: 1 } }));
    const again = await h.jobs.create(job({ idempotencyKey: 'nightly-2026-11-26', hyperparameters: { epochs: 5 } }));
    expect(again).toMatchObject({ id: first.id, existing: true });
    await h.waitFor(first.id, ['succeeded']);
  });

  it('fails a job whose dataset snapshot was deleted, saying so', async () => {
    const snapshot = await h.snapshots.create({ name: 'doomed', filter: {}, validationFraction: 0.1, seed: 9 });
    await h.orchestrator.stop();
    const created = await h.jobs.create(job({ datasetSnapshotId: snapshot.id }));
    await h.database.sql.query(`DELETE FROM "DatasetSnapshot" WHERE "id" = $1`, [snapshot.id]);
    await h.orchestrator.start();
    const done = await h.waitFor(created.id, ['failed']);
    expect(done.error).toMatch(new RegExp(`Dataset snapshot ${snapshot.id} could not be read: Dataset snapshot not found`));
  });

  it('fences results: a worker that lost its lease stops and records nothing', async () => {
    const created = await h.jobs.create(job({ hyperparameters: { epochs: 50, stepDelayMs: 100 } }));
    await h.waitFor(created.id, ['running']);
    // Another owner takes the job over (as after a lease expiry elsewhere).
    await h.database.sql.query(`UPDATE "TrainingJob" SET "leaseToken" = 'someone-else', "leaseOwner" = 'other' WHERE "id" = $1`, [created.id]);
    await vi.waitFor(() => expect(h.orchestrator.runningJobs()).not.toContain(created.id), { timeout: 5_000, interval: 50 });
    const after = await h.jobs.get(created.id);
    expect(after).toMatchObject({ status: 'running', leaseOwner: 'other', modelVersionId: null });
    expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain(h.workspace.dirOf(created.id));
  });
});
