import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createJobInput, type TrainerIdentity } from '@trainyard/contracts';
import { installPath } from '@trainyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createReproductionService } from './reproduction.service';
import { createOrchestratorHarness } from './test-fixtures/orchestrator-harness';
import { createTrainerCatalog, PYTHON_SDK_DIR, type NodeBuiltinTrainer } from './trainer-catalog';

type Harness = Awaited<ReturnType<typeof createOrchestratorHarness>>;
let h: Harness;
let dir: string;

/** A built-in Node trainer whose default scale is written in its code, as a real trainer's schema is in its build. */
const writeTrainer = (defaultScale: number): void =>
  writeFileSync(
    join(dir, 'fake-trainer.mjs'),
    `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const DEFAULT_SCALE = ${defaultScale};
const jobDir = process.env.TRAINYARD_JOB_DIR;
const hp = JSON.parse(readFileSync(join(jobDir, 'input', 'config', 'hyperparameters.json'), 'utf8'));
mkdirSync(join(jobDir, 'output', 'model'), { recursive: true });
writeFileSync(join(jobDir, 'output', 'model', 'model.txt'), String((hp.scale ?? DEFAULT_SCALE) * hp.seed));
writeFileSync(3, JSON.stringify({ type: 'metric', name: 'loss', step: 1, value: 0.5 }) + '\\n');
`,
  );
const fakeTrainer = (schema: z.ZodType<Record<string, unknown>>): NodeBuiltinTrainer => ({
  name: 'fake',
  description: 'a built-in for reproduction tests',
  hyperparameters: schema,
  nodeArgs: [join(dir, 'fake-trainer.mjs')],
});
const schemaV1 = z.strictObject({ seed: z.number().default(42), scale: z.number().default(1) });
const serviceOf = (harness: Harness, catalog = createTrainerCatalog([fakeTrainer(schemaV1)])) =>
  createReproductionService({ jobs: harness.jobs, versions: harness.versions, artifacts: harness.artifacts, snapshots: harness.snapshots, catalog });

beforeAll(async () => {
  mkdirSync(installPath('tmp'), { recursive: true });
  dir = mkdtempSync(join(installPath('tmp'), 'reproduction-'));
  writeTrainer(1);
  h = await createOrchestratorHarness({ catalog: createTrainerCatalog([fakeTrainer(schemaV1)]) });
  await h.orchestrator.start();
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

const train = async (input: Record<string, unknown>) => {
  const created = await h.jobs.create(createJobInput.parse(input));
  const done = await h.waitFor(created.id, ['succeeded', 'failed']);
  expect(done.status, done.error ?? '').toBe('succeeded');
  return done;
};

describe('jobs.reproduce: what differs is named and refused', () => {
  it("a built-in whose code changed (here: a hyperparameter's default): refused naming the code and its file; allowed, it runs and reports the differences", async () => {
    await train({ name: 'fake v1', trainer: { kind: 'builtin', name: 'fake' }, targetModel: 'fake-model' });
    const service = serviceOf(h);
    const same = await service.reproduce({ model: 'fake-model', version: 1 });
    expect(same).toMatchObject({ refused: false, differences: [] });
    await h.waitFor(same.jobId ?? '', ['succeeded']);
    expect(await service.report(same.jobId ?? '')).toMatchObject({ identical: true, verdict: 'byte-identical' });

    writeTrainer(2);
    const refused = await service.reproduce({ model: 'fake-model', version: 1 });
    const file = `${dir.slice(installPath().length + 1)}/fake-trainer.mjs`;
    expect(refused).toMatchObject({ refused: true, jobId: null, differences: [{ field: 'code', message: expect.stringContaining(`(${file})`) }] });
    const anyway = await service.reproduce({ model: 'fake-model', version: 1, allowDifferent: true });
    expect(anyway.refused).toBe(false);
    await h.waitFor(anyway.jobId ?? '', ['succeeded']);
    // The recorded hyperparameters ran (scale 1, seed 42), so the bytes are the same; the changed code is reported beside them.
    expect(await service.report(anyway.jobId ?? '')).toMatchObject({ identical: true, differences: [{ field: 'code' }] });
    writeTrainer(1);
  });

  it('a hyperparameter the trainer here has and the recorded job did not: refused, naming it and its default', async () => {
    const catalogV2 = createTrainerCatalog([fakeTrainer(schemaV1.extend({ warmup: z.number().default(3) }))]);
    const refused = await serviceOf(h, catalogV2).reproduce({ model: 'fake-model', version: 1 });
    expect(refused.differences).toEqual([
      { field: 'hyperparameter:warmup', recorded: null, here: '3', message: 'hyperparameter warmup is new here (default 3)' },
    ]);
  });

  it('the Python SDK reports its package versions into the job; a recorded package version the interpreter here lacks is refused', async () => {
    writeFileSync(
      join(dir, 'sdk-trainer.py'),
      `import sys\nsys.path.insert(0, ${JSON.stringify(PYTHON_SDK_DIR)})\nfrom trainyard import Run\nwith Run() as run:\n    (run.model_dir / "model.txt").write_text("1")\n    run.metric("loss", 0.5, step=1)\n`,
    );
    const done = await train({ name: 'python', trainer: { kind: 'command', command: ['python3', join(dir, 'sdk-trainer.py')] }, targetModel: 'py-model' });
    const identity = done.trainerIdentity as unknown as TrainerIdentity;
    expect(identity.packages?.['python']).toMatch(/^3\.\d+\.\d+$/);
    const service = serviceOf(h);
    expect(await service.reproduce({ model: 'py-model', version: 1 })).toMatchObject({ refused: false, differences: [] });

    // As if trained on a machine with torch 1.13.1 and another Python: recorded there, compared with this interpreter.
    const other = { ...identity, packages: { ...identity.packages, python: '3.0.1', torch: '1.13.1' } };
    await h.database.sql.query(`UPDATE "TrainingJob" SET "trainerIdentity" = $2::jsonb WHERE "id" = $1`, [done.id, JSON.stringify(other)]);
    const refused = await service.reproduce({ model: 'py-model', version: 1 });
    expect(refused.refused).toBe(true);
    expect(refused.differences.map((d) => [d.field, d.recorded, d.message])).toEqual([
      ['package:python', '3.0.1', `python 3.0.1 here is ${identity.packages?.['python']}`],
      ['package:torch', '1.13.1', 'torch 1.13.1 is not installed here'],
    ]);
  });

  it('before it has run, the report is its state; a job recorded without an identity is a difference; a version without a job cannot be reproduced', async () => {
    const service = serviceOf(h);
    const queued = await service.reproduce({ model: 'fake-model', version: 1 });
    const early = await service.report(queued.jobId ?? '');
    expect(early).toMatchObject({ artifacts: null, identical: null, metrics: null, verdict: early.status });
    expect(['queued', 'running', 'validating']).toContain(early.status);
    await h.waitFor(queued.jobId ?? '', ['succeeded']);

    const version = await h.versions.get('fake-model', { version: 1 });
    await h.database.sql.query(`UPDATE "TrainingJob" SET "trainerIdentity" = NULL WHERE "id" = $1`, [version.trainingJobId]);
    expect((await service.reproduce({ model: 'fake-model', version: 1 })).differences.map((d) => d.field)).toEqual(['identity']);
    // One that does not read as an identity (another server wrote it): named, never a crash.
    await h.database.sql.query(`UPDATE "TrainingJob" SET "trainerIdentity" = $2::jsonb WHERE "id" = $1`, [
      version.trainingJobId,
      JSON.stringify({ kind: 'command', command: 'rm -rf /', files: 'none' }),
    ]);
    expect((await service.reproduce({ model: 'fake-model', version: 1 })).differences).toEqual([
      { field: 'identity', recorded: null, here: null, message: expect.stringContaining('the recorded trainer identity cannot be read') },
    ]);

    // Another executor is asked for as given: one this server does not run is refused as jobs.create refuses it.
    await expect(service.reproduce({ model: 'fake-model', version: 1, executor: 'slurm', allowDifferent: true })).rejects.toThrow(
      /The slurm executor is not enabled on this server/,
    );

    await h.models.register({ name: 'jobless', description: '', tags: [], metadata: {} }, 'test');
    await h.versions.create({ model: 'jobless', description: '', metrics: {}, tags: [], artifactIds: [], gate: [] }, 'test');
    await expect(service.reproduce({ model: 'jobless', version: 1 })).rejects.toThrow('jobless version 1 records no training job: there is nothing to re-run');
  });

  it('a fine-tuned version is reproduced from the same parent; one trained elsewhere from a parent not linked here is refused, naming it', async () => {
    await train({ name: 'base', trainer: { kind: 'builtin', name: 'fake' }, targetModel: 'tune-base' });
    const tuned = await train({
      name: 'tune',
      trainer: { kind: 'builtin', name: 'fake' },
      targetModel: 'tuned',
      parentVersion: { model: 'tune-base', version: 1 },
    });
    const base = await h.versions.get('tune-base', { version: 1 });
    const service = serviceOf(h);
    const again = await service.reproduce({ model: 'tuned', version: 1 });
    expect(again).toMatchObject({ refused: false, differences: [] });
    expect((await h.jobs.get(again.jobId ?? '')).parentVersionId).toBe(base.id);
    await h.waitFor(again.jobId ?? '', ['succeeded']);

    // As a pulled version holds it: no job here, the job and its parent (numbered there) in its lineage.
    const trainingJob = await h.jobs.configurationOf(tuned.id);
    const lineage = { datasetSnapshot: null, trainingJob, parentVersion: { model: 'tune-base', version: 7 } };
    await h.database.sql.query(`UPDATE "ModelVersion" SET "trainingJobId" = NULL, "provenance" = $2::jsonb WHERE "id" = $1`, [
      (await h.versions.get('tuned', { version: 1 })).id,
      JSON.stringify({ lineage }),
    ]);
    const refused = await service.reproduce({ model: 'tuned', version: 1 });
    expect(refused).toMatchObject({ refused: true, jobId: null });
    expect(refused.differences).toEqual([
      {
        field: 'parentVersion',
        recorded: 'tune-base@7',
        here: null,
        message: 'it was fine-tuned from tune-base version 7 where it was trained; here the job would start from scratch',
      },
    ]);
    // Run anyway: the report says it started from scratch beside its comparison.
    const anyway = await service.reproduce({ model: 'tuned', version: 1, allowDifferent: true });
    await h.waitFor(anyway.jobId ?? '', ['succeeded']);
    expect((await service.report(anyway.jobId ?? '')).differences.map((d) => d.field)).toContain('parentVersion');
  });

  it('a command whose program is not found here is refused', async () => {
    const done = await train({
      name: 'sh',
      trainer: { kind: 'command', command: ['sh', '-c', 'mkdir -p output/model && echo 1 > output/model/m.txt'] },
      targetModel: 'sh-model',
    });
    const command = (done.trainer as { command: string[] }).command;
    await h.database.sql.query(`UPDATE "TrainingJob" SET "trainer" = $2::jsonb WHERE "id" = $1`, [
      done.id,
      JSON.stringify({ kind: 'command', command: ['trainyard-no-such-program', ...command.slice(1)] }),
    ]);
    const refused = await serviceOf(h).reproduce({ model: 'sh-model', version: 1 });
    expect(refused.differences[0]).toMatchObject({ field: 'command', message: 'trainyard-no-such-program is not found here' });
  });
});
