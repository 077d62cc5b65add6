import { describe, expect, it } from 'vitest';
import { featurize, type SparseVector } from './features';
import { adamStep, auc, dataGradient, loss, type Model, newAdamState, seededRandom, sigmoid } from './logistic-regression';

const randomExamples = (count: number, dimension: number, seed: number): { xs: SparseVector[]; ys: Float64Array } => {
  const random = seededRandom(seed);
  const xs = Array.from({ length: count }, () => {
    const indices = Int32Array.from(new Set(Array.from({ length: 6 }, () => Math.floor(random() * dimension))));
    return { indices, values: Float32Array.from(indices, () => random() * 2 - 1) };
  });
  return { xs, ys: Float64Array.from(xs, () => (random() < 0.5 ? 1 : 0)) };
};

describe('logistic regression numerics', () => {
  it('matches finite differences (gradient check, data term + L2 and bias)', () => {
    const dimension = 32;
    const l2 = 0.01;
    const { xs, ys } = randomExamples(20, dimension, 3);
    const random = seededRandom(11);
    const model: Model = { weights: Float64Array.from({ length: dimension }, () => random() - 0.5), bias: 0.3 };
    const gradient = new Float64Array(dimension);
    const biasGradient = dataGradient(model, xs, ys, gradient);
    const h = 1e-6;
    for (let j = 0; j < dimension; j += 1) {
      const saved = model.weights[j] ?? 0;
      model.weights[j] = saved + h;
      const up = loss(model, xs, ys, l2);
      model.weights[j] = saved - h;
      const down = loss(model, xs, ys, l2);
      model.weights[j] = saved;
      const numeric = (up - down) / (2 * h);
      expect((gradient[j] ?? NaN) + l2 * saved).toBeCloseTo(numeric, 6);
    }
    model.bias += h;
    const up = loss(model, xs, ys, l2);
    model.bias -= 2 * h;
    const down = loss(model, xs, ys, l2);
    model.bias += h;
    expect(biasGradient).toBeCloseTo((up - down) / (2 * h), 6);
  });

  it('lowers the loss with Adam steps, and is stable for extreme logits', () => {
    const { xs, ys } = randomExamples(50, 16, 5);
    const model: Model = { weights: new Float64Array(16), bias: 0 };
    const state = newAdamState(16);
    const gradient = new Float64Array(16);
    const before = loss(model, xs, ys, 0);
    for (let step = 0; step < 200; step += 1) adamStep(model, state, gradient, dataGradient(model, xs, ys, gradient), { learningRate: 0.05, l2: 0 });
    expect(loss(model, xs, ys, 0)).toBeLessThan(before);
    expect(sigmoid(1_000)).toBe(1);
    expect(sigmoid(-1_000)).toBe(0);
    expect(Number.isFinite(loss({ weights: Float64Array.of(1e6), bias: 0 }, [{ indices: Int32Array.of(0), values: Float32Array.of(1) }], [0], 0))).toBe(true);
  });

  it('computes AUC by ranks, with ties', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75);
    expect(auc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(auc([0.2, 0.9], [0, 1])).toBe(1);
  });

  it('hashes n-grams into a normalised sparse vector, deterministically', () => {
    const config = { nMin: 1, nMax: 3, dimension: 1024 };
    const a = featurize('Hello, world', config);
    expect(Array.from(featurize('Hello, world', config).indices)).toEqual(Array.from(a.indices));
    expect(a.values.reduce((sum, v) => sum + v * v, 0)).toBeCloseTo(1, 5);
    expect(a.indices.every((i) => i >= 0 && i < 1024)).toBe(true);
    expect(Array.from(featurize('hello, world', config).indices)).not.toEqual(Array.from(a.indices)); // case is style
  });
});
