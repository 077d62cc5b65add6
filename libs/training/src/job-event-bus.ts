import type { JobEvent } from '@trainyard/contracts';
import { EventEmitter } from 'node:events';

/** The event's shape is the API's (contracts' jobEventOutput: `jobs.events` checks each one it sends). */
export type { JobEvent };

/** Live job events for subscribers (SSE); in-process, nothing is stored here. */
export const createJobEventBus = () => {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish: (jobId: string, event: JobEvent): void => void emitter.emit(jobId, event),
    subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
      emitter.on(jobId, listener);
      return () => emitter.off(jobId, listener);
    },
  };
};

export type JobEventBus = ReturnType<typeof createJobEventBus>;
