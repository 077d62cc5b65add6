import { type CreateSweepInput, SWEEP_LIMITS, type SweepParameter } from '@trainyard/contracts';
import { DomainError, sha256Hex } from '@trainyard/core';
import prand from 'pure-rand';
import { configure } from 'safe-stable-stringify';

/** One configuration a sweep tries: what it sets, the whole hyperparameters, and the key that makes it unique. */
export interface TrialPlan {
  /** Its place in the sweep's order (0-based): trial names and the order trials start in. */
  index: number;
  /** SHA-256 of the canonical JSON of `hyperparameters`: a configuration never runs twice within a sweep. */
  key: string;
  /** The swept values of this trial. */
  overrides: Record<string, unknown>;
  /** The base job's hyperparameters with the overrides applied. */
  hyperparameters: Record<string, unknown>;
}

// Keys sorted at every depth, so {a, b} and {b, a} are one configuration.
const canonicalJson = configure({ deterministic: true, bigint: false, circularValue: Error });

/** The configuration key of these hyperparameters (what dedup and resume compare). */
export const configurationKey = (hyperparameters: Record<string, unknown>): string => sha256Hex(canonicalJson(hyperparameters) ?? 'null');

/** How many configurations a grid of these parameters holds (every parameter lists its values). */
export const gridSize = (parameters: Record<string, SweepParameter>): number =>
  Object.values(parameters).reduce((size, parameter) => size * ('values' in parameter ? parameter.values.length : Number.POSITIVE_INFINITY), 1);

/** A uniform float in [0, 1) from 53 random bits, as Math.random's precision. */
const unitInterval = (rng: prand.RandomGenerator): number =>
  (prand.unsafeUniformIntDistribution(0, 2 ** 26 - 1, rng) * 2 ** 27 + prand.unsafeUniformIntDistribution(0, 2 ** 27 - 1, rng)) / 2 ** 53;

const sample = (parameter: SweepParameter, rng: prand.RandomGenerator): unknown => {
  if ('values' in parameter) return parameter.values[prand.unsafeUniformIntDistribution(0, parameter.values.length - 1, rng)];
  const { min, max } = parameter;
  if (parameter.distribution === 'int') return prand.unsafeUniformIntDistribution(min, max, rng);
  const u = unitInterval(rng);
  if (parameter.distribution === 'uniform') return min + u * (max - min);
  return Math.exp(Math.log(min) + u * (Math.log(max) - Math.log(min)));
};

/** The grid's configurations in order: the first parameter varies slowest, the last fastest (like nested loops). */
function* gridOf(parameters: Record<string, SweepParameter>): Generator<Record<string, unknown>> {
  const entries = Object.entries(parameters).map(([name, parameter]) => [name, 'values' in parameter ? parameter.values : []] as const);
  const digits = entries.map(() => 0);
  for (;;) {
    yield Object.fromEntries(entries.map(([name, values], i) => [name, values[digits[i] ?? 0]]));
    let position = entries.length - 1;
    while (position >= 0) {
      digits[position] = (digits[position] ?? 0) + 1;
      if ((digits[position] ?? 0) < (entries[position]?.[1].length ?? 0)) break;
      digits[position] = 0;
      position -= 1;
    }
    if (position < 0) return;
  }
}

/** How many draws a random sweep may spend looking for its distinct configurations before it settles for fewer. */
const DRAWS_PER_TRIAL = 50;

/**
 * The configurations a sweep tries, in order, each distinct. Deterministic: the same sweep (and
 * seed) plans the same trials on any machine, which is what lets a sweep be resumed by name.
 * A grid expands every listed value (refused past SWEEP_LIMITS.trials unless `maxTrials` caps
 * it); a random sweep draws each parameter from its values or range until it has `maxTrials`
 * distinct configurations, or stops short when the space has no more (say, two parameters of two
 * values each: at most 4).
 */
export const planTrials = (sweep: Pick<CreateSweepInput, 'parameters' | 'method' | 'maxTrials' | 'seed'>, base: Record<string, unknown>): TrialPlan[] => {
  const limit = Math.min(sweep.maxTrials ?? SWEEP_LIMITS.trials, SWEEP_LIMITS.trials);
  if (sweep.method === 'grid' && sweep.maxTrials === undefined && gridSize(sweep.parameters) > SWEEP_LIMITS.trials) {
    throw new DomainError(
      'INVALID_ARGUMENT',
      `This grid holds ${gridSize(sweep.parameters)} configurations, more than ${SWEEP_LIMITS.trials}: cap it with maxTrials or use method random`,
      { path: ['parameters'] },
    );
  }
  const trials: TrialPlan[] = [];
  const seen = new Set<string>();
  const add = (overrides: Record<string, unknown>): void => {
    const hyperparameters = { ...base, ...overrides };
    const key = configurationKey(hyperparameters);
    if (seen.has(key)) return;
    seen.add(key);
    trials.push({ index: trials.length, key, overrides, hyperparameters });
  };
  if (sweep.method === 'grid') {
    for (const overrides of gridOf(sweep.parameters)) {
      if (trials.length >= limit) break;
      add(overrides);
    }
    return trials;
  }
  const rng = prand.xoroshiro128plus(sweep.seed);
  const names = Object.keys(sweep.parameters);
  for (let draw = 0; trials.length < limit && draw < limit * DRAWS_PER_TRIAL; draw += 1) {
    add(Object.fromEntries(names.map((name) => [name, sample(sweep.parameters[name] as SweepParameter, rng)])));
  }
  return trials;
};
