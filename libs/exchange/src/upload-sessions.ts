import { type CompletedPart, type IndexedBlobStore, type MultipartTarget, partCount, type UploadSessionRef } from '@trainyard/artifacts';
import type { UploadPlan } from '@trainyard/contracts';
import { DomainError, isDomainError, newId, notFound } from '@trainyard/core';
import type { Database } from '@trainyard/db';

/** Parts are at least this big (S3's minimum is 5 MiB) and there are at most 10 000 of them. */
const MIN_PART_SIZE = 16 * 1024 * 1024;
const MAX_PARTS = 10_000;

/** The part size for a blob: big enough that no blob needs more than MAX_PARTS parts. */
export const partSizeFor = (size: number): number => Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS));

/**
 * Blobs arriving at a shared server: which ones it lacks, and resumable uploads of the rest
 * (`UploadSession` rows), each verified against its hash before it exists in the store.
 */
export const createUploadSessions = (deps: { database: Database; blobs: IndexedBlobStore; uploads: MultipartTarget }) => {
  const { prisma } = deps.database;

  const session = async (id: string): Promise<UploadSessionRef> => {
    const row = await prisma.uploadSession.findUnique({ where: { id } });
    if (!row) throw notFound('Upload session', { id });
    return { id: row.id, sha256: row.sha256, size: Number(row.size), partSize: row.partSize, uploadId: row.s3UploadId };
  };

  const partUrls = (ref: UploadSessionRef): Promise<UploadPlan['parts']> =>
    Promise.all(
      Array.from({ length: partCount(ref.size, ref.partSize) }, async (_unused, index) => ({
        number: index + 1,
        url: await deps.uploads.partUrl(ref, index + 1),
      })),
    );

  /** Indexed queries (one per 10 000 hashes), no request per blob to the store. */
  const missing = async (hashes: readonly string[]): Promise<string[]> => {
    const unique = [...new Set(hashes)];
    const present = await deps.blobs.present(unique);
    return unique.filter((hash) => !present.has(hash));
  };

  return {
    missing,

    /** A new resumable upload (or `present` when the blob is already here). */
    async startUpload(sha256: string, size: number): Promise<UploadPlan> {
      // Only the index counts: an object under the hash that was never verified (a completion
      // cut short) is not a stored blob, and a new upload replaces it.
      if ((await missing([sha256])).length === 0) return { sha256, present: true, sessionId: null, partSize: 0, parts: [] };
      const partSize = partSizeFor(size);
      const id = newId();
      const { uploadId } = await deps.uploads.start({ id, sha256 });
      await prisma.uploadSession.create({ data: { id, sha256, size: BigInt(size), partSize, s3UploadId: uploadId } });
      const parts = await partUrls({ id, sha256, size, partSize, uploadId });
      return { sha256, present: false, sessionId: id, partSize, parts };
    },

    /** Fresh part URLs for a session being resumed (presigned URLs expire). */
    async resumeUpload(sessionId: string): Promise<UploadPlan> {
      const ref = await session(sessionId);
      const parts = await partUrls(ref);
      return { sha256: ref.sha256, present: (await missing([ref.sha256])).length === 0, sessionId, partSize: ref.partSize, parts };
    },

    /** Filesystem target: one part streamed to this server. */
    async receivePart(sessionId: string, partNumber: number, body: NodeJS.ReadableStream): Promise<string> {
      if (!deps.uploads.receivePart) throw new DomainError('FAILED_PRECONDITION', 'This server takes parts through presigned URLs');
      return deps.uploads.receivePart(await session(sessionId), partNumber, body as import('node:stream').Readable);
    },

    /** Verifies the whole blob's SHA-256 and stores it; a mismatch discards the upload. */
    async completeUpload(sessionId: string, parts: CompletedPart[]): Promise<{ sha256: string }> {
      const ref = await session(sessionId);
      let outcome: 'stored' | 'present';
      try {
        outcome = await deps.blobs.storeExclusively(ref.sha256, ref.size, () => deps.uploads.complete(ref, parts));
      } catch (error) {
        // A hash mismatch means the parts are wrong: drop the session so a retry starts clean.
        if (isDomainError(error) && error.code === 'INTEGRITY') {
          await prisma.uploadSession.delete({ where: { id: sessionId } }).catch(() => undefined);
        }
        throw error;
      }
      // Another upload of the same blob was verified first: this one is not needed.
      if (outcome === 'present') await deps.uploads.abort(ref).catch(() => undefined); // best effort; stale sessions are swept too
      await prisma.uploadSession.delete({ where: { id: sessionId } }).catch(() => undefined);
      return { sha256: ref.sha256 };
    },

    /**
     * Abandoned uploads (a pusher that never came back): abort the store's multipart upload or
     * remove the part files, then forget the session. Returns how many were swept.
     */
    async sweepStaleUploads(olderThanMs: number): Promise<number> {
      const stale = await prisma.uploadSession.findMany({ where: { createdAt: { lt: new Date(Date.now() - olderThanMs) } } });
      for (const row of stale) {
        await deps.uploads
          .abort({ id: row.id, sha256: row.sha256, size: Number(row.size), partSize: row.partSize, uploadId: row.s3UploadId })
          .catch(() => undefined); // already gone, or a store that cannot abort: forgetting it is all we can do
        await prisma.uploadSession.delete({ where: { id: row.id } }).catch(() => undefined);
      }
      return stale.length;
    },
  };
};

export type UploadSessions = ReturnType<typeof createUploadSessions>;
