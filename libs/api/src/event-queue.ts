/**
 * Bridges a push-style listener to a subscription's async generator: events are queued as
 * they arrive and yielded in order until the client goes away (`signal`) or the caller stops.
 */
export const createEventQueue = <T>(signal: AbortSignal | undefined) => {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  // One abort listener for the subscription's life, not one per wait (they would pile up on the signal).
  signal?.addEventListener('abort', () => wake?.(), { once: true });
  return {
    push(event: T): void {
      queue.push(event);
      wake?.();
    },
    async *drain(): AsyncGenerator<T> {
      while (!signal?.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
        yield* queue.splice(0);
      }
    },
  };
};
