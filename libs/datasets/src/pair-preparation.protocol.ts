import type { ImportBatch } from './import-batches';
import type { ImportFormat } from './import-lines';
import type { RowFormat } from './pair-insert';

/** Messages from the importing thread to the preparation worker, one import at a time. */
export type ToWorker =
  | { type: 'start'; format: ImportFormat; rowFormat: RowFormat }
  | { type: 'chunk'; bytes: Uint8Array }
  /** The file ended; `error` when reading it failed (e.g. the upload was cut off). */
  | { type: 'end'; error?: string }
  /** The importer took a batch off its queue: the worker may prepare another. */
  | { type: 'taken' };

/** Messages from the worker back. */
export type FromWorker = { type: 'consumed'; bytes: number } | { type: 'batch'; batch: ImportBatch } | { type: 'done' } | { type: 'failed'; message: string };

/** Batches prepared ahead of the writer; each holds up to 16 MiB of text. */
export const MAX_BATCHES_AHEAD = 2;
