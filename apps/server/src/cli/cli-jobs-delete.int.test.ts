import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@trainyard/test-services';
import { describe, expect, it, vi } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';
import { EXIT } from './exit-codes';

// Grace 0: a blob nothing references any more is collected at once.
const t = useLocalTestServer({ TRAINYARD_GC_GRACE_MINUTES: '0' });
const files = mkdtempSync(join(tmpdir(), 'trainyard-cli-delete-'));

const trainyard = async (args: string[]) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: t.dataDir });
  const code = await run.exited;
  return { code, output: run.output() };
};

/** A trainer with a metric, a checkpoint and a model file; each run writes different bytes (its own blobs). */
const trainer = join(files, 'small-trainer.mjs');
writeFileSync(
  trainer,
  `import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.env.TRAINYARD_JOB_DIR;
const events = createWriteStream(null, { fd: 3 });
mkdirSync(join(dir, 'output/model'), { recursive: true });
mkdirSync(join(dir, 'checkpoints'), { recursive: true });
writeFileSync(join(dir, 'output/model/model.bin'), 'model of ' + dir);
writeFileSync(join(dir, 'checkpoints/c1.bin'), 'checkpoint of ' + dir);
events.write(JSON.stringify({ type: 'metric', name: 'loss', step: 1, value: 0.5 }) + '\\n');
events.write(JSON.stringify({ type: 'checkpoint', path: 'checkpoints/c1.bin', step: 1 }) + '\\n');
events.end(() => process.exit(0));
`,
);

const runJob = async (input: Record<string, unknown> = {}) => {
  const job = await t.client.jobs.create.mutate({ name: 'to delete', trainer: { kind: 'command', command: [process.execPath, trainer] }, ...input });
  return vi.waitFor(
    async () => {
      const current = await t.client.jobs.get.query({ id: job.id });
      if (current.status !== 'succeeded' && current.status !== 'failed') throw new Error(`job ${job.id} did not finish`);
      return current;
    },
    { timeout: 30_000, interval: 50 },
  );
};
const jobDir = (id: string) => join(t.dataDir, 'jobs', id);
const metricsDir = (id: string) => join(t.dataDir, 'metrics', id);

describe('deleting a job (real server, real trainer, the real CLI process)', () => {
  it('jobs.delete removes the job, its metrics, its directory and its artifacts; GC then collects their blobs', async () => {
    const job = await runJob();
    expect(job.status).toBe('succeeded');
    const artifacts = (await t.client.artifacts.list.query({ trainingJobId: job.id, limit: 10 })).items;
    expect(artifacts.map((a) => a.type).sort()).toEqual(['checkpoint', 'model']);
    expect(existsSync(jobDir(job.id)) && existsSync(metricsDir(job.id))).toBe(true);

    expect(await t.client.jobs.delete.mutate({ id: job.id })).toEqual({ deleted: true, id: job.id, artifactsDeleted: 2 });
    await expect(t.client.jobs.get.query({ id: job.id })).rejects.toThrow(/Training job not found/);
    expect(existsSync(jobDir(job.id))).toBe(false);
    expect(existsSync(metricsDir(job.id))).toBe(false);
    expect((await t.client.artifacts.list.query({ trainingJobId: job.id, limit: 10 })).items).toEqual([]);
    const gc = await t.client.artifacts.gc.mutate({ dryRun: false });
    expect(gc.unreferenced.map((blob) => blob.sha256)).toEqual(expect.arrayContaining(artifacts.map((a) => a.sha256)));
    await expect(t.client.jobs.delete.mutate({ id: job.id })).rejects.toThrow(/Training job not found/);
  }, 60_000);

  it('refuses a job that produced a model version, and one that has not finished', async () => {
    const job = await runJob({ targetModel: 'kept-model' });
    expect(job.status).toBe('succeeded');
    await expect(t.client.jobs.delete.mutate({ id: job.id })).rejects.toThrow(
      `Job ${job.id} produced kept-model version 1; it is kept for the version's lineage and artifacts`,
    );
    expect((await t.client.jobs.get.query({ id: job.id })).status).toBe('succeeded');
    expect(existsSync(jobDir(job.id))).toBe(true);

    const queued = await t.client.jobs.create.mutate({
      name: 'waits',
      trainer: { kind: 'command', command: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'] },
    });
    await expect(t.client.jobs.delete.mutate({ id: queued.id })).rejects.toThrow(
      /is (queued|running); only a finished job \(succeeded, failed or cancelled\) can be deleted: cancel it first/,
    );
    await t.client.jobs.cancel.mutate({ id: queued.id });
  }, 60_000);

  it('`trainyard jobs delete ID` deletes, and exits 6 for a job that produced a version, 5 for an unknown one', async () => {
    const job = await runJob();
    const deleted = await trainyard(['jobs', 'delete', job.id]);
    expect(deleted).toEqual({
      code: EXIT.OK,
      output: `Deleted job ${job.id} and 2 artifact records; blobs nothing else uses go at the next garbage collection\n`,
    });
    expect(existsSync(jobDir(job.id))).toBe(false);

    const versioned = await runJob({ targetModel: 'cli-kept-model' });
    const refused = await trainyard(['jobs', 'delete', versioned.id]);
    expect(refused.code).toBe(EXIT.CONFLICT);
    expect(refused.output).toContain(`Job ${versioned.id} produced cli-kept-model version 1; it is kept for the version's lineage and artifacts`);

    const unknown = await trainyard(['jobs', 'delete', job.id]);
    expect(unknown.code).toBe(EXIT.NOT_FOUND);
    expect(unknown.output).toContain('Training job not found');
  }, 90_000);
});
