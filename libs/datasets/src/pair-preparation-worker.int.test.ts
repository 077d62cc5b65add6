import { describe, expect, it } from 'vitest';
import type { ImportBatch } from './import-batches';
import { MAX_LINE_BYTES } from './import-lines';
import { once } from 'node:events';
import { createPairPreparation, prepareInWorker } from './pair-preparation-worker';
import { generatedPair } from './test-pairs';

const collect = async (source: AsyncIterable<Buffer>): Promise<ImportBatch[]> => {
  const batches: ImportBatch[] = [];
  for await (const batch of prepareInWorker(source, 'jsonl', 'copy')) batches.push(batch);
  return batches;
};

async function* inChunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

/** What a file came to, without the ids (new every time). */
const outcome = (batches: ImportBatch[]) => ({
  hashes: batches.flatMap((batch) => batch.hashes),
  rejected: batches.flatMap((batch) => batch.rejected),
  rejectedCount: batches.reduce((sum, batch) => sum + batch.rejectedCount, 0),
  aborted: batches.map((batch) => batch.abortedAt).filter(Boolean),
});

describe('preparing an import in a worker thread', () => {
  it('gives the same pairs and rejections however the file is cut into chunks', async () => {
    const file = Buffer.concat([
      Buffer.from(`${JSON.stringify(generatedPair(1, { aiText: 'Ünïcödé — 漢字 and 🙂 split across chunk boundaries, long enough.' }))}\r\n`),
      Buffer.from('{"aiText": "\xff\xfe bad bytes", "humanizedText": "x"}\n', 'latin1'),
      Buffer.from(`${JSON.stringify(generatedPair(2))}\n\n{"broken": \n`),
      Buffer.from(`${JSON.stringify({ aiText: 'x'.repeat(MAX_LINE_BYTES), humanizedText: 'too long a line' })}\n`),
      Buffer.from(JSON.stringify(generatedPair(3))), // no final newline: still a line
    ]);
    const whole = outcome(await collect(inChunks(file, file.length)));
    expect(whole.hashes).toHaveLength(3);
    expect(whole.rejected).toEqual([
      { line: 2, message: 'invalid UTF-8' },
      { line: 5, message: expect.stringMatching(/^malformed JSON/) },
      { line: 6, message: `line is longer than ${MAX_LINE_BYTES} bytes` },
    ]);
    expect(outcome(await collect(inChunks(file, 7 * 1024)))).toEqual(whole);
    // Seven-byte chunks cut every multi-byte character somewhere; the long line is left out to keep it quick.
    const small = Buffer.concat([file.subarray(0, file.indexOf('{"aiText":"xxxx')), Buffer.from(JSON.stringify(generatedPair(3)))]);
    const expected = { ...whole, rejected: whole.rejected.filter((r) => r.line !== 6), rejectedCount: 2 };
    expect(outcome(await collect(inChunks(small, 7)))).toEqual(expected);
  });

  it('reads the file only a bounded way ahead of a writer that is not keeping up', async () => {
    let bytesRead = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (let i = 0; ; i += 1) {
        const chunk = Buffer.from(`${Array.from({ length: 200 }, (_, j) => JSON.stringify(generatedPair(i * 200 + j))).join('\n')}\n`);
        bytesRead += chunk.length;
        yield chunk;
      }
    }
    const batches = prepareInWorker(endless(), 'jsonl', 'copy');
    const first = await batches.next();
    expect(first.value?.hashes).toHaveLength(1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the writer stalls
    const readWhileStalled = bytesRead;
    // Two batches waiting (the second up to 2 000 pairs, ~0.6 MB) plus 16 MiB of file in flight.
    expect(readWhileStalled).toBeLessThan(24 * 1024 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a fixed wait on purpose: nothing more may be read
    expect(bytesRead).toBe(readWhileStalled);
    await batches.return(undefined); // the writer gives up: the worker is dropped, not reused mid-file
  });

  it('ends with the reason when the file stops arriving, and the next import works', async () => {
    async function* cutOff(): AsyncGenerator<Buffer> {
      yield Buffer.from(`${JSON.stringify(generatedPair(7))}\n${JSON.stringify(generatedPair(8)).slice(0, 40)}`);
      throw new Error('client disconnected mid-import');
    }
    const cut = outcome(await collect(cutOff()));
    expect(cut.hashes).toHaveLength(1); // the half line is never a pair
    expect(cut.aborted).toEqual([{ line: 0, message: 'client disconnected mid-import; the rest of the file was not read' }]);
    const next = outcome(await collect(inChunks(Buffer.from(JSON.stringify(generatedPair(9))), 1024)));
    expect(next).toMatchObject({ hashes: [expect.any(String)], rejected: [], aborted: [] });
  });

  it('starts a worker on the first import, reuses it within the idle window and releases it after', async () => {
    const preparation = createPairPreparation(400);
    const importOne = async (n: number): Promise<void> => {
      const source = inChunks(Buffer.from(JSON.stringify(generatedPair(n))), 1024);
      for await (const batch of preparation.prepare(source, 'jsonl', 'copy')) expect(batch.hashes).toHaveLength(1);
    };
    expect(preparation.idleWorker()).toBeUndefined(); // nothing started ahead of an import
    await importOne(1);
    const first = preparation.idleWorker();
    if (!first) throw new Error('no worker kept after the first import');
    await new Promise((resolve) => setTimeout(resolve, 200)); // within the idle window
    await importOne(2);
    expect(preparation.idleWorker()).toBe(first); // the same thread did the second import
    const exited = once(first, 'exit');
    const idleSince = Date.now();
    await exited; // released: the thread ends, so its memory goes back
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(350); // not before the idle time
    expect(preparation.idleWorker()).toBeUndefined();
    await importOne(3); // the next import starts a new one
    expect(preparation.idleWorker()).toBeDefined();
    expect(preparation.idleWorker()).not.toBe(first);
  });
});
