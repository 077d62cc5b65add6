import type { PushProgress } from './push-transfer';

export const PROGRESS_FLUSH_MS = 250;

export interface ProgressUpdate {
  bytesTotal?: number;
  progress?: PushProgress;
}

/**
 * An attempt's progress, kept in memory and written at most every `flushMs` (and at the end of
 * the attempt): one database write per part or per small blob would cost more than sending it.
 * A crash loses at most that much progress — those parts are simply sent again. Writes happen
 * one at a time, in order; each is followed by `written` (the live progress event).
 */
export const createProgressWriter = (
  write: (update: ProgressUpdate & { bytes: number }) => Promise<void>,
  written: () => Promise<void>,
  flushMs: number = PROGRESS_FLUSH_MS,
) => {
  let delta = 0;
  let fields: ProgressUpdate = {};
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const bytes = delta;
    const pending = fields;
    delta = 0;
    fields = {};
    writing = writing.then(async () => {
      await write({ bytes, ...pending });
      await written();
    });
    return writing;
  };
  return {
    /** `bytes` more are done; `update` replaces the total or the resumable progress. Returns at once. */
    add(bytes: number, update: ProgressUpdate = {}): Promise<void> {
      delta += bytes;
      fields = { ...fields, ...update };
      timer ??= setTimeout(() => void flush().catch(() => undefined), flushMs);
      return Promise.resolve();
    },
    /** Writes what is pending now; resolves when every earlier write is done. */
    flush,
  };
};

export type ProgressWriter = ReturnType<typeof createProgressWriter>;
