import type { SparseVector } from './features';

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export interface Model {
  weights: Float64Array;
  bias: number;
}

export const logit = (model: Model, x: SparseVector): number => {
  let z = model.bias;
  for (let i = 0; i < x.indices.length; i += 1) z += (model.weights[x.indices[i] ?? 0] ?? 0) * (x.values[i] ?? 0);
  return z;
};

const EPS = 1e-12;

/** Mean binary cross-entropy over the examples plus (l2 / 2)·‖w‖². */
export const loss = (model: Model, xs: readonly SparseVector[], ys: ArrayLike<number>, l2: number): number => {
  let total = 0;
  for (let i = 0; i < xs.length; i += 1) {
    const p = sigmoid(logit(model, xs[i] as SparseVector));
    const y = ys[i] ?? 0;
    total -= y * Math.log(p + EPS) + (1 - y) * Math.log(1 - p + EPS);
  }
  let norm = 0;
  for (let j = 0; j < model.weights.length; j += 1) norm += (model.weights[j] ?? 0) ** 2;
  return total / Math.max(xs.length, 1) + (l2 / 2) * norm;
};

/**
 * Gradient of `loss` for a mini-batch: sparse in the data term, dense in the L2 term (added
 * by the optimizer step, which touches every weight anyway).
 */
export const dataGradient = (model: Model, xs: readonly SparseVector[], ys: ArrayLike<number>, into: Float64Array): number => {
  into.fill(0);
  let biasGrad = 0;
  for (let i = 0; i < xs.length; i += 1) {
    const x = xs[i] as SparseVector;
    const error = sigmoid(logit(model, x)) - (ys[i] ?? 0);
    biasGrad += error;
    for (let k = 0; k < x.indices.length; k += 1) {
      const j = x.indices[k] ?? 0;
      into[j] = (into[j] ?? 0) + error * (x.values[k] ?? 0);
    }
  }
  const scale = 1 / Math.max(xs.length, 1);
  for (let j = 0; j < into.length; j += 1) into[j] = (into[j] ?? 0) * scale;
  return biasGrad * scale;
};

export interface AdamState {
  m: Float64Array;
  v: Float64Array;
  mBias: number;
  vBias: number;
  t: number;
}

export const newAdamState = (dimension: number): AdamState => ({ m: new Float64Array(dimension), v: new Float64Array(dimension), mBias: 0, vBias: 0, t: 0 });

/** One Adam step on loss = data term + (l2/2)‖w‖² (the bias is not regularised). */
export const adamStep = (model: Model, state: AdamState, gradient: Float64Array, biasGradient: number, options: { learningRate: number; l2: number }): void => {
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  state.t += 1;
  const correction1 = 1 - beta1 ** state.t;
  const correction2 = 1 - beta2 ** state.t;
  const { m, v, weights } = { m: state.m, v: state.v, weights: model.weights };
  for (let j = 0; j < weights.length; j += 1) {
    const g = (gradient[j] ?? 0) + options.l2 * (weights[j] ?? 0);
    const mj = beta1 * (m[j] ?? 0) + (1 - beta1) * g;
    const vj = beta2 * (v[j] ?? 0) + (1 - beta2) * g * g;
    m[j] = mj;
    v[j] = vj;
    weights[j] = (weights[j] ?? 0) - (options.learningRate * (mj / correction1)) / (Math.sqrt(vj / correction2) + epsilon);
  }
  state.mBias = beta1 * state.mBias + (1 - beta1) * biasGradient;
  state.vBias = beta2 * state.vBias + (1 - beta2) * biasGradient * biasGradient;
  model.bias -= (options.learningRate * (state.mBias / correction1)) / (Math.sqrt(state.vBias / correction2) + epsilon);
};

/** Area under the ROC curve by ranks (ties share their average rank). */
export const auc = (scores: readonly number[], labels: ArrayLike<number>): number => {
  const order = scores.map((score, i) => ({ score, label: labels[i] ?? 0 })).sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]?.score === order[i]?.score) j += 1;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k += 1) {
      if (order[k]?.label === 1) {
        positives += 1;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  return positives === 0 || negatives === 0 ? 0.5 : (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
};

/** Deterministic PRNG (mulberry32) for shuffles: same seed, same order, on any machine. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};
