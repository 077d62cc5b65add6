import { describe, expect, it } from 'vitest';
import { createEventQueue } from './event-queue';

describe('subscription event queue', () => {
  it('yields events in order and ends when the client goes away, without piling listeners on the signal', async () => {
    const controller = new AbortController();
    let added = 0;
    const addEventListener = controller.signal.addEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof addEventListener>) => {
      added += 1;
      return addEventListener(...args);
    }) as typeof addEventListener;
    const queue = createEventQueue<number>(controller.signal);
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const event of queue.drain()) seen.push(event);
    })();
    for (let i = 0; i < 100; i += 1) {
      queue.push(i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    controller.abort();
    await consumer;
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(added).toBe(1);
  });
});
