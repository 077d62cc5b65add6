import { createSweepInput, SWEEP_LIMITS } from '@trainyard/contracts';
import { describe, expect, it } from 'vitest';
import { configurationKey, gridSize, planTrials } from './search-space';

const base = { epochs: 5, lr: 0.1, ngram: [1, 2] };

describe('a grid', () => {
  it('expands every listed value in nested-loop order, the first parameter slowest', () => {
    const trials = planTrials(
      {
        method: 'grid',
        seed: 1,
        parameters: {
          lr: { values: [0.01, 0.1] },
          ngram: {
            values: [
              [1, 1],
              [1, 3],
              [2, 3],
            ],
          },
        },
      },
      base,
    );
    expect(trials.map((t) => t.overrides)).toEqual([
      { lr: 0.01, ngram: [1, 1] },
      { lr: 0.01, ngram: [1, 3] },
      { lr: 0.01, ngram: [2, 3] },
      { lr: 0.1, ngram: [1, 1] },
      { lr: 0.1, ngram: [1, 3] },
      { lr: 0.1, ngram: [2, 3] },
    ]);
    expect(trials.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(trials[0]?.hyperparameters).toEqual({ epochs: 5, lr: 0.01, ngram: [1, 1] });
  });

  it('keys each trial by its whole configuration, so equal configurations run once whatever the key order', () => {
    expect(configurationKey({ a: 1, b: { c: 2, d: 3 } })).toBe(configurationKey({ b: { d: 3, c: 2 }, a: 1 }));
    expect(configurationKey({ a: 1 })).not.toBe(configurationKey({ a: 1.0000001 }));
    // 0.1 is the base's value too: the grid's {lr: 0.1} and a repeated value are one configuration each.
    const trials = planTrials({ method: 'grid', seed: 1, parameters: { lr: { values: [0.1, 0.1, 0.2] } } }, base);
    expect(trials.map((t) => t.overrides)).toEqual([{ lr: 0.1 }, { lr: 0.2 }]);
    expect(new Set(trials.map((t) => t.key)).size).toBe(2);
  });

  it('is capped by maxTrials, and refused past the limit without it', () => {
    const parameters = { a: { values: Array.from({ length: 200 }, (_, i) => i) }, b: { values: Array.from({ length: 100 }, (_, i) => i) } };
    expect(gridSize(parameters)).toBe(20_000);
    expect(() => planTrials({ method: 'grid', seed: 1, parameters }, {})).toThrow(/holds 20000 configurations, more than 10000: cap it with maxTrials/);
    expect(planTrials({ method: 'grid', seed: 1, parameters, maxTrials: 7 }, {}).map((t) => t.overrides)).toEqual(
      Array.from({ length: 7 }, (_, i) => ({ a: 0, b: i })),
    );
    expect(SWEEP_LIMITS.trials).toBe(10_000);
  });
});

describe('a random sweep', () => {
  const parameters = {
    lr: { min: 1e-5, max: 1e-1, distribution: 'log-uniform' as const },
    dropout: { min: 0, max: 0.5, distribution: 'uniform' as const },
    layers: { min: 1, max: 4, distribution: 'int' as const },
    optimizer: { values: ['adam', 'sgd'] },
  };

  it('draws the same trials for the same seed on any run, and others for another seed', () => {
    const first = planTrials({ method: 'random', seed: 7, maxTrials: 50, parameters }, base);
    expect(planTrials({ method: 'random', seed: 7, maxTrials: 50, parameters }, base)).toEqual(first);
    expect(planTrials({ method: 'random', seed: 8, maxTrials: 50, parameters }, base)).not.toEqual(first);
    expect(first).toHaveLength(50);
  });

  it('stays within each range and distribution', () => {
    const trials = planTrials({ method: 'random', seed: 3, maxTrials: 2_000, parameters }, base);
    const values = (name: string) => trials.map((t) => t.overrides[name] as number);
    for (const lr of values('lr')) expect(lr >= 1e-5 && lr <= 1e-1).toBe(true);
    for (const dropout of values('dropout')) expect(dropout >= 0 && dropout < 0.5).toBe(true);
    expect(new Set(values('layers'))).toEqual(new Set([1, 2, 3, 4]));
    expect(new Set(trials.map((t) => t.overrides['optimizer']))).toEqual(new Set(['adam', 'sgd']));
    // Log-uniform: each decade gets about a quarter of the draws (uniform would put ~90 % in the last).
    const decades = [0, 1, 2, 3].map((decade) => values('lr').filter((lr) => Math.min(3, Math.floor(Math.log10(lr) + 5)) === decade).length);
    for (const count of decades) expect(count).toBeGreaterThan(400);
    const mean = values('dropout').reduce((a, b) => a + b, 0) / trials.length;
    expect(Math.abs(mean - 0.25)).toBeLessThan(0.02);
  });

  it('never plans one configuration twice, and stops short when the space has fewer than maxTrials', () => {
    const small = { optimizer: { values: ['adam', 'sgd'] }, layers: { min: 1, max: 2, distribution: 'int' as const } };
    const trials = planTrials({ method: 'random', seed: 1, maxTrials: 10, parameters: small }, {});
    expect(trials).toHaveLength(4);
    expect(new Set(trials.map((t) => t.key)).size).toBe(4);
  });
});

describe('the sweep input', () => {
  const job = { trainer: { kind: 'builtin', name: 'example' } };
  it('needs maxTrials for random, listed values for a grid, and sane ranges', () => {
    expect(createSweepInput.safeParse({ name: 's', base: job, method: 'random', parameters: { lr: { values: [1] } } }).error?.message).toMatch(
      /a random sweep needs maxTrials/,
    );
    expect(
      createSweepInput.safeParse({ name: 's', base: job, method: 'grid', parameters: { lr: { min: 0, max: 1, distribution: 'uniform' } } }).error?.message,
    ).toMatch(/a grid sweeps listed values only/);
    for (const range of [
      { min: 1, max: 0, distribution: 'uniform' },
      { min: 0, max: 1, distribution: 'log-uniform' },
      { min: 0.5, max: 2, distribution: 'int' },
      { min: 0, max: Number.POSITIVE_INFINITY, distribution: 'uniform' },
    ])
      expect(
        createSweepInput.safeParse({ name: 's', base: job, method: 'random', maxTrials: 3, parameters: { lr: range } }).success,
        JSON.stringify(range),
      ).toBe(false);
    expect(createSweepInput.safeParse({ name: 's', base: { ...job, name: 'x' }, method: 'grid', parameters: { lr: { values: [1] } } }).success).toBe(false);
    expect(createSweepInput.safeParse({ name: 's', base: job, method: 'grid', parameters: {} }).success).toBe(false);
    expect(createSweepInput.safeParse({ name: 's', base: job, method: 'grid', parameters: { lr: { values: [1] } }, extra: 1 }).success).toBe(false);
    expect(createSweepInput.parse({ name: 's', base: job, method: 'grid', parameters: { lr: { values: [1] } } })).toMatchObject({ concurrency: 4, seed: 42 });
  });
});
