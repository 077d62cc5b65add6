import { z } from 'zod';
import type { TrainerRuntime } from '../trainer-sdk';
import { exportDetector } from './detector';
import { createFeaturizer, type FeatureConfig, type SparseVector } from './features';
import { adamStep, type AdamState, auc, dataGradient, loss, type Model, newAdamState, seededRandom, sigmoid, logit } from './logistic-regression';

export const textDetectorHyperparameters = z
  .strictObject({
    nMin: z.number().int().min(1).max(8).default(1),
    nMax: z.number().int().min(1).max(8).default(4),
    hashBits: z.number().int().min(8).max(22).default(18),
    epochs: z.number().int().min(1).max(200).default(5),
    batchSize: z.number().int().min(1).max(4_096).default(64),
    learningRate: z.number().positive().max(1).default(0.01),
    l2: z.number().min(0).max(1).default(1e-6),
    /** Stop after this many epochs without a better validation loss. */
    patience: z.number().int().min(1).max(100).default(3),
    // The same range as libs/contracts' seedSchema, written out: this file runs in the trainer's
    // own process, from sources with no workspace path mapping, so it imports only relative files.
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
  })
  .refine((hp) => hp.nMin <= hp.nMax, { message: 'nMin must not be larger than nMax (the n-gram lengths run from nMin to nMax)', path: ['nMin'] });
export type TextDetectorHyperparameters = z.output<typeof textDetectorHyperparameters>;

interface Pair {
  aiText: string;
  humanizedText: string;
}

export interface Examples {
  xs: SparseVector[];
  ys: Float64Array;
}

/** Labels from the pairs: AI text = 1, humanized text = 0. */
export const examplesFrom = (pairs: readonly Pair[], features: FeatureConfig): Examples => {
  const xs: SparseVector[] = [];
  const ys = new Float64Array(pairs.length * 2);
  const featurizer = createFeaturizer(features);
  pairs.forEach((pair, i) => {
    xs.push(featurizer.featurize(pair.aiText), featurizer.featurize(pair.humanizedText));
    ys[2 * i] = 1;
    ys[2 * i + 1] = 0;
  });
  return { xs, ys };
};

export const evaluate = (model: Model, data: Examples, l2: number): { loss: number; accuracy: number; auc: number } => {
  const scores = data.xs.map((x) => sigmoid(logit(model, x)));
  const correct = scores.filter((score, i) => (score >= 0.5 ? 1 : 0) === data.ys[i]).length;
  return { loss: loss(model, data.xs, data.ys, l2), accuracy: correct / Math.max(scores.length, 1), auc: auc(scores, data.ys) };
};

interface TrainingState {
  /** Completed epochs, and batches done in the current one. */
  epoch: number;
  batch: number;
  model: Model;
  adam: AdamState;
  best: { loss: number; epoch: number; weights: Float64Array; bias: number; metrics: Record<string, number> } | null;
  badEpochs: number;
}

const encodeState = (state: TrainingState): Record<string, Buffer | string> => ({
  'weights.f64': Buffer.from(state.model.weights.buffer),
  'adam-m.f64': Buffer.from(state.adam.m.buffer),
  'adam-v.f64': Buffer.from(state.adam.v.buffer),
  'best.f64': Buffer.from((state.best?.weights ?? new Float64Array(0)).buffer),
  'state.json': JSON.stringify({
    epoch: state.epoch,
    batch: state.batch,
    bias: state.model.bias,
    adam: { mBias: state.adam.mBias, vBias: state.adam.vBias, t: state.adam.t },
    best: state.best && { loss: state.best.loss, epoch: state.best.epoch, bias: state.best.bias, metrics: state.best.metrics },
    badEpochs: state.badEpochs,
  }),
});

const f64 = (buffer: Buffer): Float64Array => {
  const array = new Float64Array(buffer.length / 8);
  Buffer.from(array.buffer).set(buffer);
  return array;
};

export const decodeState = (files: (name: string) => Buffer): TrainingState => {
  const meta = JSON.parse(files('state.json').toString('utf8')) as {
    epoch: number;
    batch: number;
    bias: number;
    adam: { mBias: number; vBias: number; t: number };
    best: { loss: number; epoch: number; bias: number; metrics: Record<string, number> } | null;
    badEpochs: number;
  };
  return {
    epoch: meta.epoch,
    batch: meta.batch,
    model: { weights: f64(files('weights.f64')), bias: meta.bias },
    adam: { m: f64(files('adam-m.f64')), v: f64(files('adam-v.f64')), ...meta.adam },
    best: meta.best && { ...meta.best, weights: f64(files('best.f64')) },
    badEpochs: meta.badEpochs,
  };
};

const checkpointName = (state: TrainingState): string =>
  `epoch-${String(state.epoch).padStart(4, '0')}${state.batch > 0 ? `-batch-${String(state.batch).padStart(6, '0')}` : ''}`;

/** The deterministic order of epoch `epoch` (0-based): same seed and data, same order. */
export const epochOrder = (count: number, seed: number, epoch: number): Uint32Array => {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  const random = seededRandom(seed * 1_000_003 + epoch);
  for (let i = count - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
  }
  return order;
};

/** Mini-batch Adam with L2, per-epoch validation, early stopping, exact resume from checkpoints. */
export const trainTextDetector = async (
  runtime: TrainerRuntime<TextDetectorHyperparameters>,
  readCheckpointFile: (dir: string, name: string) => Buffer,
): Promise<number> => {
  const hp = runtime.hyperparameters;
  const features: FeatureConfig = { nMin: hp.nMin, nMax: hp.nMax, dimension: 2 ** hp.hashBits };
  const read = async (channel: string): Promise<Pair[]> => {
    const file = runtime.channel(channel);
    const pairs: Pair[] = [];
    if (file) for await (const line of runtime.readJsonl<Pair>(file)) pairs.push({ aiText: line.aiText, humanizedText: line.humanizedText });
    return pairs;
  };
  let trainPairs = await read('train');
  let validationPairs = await read('validation');
  if (trainPairs.length === 0) throw new Error('The train channel is empty: give the job a dataset snapshot with training pairs');
  if (validationPairs.length === 0) {
    // No validation channel: hold out every tenth pair (deterministic).
    validationPairs = trainPairs.filter((_, i) => i % 10 === 9);
    trainPairs = trainPairs.filter((_, i) => i % 10 !== 9);
  }
  const train = examplesFrom(trainPairs, features);
  const validation = examplesFrom(validationPairs, features);
  runtime.log(
    `text-detector: ${trainPairs.length} training and ${validationPairs.length} validation pairs, ${features.dimension} features, n=${features.nMin}..${features.nMax}`,
  );

  const latest = runtime.latestCheckpoint();
  const state: TrainingState = latest
    ? decodeState((name) => readCheckpointFile(latest.path, name))
    : {
        epoch: 0,
        batch: 0,
        model: { weights: new Float64Array(features.dimension), bias: 0 },
        adam: newAdamState(features.dimension),
        best: null,
        badEpochs: 0,
      };
  if (latest) runtime.log(`resuming from checkpoint ${latest.name}`);

  const gradient = new Float64Array(features.dimension);
  const batches = Math.ceil(train.xs.length / hp.batchSize);
  while (state.epoch < hp.epochs && state.badEpochs < hp.patience) {
    const order = epochOrder(train.xs.length, hp.seed, state.epoch);
    for (; state.batch < batches; state.batch += 1) {
      if (runtime.stopRequested) {
        runtime.saveCheckpoint(checkpointName(state), encodeState(state));
        return 143;
      }
      const ids = order.subarray(state.batch * hp.batchSize, (state.batch + 1) * hp.batchSize);
      const xs = Array.from(ids, (i) => train.xs[i] as SparseVector);
      const ys = Float64Array.from(ids, (i) => train.ys[i] ?? 0);
      const biasGradient = dataGradient(state.model, xs, ys, gradient);
      adamStep(state.model, state.adam, gradient, biasGradient, { learningRate: hp.learningRate, l2: hp.l2 });
      if (state.batch % 50 === 0) {
        runtime.progress((state.epoch + state.batch / batches) / hp.epochs, `epoch ${state.epoch + 1}/${hp.epochs}`);
        // Yield so the report reaches the UI now (and SIGTERM is noticed promptly).
        await runtime.yieldToEvents();
      }
    }
    state.epoch += 1;
    state.batch = 0;
    const trainMetrics = evaluate(state.model, train, hp.l2);
    const valMetrics = evaluate(state.model, validation, hp.l2);
    const metrics = { train_loss: trainMetrics.loss, val_loss: valMetrics.loss, val_accuracy: valMetrics.accuracy, val_auc: valMetrics.auc };
    for (const [name, value] of Object.entries(metrics)) runtime.metric(name, state.epoch, value);
    if (!state.best || valMetrics.loss < state.best.loss) {
      state.best = { loss: valMetrics.loss, epoch: state.epoch, weights: Float64Array.from(state.model.weights), bias: state.model.bias, metrics };
      state.badEpochs = 0;
    } else {
      state.badEpochs += 1;
    }
    runtime.saveCheckpoint(checkpointName(state), encodeState(state));
    runtime.progress(state.epoch / hp.epochs, `epoch ${state.epoch}/${hp.epochs}: val_accuracy ${valMetrics.accuracy.toFixed(3)}`);
    await runtime.yieldToEvents();
  }
  const best = state.best;
  if (!best) throw new Error('no epoch completed');
  if (state.badEpochs >= hp.patience) runtime.log(`early stopping after epoch ${state.epoch}; keeping epoch ${best.epoch}`);
  // The exported model is the best epoch's: its metrics are reported last, so they are the job's final metrics.
  for (const [name, value] of Object.entries(best.metrics)) runtime.metric(name, state.epoch, value);
  const files = exportDetector({ weights: best.weights, bias: best.bias }, features, best.metrics);
  runtime.writeModelFile('model.bin', files['model.bin']);
  runtime.writeModelFile('config.json', files['config.json']);
  runtime.progress(1, 'done');
  return 0;
};
