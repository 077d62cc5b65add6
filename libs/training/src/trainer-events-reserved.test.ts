import { describe, expect, it } from 'vitest';
import { parseEventLine } from './trainer-events';

// Metric names become object keys in responses; superjson refuses these three, so an event
// carrying one is refused (the executor skips it and counts it as bad) instead of being stored.
describe('trainer events with reserved metric names', () => {
  it.each(['constructor', 'prototype', '__proto__'])('refuses a metric named %s, single or batched', (name) => {
    expect(parseEventLine(JSON.stringify({ type: 'metric', name, step: 1, value: 0.5 }))).toMatchObject({ ok: false, error: expect.stringContaining('name') });
    expect(
      parseEventLine(
        JSON.stringify({
          type: 'metrics',
          points: [
            ['loss', 1, 0.5],
            [name, 1, 0.5],
          ],
        }),
      ),
    ).toMatchObject({ ok: false, error: expect.stringContaining('points.1') });
  });

  it('still accepts ordinary names', () => {
    expect(parseEventLine(JSON.stringify({ type: 'metrics', points: [['constructor_loss', 1, 0.5]] }))).toMatchObject({ ok: true });
  });
});
