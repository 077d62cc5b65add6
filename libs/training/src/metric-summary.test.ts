import { describe, expect, it } from 'vitest';
import { compareParameters } from './job-comparison';
import { summariseSeries } from './metric-summary';

const records = (points: Array<[number, number]>): Float64Array => new Float64Array(points.flatMap(([step, value]) => [step, value, 0]));

describe('a series summary (one pass over its records)', () => {
  it('has the last point, the first lowest and highest with their steps, and the count', () => {
    const points = records([
      [1, 0.9],
      [2, 0.4],
      [3, 0.7],
      [4, 0.4],
      [5, 0.95],
      [6, 0.5],
    ]);
    expect(summariseSeries(points, 6)).toEqual({ last: 0.5, lastStep: 6, min: 0.4, minStep: 2, max: 0.95, maxStep: 5, count: 6 });
  });

  it('reads only the records it is told (a torn record after them is not passed in) and has none for an empty series', () => {
    expect(
      summariseSeries(
        records([
          [1, 3],
          [2, 1],
        ]),
        1,
      ),
    ).toEqual({ last: 3, lastStep: 1, min: 3, minStep: 1, max: 3, maxStep: 1, count: 1 });
    expect(summariseSeries(new Float64Array(0), 0)).toBeUndefined();
  });

  it('never makes NaN or ±Infinity a min or max, and a non-finite last value is null', () => {
    expect(
      summariseSeries(
        records([
          [1, Number.NaN],
          [2, 2],
          [3, Infinity],
          [4, -Infinity],
          [5, Number.NaN],
        ]),
        5,
      ),
    ).toEqual({
      last: null,
      lastStep: 5,
      min: 2,
      minStep: 2,
      max: 2,
      maxStep: 2,
      count: 5,
    });
    expect(summariseSeries(records([[1, Number.NaN]]), 1)).toEqual({ last: null, lastStep: 1, min: null, minStep: null, max: null, maxStep: null, count: 1 });
  });
});

describe('which hyperparameters differ across jobs', () => {
  it('lists every name, sorted, and those whose value is not the same on all jobs', () => {
    const result = compareParameters([
      { lr: 0.1, seed: 1, epochs: 3, optimizer: { name: 'adam', beta: 0.9 } },
      { lr: 0.01, seed: 1, epochs: 3, optimizer: { beta: 0.9, name: 'adam' } },
      { lr: 0.1, seed: 1, epochs: 3, optimizer: { name: 'adam', beta: 0.9 }, dropout: 0.5 },
    ]);
    // Key order inside a value does not matter; a name missing on some jobs differs.
    expect(result).toEqual({ parameters: ['dropout', 'epochs', 'lr', 'optimizer', 'seed'], differingParameters: ['dropout', 'lr'] });
  });

  it('tells a number from its string, and null from missing', () => {
    expect(compareParameters([{ a: 1, b: null }, { a: '1' }]).differingParameters).toEqual(['a', 'b']);
    expect(
      compareParameters([
        { a: 1, b: null },
        { a: 1, b: null },
      ]).differingParameters,
    ).toEqual([]);
  });

  it('with one job, nothing differs', () => {
    expect(compareParameters([{ lr: 0.1 }])).toEqual({ parameters: ['lr'], differingParameters: [] });
  });
});
