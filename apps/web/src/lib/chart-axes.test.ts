import { describe, expect, it } from 'vitest';
import { integerTicks, isUnitMetric, stepRange, yRangeFor } from './chart-axes';

describe('chart axes that follow the metric', () => {
  it('knows the fractions by name', () => {
    for (const name of ['val_accuracy', 'train_acc', 'AUC', 'val_auc_roc', 'precision', 'recall@5', 'f1', 'macro_F1']) expect(isUnitMetric(name)).toBe(true);
    for (const name of ['loss', 'val_loss', 'learning_rate', 'perplexity']) expect(isUnitMetric(name)).toBe(false);
  });

  it('shows a fraction on 0–1, widened only for a value outside it; anything else fits its data', () => {
    expect(yRangeFor('val_accuracy', 0.62, 0.71)).toEqual([0, 1]);
    expect(yRangeFor('val_accuracy', null, null)).toEqual([0, 1]);
    expect(yRangeFor('accuracy_pct', 40, 97)).toEqual([0, 97]);
    expect(yRangeFor('auc', -0.1, 0.5)).toEqual([-0.1, 1]);
    expect(yRangeFor('val_loss', 0.2, 0.9)).toBeUndefined();
  });

  it('puts steps on whole numbers, with room around a single one', () => {
    expect(stepRange(1, 8)).toEqual([1, 8]);
    expect(stepRange(1, 1)).toEqual([0, 2]);
    expect(stepRange(0.5, 2.2)).toEqual([0, 3]);
    expect(stepRange(null, null)).toEqual([0, 1]);
  });

  it('never ticks between two steps', () => {
    expect(integerTicks(0, 2)).toEqual([0, 1, 2]);
    expect(integerTicks(1, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(integerTicks(0.2, 1.8)).toEqual([1]);
    expect(integerTicks(0.2, 0.8)).toEqual([]);
    expect(integerTicks(0, 100, 6)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(integerTicks(3, 1000, 5)).toEqual([500, 1000]);
    for (const [min, max, count] of [
      [0, 7, 10],
      [1, 37, 6],
      [0, 12_345, 8],
      [2.5, 3.5, 4],
    ] as const) {
      const ticks = integerTicks(min, max, count);
      expect(ticks.every(Number.isInteger)).toBe(true);
      expect(ticks.length).toBeLessThanOrEqual(count);
      expect(ticks.every((tick) => tick >= min && tick <= max)).toBe(true);
    }
  });
});
