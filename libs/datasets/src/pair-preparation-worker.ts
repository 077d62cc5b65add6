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

// One worker is kept warm between imports (its start-up loads tsx and zod: a few hundred ms); an import
// that finds none idle, e.g. a second one at the same time, starts its own.
let idle: Worker | undefined;

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
  // One that died while idle must not be handed to the next import (it would wait forever).
  worker.once('exit', () => {
    if (idle === worker) idle = undefined;
  });
  return worker;
};

/** Starts the warm worker ahead of the first import (the server does this at start-up). */
export const warmPairPreparation = (): void => {
  idle ??= startWorker();
};

/**
 * Prepares an import file's batches in a worker thread, so parsing, validation, hashing and
 * scoring overlap with the caller writing the previous batch (COPY in PGlite holds this thread).
 * Memory stays bounded on both sides: the file is read at most 16 MiB ahead of the worker, and
 * the worker prepares at most two batches ahead of the caller.
 */
export async function* prepareInWorker(source: AsyncIterable<Buffer>, format: ImportFormat, rowFormat: RowFormat): AsyncGenerator<ImportBatch> {
  const worker = idle ?? startWorker();
  idle = undefined;
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
    // A worker left mid-import (the caller stopped, or it failed) is not reused.
    if (finished && !idle) idle = worker;
    else void worker.terminate();
  }
}
