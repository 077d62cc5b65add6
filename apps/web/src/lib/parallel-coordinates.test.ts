import { describe, expect, it } from 'vitest';
import { axisFor, axisLabels, axisPosition, parallelLines } from './parallel-coordinates';

describe('parallel coordinates', () => {
  it('puts numbers on a linear axis, or a log one when all are positive and span 100× or more', () => {
    expect(axisFor('layers', [2, 4, 8])).toEqual({ kind: 'linear', name: 'layers', min: 2, max: 8 });
    expect(axisFor('lr', [0.001, 0.1, 0.01])).toEqual({ kind: 'log', name: 'lr', min: 0.001, max: 0.1 });
    expect(axisPosition(axisFor('lr', [0.001, 0.1]), 0.01)).toBeCloseTo(0.5);
    expect(axisPosition(axisFor('layers', [2, 4, 8]), 5)).toBeCloseTo(0.5);
  });

  it('gives categorical parameters (and any non-number) an ordinal axis in natural order, missing as —', () => {
    const axis = axisFor('optimizer', ['sgd', 'adam', undefined, 'adam']);
    expect(axis).toEqual({ kind: 'ordinal', name: 'optimizer', categories: ['—', 'adam', 'sgd'] });
    expect([axisPosition(axis, undefined), axisPosition(axis, 'adam'), axisPosition(axis, 'sgd')]).toEqual([0, 0.5, 1]);
    expect(axisFor('size', [1, 'big']).kind).toBe('ordinal');
    expect(
      axisLabels(
        axisFor(
          'seed',
          Array.from({ length: 30 }, (_, i) => `s${i}`),
        ),
        String,
      ).length,
    ).toBe(10);
  });

  it('draws each job through its values and shades it by the metric, best = 1 by direction; a job without the metric is left out', () => {
    const axes = [axisFor('layers', [2, 8]), axisFor('val_loss', [0.2, 0.6])];
    const rows = [
      { parameters: [2], metric: 0.2 },
      { parameters: [8], metric: 0.6 },
      { parameters: [8], metric: undefined },
    ];
    expect(parallelLines(rows, axes, 'min')).toEqual([
      { positions: [0, 0], shade: 1 },
      { positions: [1, 1], shade: 0 },
    ]);
    expect(parallelLines(rows, axes, 'max').map((line) => line.shade)).toEqual([0, 1]);
  });
});
