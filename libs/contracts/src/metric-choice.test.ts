import { describe, expect, it } from 'vitest';
import { defaultDirection, metricValue, metricValueStep } from './metric-choice';

const summary = { last: 0.5, lastStep: 6, min: 0.4, minStep: 2, max: 0.95, maxStep: 5, count: 6 };

describe('which value of a metric a comparison shows', () => {
  it('is better lower for names containing loss, error or perplexity (any case), else higher', () => {
    expect(['loss', 'val_loss', 'Train_Loss', 'error_rate', 'perplexity', 'val_perplexity'].map(defaultDirection)).toEqual(Array(6).fill('min'));
    expect(['accuracy', 'val_auc', 'f1', 'reward'].map(defaultDirection)).toEqual(Array(4).fill('max'));
  });

  it('best follows the direction; last, min and max are what they say, with their steps', () => {
    expect(metricValue(summary, 'best', 'min')).toBe(0.4);
    expect(metricValue(summary, 'best', 'max')).toBe(0.95);
    expect(metricValue(summary, 'last', 'min')).toBe(0.5);
    expect(metricValue(summary, 'min', 'max')).toBe(0.4);
    expect(metricValue(summary, 'max', 'min')).toBe(0.95);
    expect([metricValueStep(summary, 'best', 'min'), metricValueStep(summary, 'best', 'max'), metricValueStep(summary, 'last', 'max')]).toEqual([2, 5, 6]);
  });

  it('is undefined for a job without the metric, or without a finite value', () => {
    expect(metricValue(undefined, 'best', 'min')).toBeUndefined();
    expect(metricValue({ ...summary, last: null, min: null, minStep: null }, 'best', 'min')).toBeUndefined();
    expect(metricValue({ ...summary, last: null }, 'last', 'min')).toBeUndefined();
  });
});
