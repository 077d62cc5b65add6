import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { asyncIterableOf } from './common.schema';

const event = z.object({ n: z.number() });

/** A source that records whether its `finally` ran (what unsubscribes a live subscription). */
const source = (values: unknown[]) => {
  const state = { closed: false };
  async function* generate() {
    try {
      for (const value of values) yield value as { n: number };
    } finally {
      state.closed = true;
    }
  }
  return { state, iterable: generate() };
};

describe('asyncIterableOf (subscription outputs)', () => {
  it('checks each value as it is taken: plain values, unknown keys left out, and ends with its source', async () => {
    const { state, iterable } = source([{ n: 1, internal: 'x' }, { n: 2 }]);
    const received: unknown[] = [];
    for await (const value of await asyncIterableOf(event).parseAsync(iterable)) received.push(value);
    expect(received).toEqual([{ n: 1 }, { n: 2 }]);
    expect(state.closed).toBe(true);
  });

  it('ends its source when the consumer stops early (a client that goes away)', async () => {
    const { state, iterable } = source([{ n: 1 }, { n: 2 }, { n: 3 }]);
    for await (const value of await asyncIterableOf(event).parseAsync(iterable)) {
      expect(value).toEqual({ n: 1 });
      break;
    }
    expect(state.closed).toBe(true);
  });

  it('fails on a value outside the contract with a generic message, and ends its source', async () => {
    const { state, iterable } = source([{ n: 1 }, { n: 'two' }]);
    const received: unknown[] = [];
    await expect(
      (async () => {
        for await (const value of await asyncIterableOf(event).parseAsync(iterable)) received.push(value);
      })(),
    ).rejects.toThrow(/^Output validation failed$/);
    expect(received).toEqual([{ n: 1 }]);
    expect(state.closed).toBe(true);
  });

  it('refuses a value that is not an async iterable', async () => {
    expect((await asyncIterableOf(event).safeParseAsync([{ n: 1 }])).success).toBe(false);
  });
});
