import { EventEmitter } from 'node:events';

export type JobEvent =
  | { type: 'status'; status: string; error?: string | null }
  | { type: 'progress'; fraction: number; message?: string }
  | { type: 'metric'; name: string; step: number; value: number }
  /** Points a trainer sent as one batch: [name, step, value]. */
  | { type: 'metrics'; points: Array<[string, number, number]> }
  | { type: 'log'; stream: 'events' | 'stdout' | 'stderr'; line: string };

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
