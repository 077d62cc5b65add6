import type { IndexedBlobStore } from '@trainyard/artifacts';
import { BLOB_BATCH_LIMITS, type BlobBatchManifest, blobBatchManifest } from '@trainyard/contracts';
import { DomainError, exactReader } from '@trainyard/core';

/** Blobs of one batch written to the store at once: S3 answers each PutObject in a round trip. */
const WRITES_IN_FLIGHT = 8;

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
        const write = batch.put(bytes, blob.sha256).then(
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

  /**
   * `POST /blob-batches/read`: the bytes of `hashes`, one blob after another in their order (a
   * puller splits them by the sizes its bundle lists). Each blob is read whole and verified
   * before a byte of it is passed on (the store's `readBatch`: a few ahead, packed neighbours in
   * one ranged read), so a corrupt blob fails the stream instead of being served. Refused up front (NOT_FOUND, naming
   * them) when some are not stored, and when the batch is over the limits.
   */
  async readBlobBatch(hashes: readonly string[]): Promise<{ length: number; blobs: AsyncIterable<Buffer> }> {
    const sizes = await deps.blobs.sizes(hashes);
    const missing = hashes.filter((hash) => !sizes.has(hash));
    // Found corrupt by an earlier read: refused for good (422), as GET /blobs refuses it.
    const corrupt = missing.find((hash) => deps.blobs.isCorrupt(hash));
    if (corrupt) throw new DomainError('INTEGRITY', `Blob ${corrupt} is corrupt on this server`, { sha256: corrupt });
    if (missing.length > 0) throw new DomainError('NOT_FOUND', `Blobs not stored here: ${missing.slice(0, 10).join(', ')}`, { missing });
    const length = hashes.reduce((sum, hash) => sum + (sizes.get(hash) ?? 0), 0);
    const tooBig = hashes.find((hash) => (sizes.get(hash) ?? 0) > BLOB_BATCH_LIMITS.maxBlobBytes);
    if (tooBig || length > BLOB_BATCH_LIMITS.maxBytes) {
      throw new DomainError('INVALID_ARGUMENT', `A batch reads blobs of at most ${BLOB_BATCH_LIMITS.maxBlobBytes} bytes, ${BLOB_BATCH_LIMITS.maxBytes} in all`);
    }
    return { length, blobs: deps.blobs.readBatch(hashes) };
  },
});
