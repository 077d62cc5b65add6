import { Readable } from 'node:stream';
import type { IndexedBlobStore } from '@trainyard/artifacts';
import { BLOB_BATCH_LIMITS, type BlobBatchManifest, blobBatchManifest } from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';

/** Blobs of one batch written to the store at once: S3 answers each PutObject in a round trip. */
const WRITES_IN_FLIGHT = 8;

/** Reads a byte stream in pieces of exactly the sizes asked for (a line, then each blob). */
const exactReader = (body: AsyncIterable<Buffer>) => {
  const iterator = body[Symbol.asyncIterator]();
  let buffered: Buffer = Buffer.alloc(0);
  const more = async (): Promise<boolean> => {
    const next = await iterator.next();
    if (next.done) return false;
    buffered = buffered.length === 0 ? next.value : Buffer.concat([buffered, next.value]);
    return true;
  };
  return {
    /** The bytes before the first newline (at most `max` of them). */
    async line(max: number): Promise<Buffer> {
      for (;;) {
        const end = buffered.indexOf(0x0a);
        if (end >= 0 && end <= max) {
          const line = buffered.subarray(0, end);
          buffered = buffered.subarray(end + 1);
          return line;
        }
        if (buffered.length > max) throw new DomainError('INVALID_ARGUMENT', `The batch manifest line is longer than ${max} bytes`);
        if (!(await more())) throw new DomainError('INVALID_ARGUMENT', 'The batch ended before its manifest line');
      }
    },
    async exactly(size: number): Promise<Buffer> {
      while (buffered.length < size) {
        if (!(await more())) throw new DomainError('INVALID_ARGUMENT', `The batch ended ${size - buffered.length} bytes short of its manifest`);
      }
      const piece = Buffer.from(buffered.subarray(0, size));
      buffered = buffered.subarray(size);
      return piece;
    },
    async assertEnd(): Promise<void> {
      if (buffered.length > 0 || (await more())) throw new DomainError('INVALID_ARGUMENT', 'The batch carries more bytes than its manifest lists');
    },
  };
};

const parseManifest = (line: Buffer): BlobBatchManifest => {
  let json: unknown;
  try {
    json = JSON.parse(line.toString('utf8'));
  } catch {
    throw new DomainError('INVALID_ARGUMENT', 'The batch manifest line is not JSON');
  }
  const parsed = blobBatchManifest.safeParse(json);
  if (!parsed.success) throw new DomainError('INVALID_ARGUMENT', `Invalid batch manifest: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
};

/**
 * `POST /blob-batches` (issue #24): many small blobs in one request. Each blob is read whole
 * (≤ 1 MiB), stored under the hash the manifest names only if its bytes hash to it (the store
 * verifies, as for `PUT /blobs`), WRITES_IN_FLIGHT at a time, and the verified ones are
 * indexed in one statement — also when the request fails part way, so a retry sends only the
 * rest. Blobs already stored are read and dropped. Nothing a client sends becomes a key but the
 * hash, checked against the bytes.
 */
export const createBlobBatches = (deps: { blobs: IndexedBlobStore }) => ({
  async receiveBlobBatch(body: AsyncIterable<Buffer>): Promise<{ stored: number; present: number }> {
    const reader = exactReader(body);
    const manifest = parseManifest(await reader.line(BLOB_BATCH_LIMITS.manifestBytes));
    const present = await deps.blobs.present(manifest.blobs.map((blob) => blob.sha256));
    const batch = deps.blobs.batch();
    const inFlight = new Set<Promise<unknown>>();
    const writing = new Set<string>();
    let failure: unknown;
    let stored = 0;
    try {
      for (const blob of manifest.blobs) {
        const bytes = await reader.exactly(blob.size);
        // Already here, or listed twice in this batch: nothing to write.
        if (present.has(blob.sha256) || writing.has(blob.sha256)) continue;
        writing.add(blob.sha256);
        const write = batch.put(Readable.from([bytes]), blob.sha256).then(
          () => void (stored += 1),
          (error: unknown) => void (failure ??= error),
        );
        inFlight.add(write);
        void write.finally(() => inFlight.delete(write));
        while (inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(inFlight);
        if (failure) break;
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      await reader.assertEnd();
    } finally {
      await Promise.all(inFlight);
      await batch.commit();
    }
    return { stored, present: manifest.blobs.length - writing.size };
  },
});
