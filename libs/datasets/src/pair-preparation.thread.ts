import { parentPort } from 'node:worker_threads';
import { importBatches } from './import-batches';
import { MAX_BATCHES_AHEAD, type FromWorker, type ToWorker } from './pair-preparation.protocol';

/**
 * The import worker: turns file bytes into prepared batches (importBatches) while the importing
 * thread writes earlier ones. Runs one import at a time; stays alive for the next.
 */
const port = parentPort;
if (!port) throw new Error('pair-preparation.thread must run as a worker thread');
const send = (message: FromWorker): void => port.postMessage(message);

interface ImportState {
  chunks: Uint8Array[];
  ended: boolean;
  endError?: string;
  batchesOut: number;
  wake: () => void;
}
let current: ImportState | undefined;

const waitFor = (state: ImportState): Promise<void> => new Promise((resolve) => (state.wake = resolve));

async function* input(state: ImportState): AsyncGenerator<Buffer> {
  while (true) {
    const chunk = state.chunks.shift();
    if (chunk) {
      send({ type: 'consumed', bytes: chunk.byteLength });
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else if (state.ended) {
      if (state.endError !== undefined) throw new Error(state.endError);
      return;
    } else {
      await waitFor(state);
    }
  }
}

const run = async (state: ImportState, message: Extract<ToWorker, { type: 'start' }>): Promise<void> => {
  try {
    for await (const batch of importBatches(input(state), message.format, message.rowFormat)) {
      send({ type: 'batch', batch });
      state.batchesOut += 1;
      while (state.batchesOut >= MAX_BATCHES_AHEAD) await waitFor(state);
    }
    send({ type: 'done' });
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  } finally {
    current = undefined;
  }
};

port.on('message', (message: ToWorker) => {
  if (message.type === 'start') {
    current = { chunks: [], ended: false, batchesOut: 0, wake: () => undefined };
    void run(current, message);
    return;
  }
  const state = current;
  if (!state) return;
  if (message.type === 'chunk') state.chunks.push(message.bytes);
  else if (message.type === 'end') {
    state.ended = true;
    state.endError = message.error;
  } else state.batchesOut -= 1;
  state.wake();
});
