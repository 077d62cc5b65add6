import { appendFileSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
      'metadata:extras/odd.txt',
      'metadata:extras/run-info.json',
      'model:output/model/model.bin',
      'tokenizer:extras/tokenizer.json',
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
      entries: [
        { key: 'checkpoints/epoch-2.bin', paths: ['checkpoints/epoch-2.bin'], step: 2, score: 0.2 },
        { key: 'checkpoints/epoch-5.bin', paths: ['checkpoints/epoch-5.bin'] },
        { key: 'checkpoints/epoch-6.bin', paths: ['checkpoints/epoch-6.bin'] },
      ],
    });
  });

  it('keeps the last 3 by default', async () => {
    const created = await h.jobs.create(
      createJobInput.parse({ name: 'six epochs', trainer: { kind: 'builtin', name: 'example' }, hyperparameters: { epochs: 6 } }),
    );
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

describe('input data shared between the jobs of a snapshot', () => {
  it('hard-links one read-only materialised copy per snapshot into each job, and writes a fresh one if that copy was damaged', async () => {
    await h.trainingData.collectBatch(
      Array.from({ length: 40 }, (_, i) => ({ aiText: `It is important to note that item ${i} is formal.`, humanizedText: `Item ${i} is casual, honestly.` })),
    );
    const snapshot = await h.snapshots.create({ name: 'shared', filter: {}, validationFraction: 0.25, seed: 3 });
    const expected = mkdtempSync(join(tmpdir(), 'trainyard-expected-'));
    await h.snapshots.materialise(snapshot.id, expected);
    const run = async () => {
      const created = await h.jobs.create(
        createJobInput.parse({
          name: 'on shared data',
          trainer: { kind: 'builtin', name: 'example' },
          datasetSnapshotId: snapshot.id,
          hyperparameters: { epochs: 1 },
        }),
      );
      expect(await h.waitFor(created.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded' });
      return join(h.workspace.dirOf(created.id), 'input', 'data');
    };
    const [first, second] = await Promise.all([run(), run()]);
    const cache = join(h.root, 'snapshots', snapshot.id);
    for (const channel of ['train', 'validation']) {
      const files = [join(first, channel, 'data.jsonl'), join(second, channel, 'data.jsonl'), join(cache, channel, 'data.jsonl')];
      const stats = files.map((file) => lstatSync(file));
      expect(stats.every((info) => info.isFile())).toBe(true); // regular files, not symlinks
      expect(new Set(stats.map((info) => info.ino)).size).toBe(1);
      expect(stats[0]?.nlink).toBe(3);
      expect(stats[0]?.mode.toString(8).slice(-3)).toBe('444');
      for (const file of files) expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(expected, channel, 'data.jsonl'), 'utf8'));
    }
    expect(
      readFileSync(join(first, 'train', 'data.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean),
    ).toHaveLength(snapshot.trainCount);

    // A trainer that wrote to its input anyway (root ignores the mode) damaged the shared copy: the next job gets a fresh one.
    appendFileSync(join(second, 'train', 'data.jsonl'), 'scribbled\n');
    const third = await run();
    expect(readFileSync(join(third, 'train', 'data.jsonl'), 'utf8')).toBe(readFileSync(join(expected, 'train', 'data.jsonl'), 'utf8'));
    expect(lstatSync(join(third, 'train', 'data.jsonl')).ino).not.toBe(lstatSync(join(first, 'train', 'data.jsonl')).ino);
    expect(lstatSync(join(third, 'train', 'data.jsonl')).ino).toBe(lstatSync(join(cache, 'train', 'data.jsonl')).ino);
    rmSync(expected, { recursive: true, force: true });
  });
});
