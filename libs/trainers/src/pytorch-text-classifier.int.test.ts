import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createJobInput } from '@trainyard/contracts';
import { torchPython, torchUnavailableReason } from '@trainyard/test-services';
import { createTrainerCatalog } from '@trainyard/training';
import { createOrchestratorHarness } from '@trainyard/training/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pytorchTextClassifierTrainer } from './pytorch-text-classifier.builtin';
import { syntheticPairs } from './synthetic-pairs';
import { seededRandom } from './text-detector/logistic-regression';

const python = torchPython();
const skip = python ? undefined : torchUnavailableReason();

type Harness = Awaited<ReturnType<typeof createOrchestratorHarness>>;
let h: Harness;
let styleSnapshot: string;
let noiseSnapshot: string;

/** Small and quick: one thread each (the harness runs two jobs at once on 2 cores), 128 bytes per text. */
const small = { maxLength: 128, embeddingDim: 16, channels: 16, batchSize: 8, threads: 1, device: 'cpu' };

beforeAll(async () => {
  if (skip) return;
  h = await createOrchestratorHarness({
    catalog: createTrainerCatalog([pytorchTextClassifierTrainer], { python: { executable: python ?? 'python3' } }),
  });
  await h.trainingData.collectBatch(syntheticPairs(300, 1).map((pair) => ({ ...pair, tags: ['style'] })));
  // Pairs whose sides are swapped at random: the label says nothing a held-out text shows, so val_loss stops improving.
  const random = seededRandom(4);
  await h.trainingData.collectBatch(
    syntheticPairs(150, 2).map((pair) =>
      random() < 0.5 ? { ...pair, tags: ['noise'] } : { ...pair, aiText: pair.humanizedText, humanizedText: pair.aiText, tags: ['noise'] },
    ),
  );
  styleSnapshot = (await h.snapshots.create({ name: 'style', filter: { tags: ['style'] }, validationFraction: 0.2, seed: 3 })).id;
  noiseSnapshot = (await h.snapshots.create({ name: 'noise', filter: { tags: ['noise'] }, validationFraction: 0.3, seed: 3 })).id;
  await h.orchestrator.start();
});
afterAll(() => h?.close());

const train = (hyperparameters: Record<string, unknown>, more: Record<string, unknown> = {}) =>
  h.jobs.create(
    createJobInput.parse({
      name: 'pytorch',
      datasetSnapshotId: styleSnapshot,
      trainer: { kind: 'builtin', name: 'pytorch-text-classifier' },
      hyperparameters: { ...small, ...hyperparameters },
      ...more,
    }),
  );
const artifactsOf = async (jobId: string) => (await h.artifacts.list({ trainingJobId: jobId, limit: 50 })).items;
const modelSha = async (jobId: string, file: string) => (await artifactsOf(jobId)).find((a) => a.name === `output/model/${file}`)?.sha256;
const eventsLog = (jobId: string) => readFileSync(join(h.workspace.dirOf(jobId), 'logs', 'events.log'), 'utf8');

describe.skipIf(skip)(`pytorch-text-classifier trainer${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('is refused without a snapshot, or with hyperparameters out of bounds', async () => {
    const job = (more: Record<string, unknown>) =>
      createJobInput.parse({ name: 'pytorch', trainer: { kind: 'builtin', name: 'pytorch-text-classifier' }, ...more });
    await expect(h.jobs.create(job({}))).rejects.toThrow('Trainer pytorch-text-classifier needs a dataset snapshot with training pairs');
    await expect(h.jobs.create(job({ datasetSnapshotId: styleSnapshot, hyperparameters: { kernelSizes: [4] } }))).rejects.toThrow(
      'Invalid hyperparameters for pytorch-text-classifier: kernelSizes: kernel widths must be odd',
    );
  });

  it('trains 2 epochs: metrics per epoch, a checkpoint per epoch, a version holding model.onnx, scoring.json and model.pt', async () => {
    const job = await train({ epochs: 2, seed: 5 }, { targetModel: 'pytorch-detector' });
    const done = await h.waitFor(job.id, ['succeeded', 'failed'], 60_000);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'succeeded', progress: 1 });
    expect((done.finalMetrics as Record<string, number>)['val_accuracy']).toBeGreaterThan(0.9);
    const series = await h.jobs.metrics(job.id, ['train_loss', 'val_loss', 'val_accuracy', 'val_auc'], 100);
    for (const name of ['train_loss', 'val_loss', 'val_accuracy', 'val_auc']) expect(series[name]?.step, name).toEqual([1, 2]);
    const artifacts = await artifactsOf(job.id);
    expect(artifacts.map((a) => `${a.type}:${a.name}`).sort()).toEqual([
      'checkpoint:checkpoints/epoch-0001/state.pt',
      'checkpoint:checkpoints/epoch-0002/state.pt',
      'model:output/model/model.onnx',
      'model:output/model/model.pt',
      'model:output/model/scoring.json',
    ]);
    const version = await h.versions.get('pytorch-detector', { alias: 'latest' });
    expect(version.trainingJobId).toBe(job.id);
    expect(version.artifactIds.sort()).toEqual(
      artifacts
        .filter((a) => a.type === 'model')
        .map((a) => a.id)
        .sort(),
    );
    const scoring = JSON.parse(readFileSync(join(h.workspace.dirOf(job.id), 'output', 'model', 'scoring.json'), 'utf8')) as unknown;
    expect(scoring).toEqual({
      format: 'onnx',
      input: { name: 'input_ids', encoding: 'utf8-bytes', maxLength: 128 },
      output: { name: 'probability', kind: 'probability' },
    });
  });

  it('is reproducible with a seed: a job cancelled mid-training then retried ends with the same weights as one never interrupted', async () => {
    const hyperparameters = { epochs: 8, patience: 8, seed: 9 };
    const interrupted = await train(hyperparameters);
    const straight = await train(hyperparameters);
    const other = await train({ ...hyperparameters, seed: 10 });
    await h.waitFor(interrupted.id, ['running']);
    const firstEpoch = join(h.workspace.dirOf(interrupted.id), 'checkpoints', 'epoch-0001');
    for (let i = 0; i < 2_000 && !existsSync(firstEpoch); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await h.jobs.cancel(interrupted.id);
    // Seven epochs were left: the cancel lands mid-training, the trainer checkpoints and exits.
    expect((await h.waitFor(interrupted.id, ['cancelled', 'succeeded', 'failed'], 60_000)).status).toBe('cancelled');
    expect(eventsLog(interrupted.id)).not.toMatch(/resuming/);
    expect(eventsLog(interrupted.id)).toMatch(/stop requested: checkpoint epoch-000\d/);
    await h.jobs.retry(interrupted.id);
    const resumed = await h.waitFor(interrupted.id, ['succeeded', 'failed'], 60_000);
    expect(resumed.error).toBeNull();
    expect(eventsLog(interrupted.id)).toMatch(/resuming from checkpoint epoch-000\d/);

    // Two processes, one of them interrupted, same seed and data: byte-identical model files.
    expect((await h.waitFor(straight.id, ['succeeded', 'failed'], 60_000)).status).toBe('succeeded');
    const reference = await modelSha(straight.id, 'model.pt');
    expect(reference).toBeDefined();
    expect(await modelSha(interrupted.id, 'model.pt')).toBe(reference);
    expect(await modelSha(interrupted.id, 'model.onnx')).toBe(await modelSha(straight.id, 'model.onnx'));
    expect((await h.waitFor(other.id, ['succeeded', 'failed'], 60_000)).status).toBe('succeeded');
    expect(await modelSha(other.id, 'model.pt')).not.toBe(reference); // another seed, other weights
  });

  it('stops early when val_loss stops improving, and exports the best epoch', async () => {
    const job = await h.jobs.create(
      createJobInput.parse({
        name: 'pytorch-noise',
        datasetSnapshotId: noiseSnapshot,
        trainer: { kind: 'builtin', name: 'pytorch-text-classifier' },
        hyperparameters: { ...small, epochs: 30, patience: 1, learningRate: 0.01, seed: 3 },
        // Each epoch's checkpoint comes after its metrics, so keepBest keeps the best epoch's own checkpoint.
        checkpoints: { keepLast: 1, keepBest: { metric: 'val_loss', mode: 'min' } },
      }),
    );
    const done = await h.waitFor(job.id, ['succeeded', 'failed'], 60_000);
    expect(done.status).toBe('succeeded');
    const valLoss = (await h.jobs.metrics(job.id, ['val_loss'], 100))['val_loss'];
    const epochs = Math.max(...(valLoss?.step ?? []));
    expect(epochs).toBeLessThan(30);
    const match = /early stopping after epoch (\d+): val_loss has not improved for 1 epochs; keeping epoch (\d+)/.exec(eventsLog(job.id));
    expect(Number(match?.[1])).toBe(epochs);
    // The best epoch's metrics come last: they are the job's final metrics (and the version's).
    const perEpoch = valLoss?.value.slice(0, epochs) ?? [];
    expect((done.finalMetrics as Record<string, number>)['val_loss']).toBe(Math.min(...perEpoch));
    const best = perEpoch.indexOf(Math.min(...perEpoch)) + 1;
    expect(best).toBe(Number(match?.[2]));
    const kept = (await artifactsOf(job.id)).filter((a) => a.type === 'checkpoint').map((a) => a.name);
    const name = (epoch: number) => `checkpoints/epoch-${String(epoch).padStart(4, '0')}/state.pt`;
    expect(kept.sort()).toEqual([name(best), name(epochs)]);
  });
});
