import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJobInput } from '@trainyard/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrchestratorHarness } from './test-fixtures/orchestrator-harness';

/** What a trainer leaves behind: reported artifacts, metric values, checkpoints, its input data. */
type Harness = Awaited<ReturnType<typeof createOrchestratorHarness>>;
let h: Harness;
const fixture = (name: string): string => fileURLToPath(new URL(`./test-fixtures/${name}`, import.meta.url));
const commandJob = (script: string, input: Record<string, unknown> = {}) =>
  createJobInput.parse({ name: `${script} job`, trainer: { kind: 'command', command: [process.execPath, fixture(script)] }, ...input });

beforeAll(async () => {
  h = await createOrchestratorHarness();
  await h.orchestrator.start();
});
afterAll(() => h?.close());

describe('artifact events', () => {
  it('attaches reported artifacts to the version with their kind', async () => {
    const created = await h.jobs.create(commandJob('artifact-trainer.mjs', { targetModel: 'artifact-model' }));
    const done = await h.waitFor(created.id, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    const version = await h.versions.get('artifact-model', { alias: 'latest' });
    const attached = await h.artifacts.list({ modelVersionId: version.id, limit: 50 });
    expect(attached.items.map((a) => `${a.type}:${a.name}`).sort()).toEqual([
      'metadata:extras/odd.txt', 'metadata:extras/run-info.json', 'model:output/model/model.bin', 'tokenizer:extras/tokenizer.json',
    ]);
    expect([...version.artifactIds].sort()).toEqual(attached.items.map((a) => a.id).sort());
    const events = readFileSync(join(h.workspace.dirOf(created.id), 'logs', 'events.log'), 'utf8');
    expect(events).toContain('warning: artifact extras/odd.txt has an unknown kind "weird"');
    expect(events).toContain('warning: artifact ../../etc/passwd is not a file inside the job directory; not kept');
  });
});

describe('NaN and Infinity metric values', () => {
  it('counts the points a Python trainer wrote as NaN/Infinity, keeps the rest of their lines, and says so on the job', async () => {
    const created = await h.jobs.create(
      createJobInput.parse({ name: 'nan job', trainer: { kind: 'command', command: ['python3', fixture('nan-trainer.py')] } }),
    );
    const done = await h.waitFor(created.id, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    expect(done.progressMessage).toBe('2 malformed event lines skipped, 4 non-finite metric values (NaN/Infinity) skipped');
    const series = await h.jobs.metrics(created.id, ['loss', 'acc'], 100);
    expect(series['loss']).toMatchObject({ step: [2], value: [0.5] });
    expect(series['acc']).toMatchObject({ step: [1, 3], value: [0.5, 0.7] });
    const events = readFileSync(join(h.workspace.dirOf(created.id), 'logs', 'events.log'), 'utf8');
    expect(events).toContain('info: loss was NaN at step 1, Infinity at step 3');
    expect(events).toMatch(/skipped malformed event \(NaN\/Infinity \(not JSON\) read as null; fraction: .*\): \{"type": "progress", "fraction": NaN\}/);
    expect(events).toMatch(/skipped malformed event \(not JSON: .*\): \{"type": "log", "message": "NaN", oops\}/);
    expect(events).toContain('4 non-finite metric values (NaN/Infinity) skipped: JSON has no NaN or Infinity; send null or leave the point out');
  });
});

describe('checkpoint retention', () => {
  const checkpointArtifacts = async (jobId: string) =>
    (await h.artifacts.list({ trainingJobId: jobId, type: 'checkpoint', limit: 50 })).items.map((a) => a.name).sort();

  it('keeps the last N and the best checkpoint: older files deleted as the run goes, only the kept ones become artifacts', async () => {
    const created = await h.jobs.create(commandJob('checkpoint-trainer.mjs', { checkpoints: { keepLast: 2, keepBest: { metric: 'val_loss', mode: 'min' } } }));
    expect(await h.waitFor(created.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded' });
    const dir = h.workspace.dirOf(created.id);
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['epoch-2.bin', 'epoch-5.bin', 'epoch-6.bin', 'notes.txt']);
    expect(await checkpointArtifacts(created.id)).toEqual(['checkpoints/epoch-2.bin', 'checkpoints/epoch-5.bin', 'checkpoints/epoch-6.bin']);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoints.json'), 'utf8'))).toMatchObject({
      entries: [{ path: 'checkpoints/epoch-2.bin', step: 2, score: 0.2 }, { path: 'checkpoints/epoch-5.bin' }, { path: 'checkpoints/epoch-6.bin' }],
    });
  });

  it('keeps the last 3 by default', async () => {
    const created = await h.jobs.create(createJobInput.parse({ name: 'six epochs', trainer: { kind: 'builtin', name: 'example' }, hyperparameters: { epochs: 6 } }));
    expect(await h.waitFor(created.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded' });
    expect(readdirSync(join(h.workspace.dirOf(created.id), 'checkpoints')).sort()).toEqual(['epoch-4.json', 'epoch-5.json', 'epoch-6.json']);
    expect(await checkpointArtifacts(created.id)).toEqual(['checkpoints/epoch-4.json', 'checkpoints/epoch-5.json', 'checkpoints/epoch-6.json']);
    expect((await h.jobs.get(created.id)).checkpointPolicy).toEqual({ keepLast: 3 });
  });

  it('refuses a policy out of bounds or with unknown keys', () => {
    const base = { name: 'x', trainer: { kind: 'builtin', name: 'example' } };
    expect(createJobInput.safeParse({ ...base, checkpoints: { keepLast: 0 } }).success).toBe(false);
    expect(createJobInput.safeParse({ ...base, checkpoints: { keepLast: 1_001 } }).success).toBe(false);
    expect(createJobInput.safeParse({ ...base, checkpoints: { keepLast: 2, everything: true } }).success).toBe(false);
    expect(createJobInput.safeParse({ ...base, checkpoints: { keepBest: { metric: 'loss', mode: 'lowest' } } }).success).toBe(false);
    expect(createJobInput.parse(base).checkpoints).toEqual({ keepLast: 3 });
  });
});
