import { describe, expect, it } from 'vitest';
import { LiveMetrics } from './live-metrics';

describe('live metric series', () => {
  it('keeps points that arrive before the history and drops the ones the history already has', () => {
    const live = new LiveMetrics();
    live.appendMany([
      ['loss', 3, 0.3],
      ['loss', 4, 0.25],
    ]);
    expect(live.get('loss')).toBeUndefined();
    let notified = 0;
    live.subscribe(() => (notified += 1));
    live.load({ loss: { step: [1, 2, 3], value: [0.9, 0.5, 0.3] } });
    // Subscribers (the metric names, the charts) hear about the history too.
    expect(notified).toBeGreaterThan(0);
    expect(live.names()).toBe('loss');
    expect(live.get('loss')).toEqual({ steps: [1, 2, 3, 4], values: [0.9, 0.5, 0.3, 0.25] });
  });

  it('notifies subscribers per batch and changes the names key only when a series appears', () => {
    const live = new LiveMetrics();
    live.load({});
    let notified = 0;
    const unsubscribe = live.subscribe(() => (notified += 1));
    live.appendMany([
      ['loss', 1, 1],
      ['acc', 1, 0.5],
    ]);
    const key = live.names();
    live.appendMany([['loss', 2, 0.8]]);
    expect(live.names()).toBe(key);
    expect(key).toBe('acc\nloss');
    expect(notified).toBe(2);
    unsubscribe();
    live.appendMany([['loss', 3, 0.7]]);
    expect(notified).toBe(2);
  });
});
