import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { createJobInput } from '@trainyard/contracts';
import { createTrainerCatalog } from '@trainyard/training';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrchestratorHarness } from '@trainyard/training/testing';
import { syntheticPairs } from './synthetic-pairs';
import { loadDetector } from './text-detector/detector';
import { textDetectorTrainer } from './text-detector.builtin';

type Harness = Awaited<ReturnType<typeof createOrchestratorHarness>>;
let h: Harness;
let snapshotId: string;

beforeAll(async () => {
  h = await createOrchestratorHarness({ catalog: createTrainerCatalog([textDetectorTrainer]) });
  await h.trainingData.collectBatch(syntheticPairs(600, 1));
  snapshotId = (await h.snapshots.create({ name: 'synthetic', filter: {}, validationFraction: 0.2, seed: 3 })).id;
  await h.orchestrator.start();
});
afterAll(() => h?.close());

const train = async (hyperparameters: Record<string, unknown>) => {
  const created = await h.jobs.create(
    createJobInput.parse({ name: 'detector', datasetSnapshotId: snapshotId, trainer: { kind: 'builtin', name: 'text-detector' }, hyperparameters }),
  );
  return created;
};
const modelFiles = async (jobId: string) => {
  const artifacts = (await h.artifacts.list({ trainingJobId: jobId, type: 'model', limit: 10 })).items;
  const byName = new Map(artifacts.map((a) => [a.name, a]));
  const config = byName.get('output/model/config.json');
  const weights = byName.get('output/model/model.bin');
  if (!config || !weights) throw new Error('model files missing');
  return {
    config,
    weights,
    detector: loadDetector((await buffer(await h.blobs.read(config.sha256))).toString(), await buffer(await h.blobs.read(weights.sha256))),
  };
};

describe('text-detector trainer', () => {
  it('learns to tell the classes apart on held-out data, far above the majority baseline', async () => {
    const job = await train({ epochs: 4, hashBits: 14, seed: 5 });
    const done = await h.waitFor(job.id, ['succeeded', 'failed'], 120_000);
    expect(done.status).toBe('succeeded');
    const final = done.finalMetrics as Record<string, number>;
    expect(final['val_accuracy']).toBeGreaterThan(0.9);
    expect(final['val_auc']).toBeGreaterThan(0.95);
    const { detector, weights } = await modelFiles(job.id);
    expect(weights.size).toBe(2 ** 14 * 4);
    const heldOut = syntheticPairs(200, 999); // a different seed: pairs the model never saw
    const aiScores = detector.score(heldOut.map((p) => p.aiText));
    const humanScores = detector.score(heldOut.map((p) => p.humanizedText));
    const correct = aiScores.filter((s) => s >= 0.5).length + humanScores.filter((s) => s < 0.5).length;
    expect(correct / 400).toBeGreaterThan(0.9); // majority baseline: 0.5
    const series = await h.jobs.metrics(job.id, ['train_loss', 'val_loss', 'val_accuracy', 'val_auc'], 100);
    expect(series['val_loss']?.step.slice(0, 4)).toEqual([1, 2, 3, 4]);
  });

  it('is deterministic, and resumes exactly from a checkpoint taken on SIGTERM', async () => {
    // Long enough (12 epochs) that a cancel lands mid-training even on a busy machine.
    const hyperparameters = { epochs: 12, patience: 12, hashBits: 12, seed: 9, batchSize: 8 };
    const straight = await train(hyperparameters);
    const again = await train(hyperparameters);
    await h.waitFor(straight.id, ['succeeded'], 120_000);
    await h.waitFor(again.id, ['succeeded'], 120_000);
    const reference = (await modelFiles(straight.id)).weights.sha256;
    expect((await modelFiles(again.id)).weights.sha256).toBe(reference);

    const interrupted = await train(hyperparameters);
    await h.waitFor(interrupted.id, ['running']);
    const progressed = async () => ((await h.jobs.get(interrupted.id)).progress ?? 0) > 0.3;
    for (let i = 0; i < 400 && !(await progressed()); i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    const refused = await h.jobs.cancel(interrupted.id).then(
      () => false,
      () => true,
    );
    const cancelled = await h.waitFor(interrupted.id, ['cancelled', 'succeeded'], 60_000);
    // Training already over when the cancel came (refused, or the trainer had finished): nothing to resume.
    if (refused || cancelled.status === 'succeeded') return;
    const checkpoints = readFileSync(join(h.workspace.dirOf(interrupted.id), 'logs', 'events.log'), 'utf8');
    await h.jobs.retry(interrupted.id);
    const resumed = await h.waitFor(interrupted.id, ['succeeded', 'failed'], 120_000);
    expect(resumed.status).toBe('succeeded');
    expect(readFileSync(join(h.workspace.dirOf(interrupted.id), 'logs', 'events.log'), 'utf8')).toMatch(/resuming from checkpoint epoch-/);
    expect(checkpoints).not.toMatch(/resuming/);
    expect((await modelFiles(interrupted.id)).weights.sha256).toBe(reference);
  });
});
