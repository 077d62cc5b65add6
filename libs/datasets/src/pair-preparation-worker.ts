import { Worker } from 'node:worker_threads';
import { entryFile, serverEntries } from '@trainyard/core';
import type { ImportBatch } from './import-batches';
import type { ImportFormat } from './import-lines';
import type { RowFormat } from './pair-insert';
import type { FromWorker, ToWorker } from './pair-preparation.protocol';

/** Bytes sent to the worker and not yet read by it; the file is read no further ahead. */
const MAX_BYTES_AHEAD = 16 * 1024 * 1024;
/** Messages are at most this big, however large the chunks the file arrives in. */
const SLICE_BYTES = 1024 * 1024;

/**
 * How long a worker is kept after an import for the next one. Its start-up loads the preparation code and
 * zod (tsx too when run from sources; a few hundred ms) and it then holds ~25 MB: kept for a burst of imports (a folder of files, a retry),
 * released when the server goes idle so an idle server holds no worker at all.
 */
export const IDLE_WORKER_RELEASE_MS = 60_000;

const startWorker = (): Worker => {
  // The built thread (apps/server/dist), or from sources a .mjs that registers tsx in the thread.
  // Not the parent's execArgv — from sources the entry registers its own TypeScript loader; an
  // inherited one would load twice — but source maps if the parent has them (a thread does not
  // inherit them), so the built thread's stack traces name the TypeScript lines too.
  // A young generation big enough for a batch in the making: its rows die young instead of being
  // promoted and collected again (~6 % less time preparing).
  const execArgv = process.sourceMapsEnabled ? ['--enable-source-maps'] : [];
  const worker = new Worker(entryFile(serverEntries.importWorker), { execArgv, resourceLimits: { maxYoungGenerationSizeMb: 192 } });
  worker.unref(); // an idle worker never keeps the process alive
  return worker;
};

export interface PairPreparation {
  /**
   * Prepares an import file's batches in a worker thread, so parsing, validation, hashing and
   * scoring overlap with the caller writing the previous batch (COPY in PGlite holds this thread).
   * Memory stays bounded on both sides: the file is read at most 16 MiB ahead of the worker, and
   * the worker prepares at most two batches ahead of the caller.
   */
  prepare: (source: AsyncIterable<Buffer>, format: ImportFormat, rowFormat: RowFormat) => AsyncGenerator<ImportBatch>;
  /** The worker kept for the next import, if any. */
  idleWorker: () => Worker | undefined;
}

/**
 * Import workers on demand: the first import starts one; when it ends the worker is kept for
 * `idleReleaseMs` and an import starting meanwhile reuses it; then it is terminated. An import
 * that finds none idle, e.g. a second one at the same time, starts its own.
 */
export const createPairPreparation = (idleReleaseMs = IDLE_WORKER_RELEASE_MS): PairPreparation => {
  let idle: { worker: Worker; release: NodeJS.Timeout } | undefined;

  const start = (): Worker => {
    const worker = startWorker();
    // One that died while idle must not be handed to the next import (it would wait forever).
    worker.once('exit', () => {
      if (idle?.worker !== worker) return;
      clearTimeout(idle.release);
      idle = undefined;
    });
    return worker;
  };

  const take = (): Worker => {
    if (!idle) return start();
    clearTimeout(idle.release);
    const { worker } = idle;
    idle = undefined;
    return worker;
  };

  // A worker left mid-import (the caller stopped, or it failed) is not reused.
  const handBack = (worker: Worker, finished: boolean): void => {
    if (!finished || idle) {
      void worker.terminate();
      return;
    }
    const release = setTimeout(() => {
      if (idle?.worker === worker) idle = undefined;
      void worker.terminate();
    }, idleReleaseMs);
    release.unref(); // a pending release never keeps the process alive
    idle = { worker, release };
  };

  return {
    // A generator itself, so the worker is taken when the import starts reading, not when it is set up.
    async *prepare(source, format, rowFormat) {
      yield* prepareIn(take(), source, format, rowFormat, handBack);
    },
    idleWorker: () => idle?.worker,
  };
};

/** One import in `worker`; at the end the worker goes to `handBack`, saying whether the import finished. */
async function* prepareIn(
  worker: Worker,
  source: AsyncIterable<Buffer>,
  format: ImportFormat,
  rowFormat: RowFormat,
  handBack: (worker: Worker, finished: boolean) => void,
): AsyncGenerator<ImportBatch> {
  const send = (message: ToWorker, transfer: ArrayBuffer[] = []): void => worker.postMessage(message, transfer);
  const batches: ImportBatch[] = [];
  let done = false;
  let failure: Error | undefined;
  let sent = 0;
  let consumed = 0;
  let wakeReader = (): void => undefined;
  let wakeFeeder = (): void => undefined;
  const wakeAll = (): void => {
    wakeReader();
    wakeFeeder();
  };
  const onMessage = (message: FromWorker): void => {
    if (message.type === 'consumed') consumed += message.bytes;
    else if (message.type === 'batch') batches.push(message.batch);
    else if (message.type === 'done') done = true;
    else failure ??= new Error(`import worker failed: ${message.message}`);
    wakeAll();
  };
  const onError = (error: Error): void => {
    failure ??= error;
    wakeAll();
  };
  const onExit = (code: number): void => onError(new Error(`import worker exited (code ${code})`));
  worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  worker.ref(); // busy: keep the process alive until the import ends
  send({ type: 'start', format, rowFormat });

  let stopped = false;
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        for (let offset = 0; offset < chunk.length; offset += SLICE_BYTES) {
          while (sent - consumed > MAX_BYTES_AHEAD && !failure && !stopped) await new Promise<void>((resolve) => (wakeFeeder = resolve));
          if (failure || stopped) return;
          // A copy with its own buffer, transferred: a view would clone the whole backing buffer.
          const bytes = new Uint8Array(chunk.subarray(offset, offset + SLICE_BYTES));
          sent += bytes.byteLength; // counted before the transfer empties this view
          send({ type: 'chunk', bytes }, [bytes.buffer]);
        }
      }
      send({ type: 'end' });
    } catch (error) {
      send({ type: 'end', error: (error as Error).message });
    }
  })();

  let finished = false;
  try {
    while (true) {
      const batch = batches.shift();
      if (batch) {
        send({ type: 'taken' });
        yield batch;
      } else if (failure) throw failure;
      else if (done) break;
      else await new Promise<void>((resolve) => (wakeReader = resolve));
    }
    finished = true;
    await feeding;
  } finally {
    stopped = true;
    wakeFeeder();
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    worker.unref();
    handBack(worker, finished);
  }
}

const shared = createPairPreparation();

/** {@link PairPreparation.prepare} with the process's import workers. */
export const prepareInWorker = shared.prepare;
