import type { ArtifactService, CompletedPart, IndexedBlobStore, MultipartTarget, UploadSessionRef } from '@trainyard/artifacts';
import { partCount } from '@trainyard/artifacts';
import type { VersionBundle, VersionRef } from '@trainyard/contracts';
import { DomainError, isDomainError, newId, notFound } from '@trainyard/core';
import type { Database } from '@trainyard/db';
import type { ModelRegistryService, ModelVersionService } from '@trainyard/registry';
import { bundledVersion } from './version-bundle';
import { ensureModel, insertBundleArtifacts } from './version-import';

/** Parts are at least this big (S3's minimum is 5 MiB) and there are at most 10 000 of them. */
const MIN_PART_SIZE = 16 * 1024 * 1024;
const MAX_PARTS = 10_000;

export interface UploadPlan {
  sha256: string;
  /** The blob is already stored: nothing to send. */
  present: boolean;
  sessionId: string | null;
  partSize: number;
  /** Per part: an absolute presigned URL (S3) or null for `PUT /uploads/<session>/<part>` on this server. */
  parts: Array<{ number: number; url: string | null }>;
}

/**
 * The receiving side of sync, on the shared registry: which blobs are missing, resumable
 * uploads of them (verified before they exist under their hash), and versions registered
 * from a bundle exactly once per idempotency key.
 */
export const createRegistryExchangeService = (deps: {
  database: Database;
  blobs: IndexedBlobStore;
  uploads: MultipartTarget;
  artifacts: ArtifactService;
  models: ModelRegistryService;
  versions: ModelVersionService;
  registryUrl: () => string;
}) => {
  const { prisma } = deps.database;

  const session = async (id: string): Promise<UploadSessionRef> => {
    const row = await prisma.uploadSession.findUnique({ where: { id } });
    if (!row) throw notFound('Upload session', { id });
    return { id: row.id, sha256: row.sha256, size: Number(row.size), partSize: row.partSize, uploadId: row.s3UploadId };
  };

  /** One indexed query, however many hashes (no request per blob to the store). */
  const missing = async (hashes: readonly string[]): Promise<string[]> => {
    const unique = [...new Set(hashes)];
    const present = await deps.blobs.present(unique);
    return unique.filter((hash) => !present.has(hash));
  };

  return {
    /** One round trip for any number of blobs. */
    missingBlobs: async (hashes: readonly string[]): Promise<{ missing: string[] }> => ({ missing: await missing(hashes) }),

    /** A new resumable upload (or `present` when the blob is already here). */
    async startUpload(sha256: string, size: number): Promise<UploadPlan> {
      // Only the index counts: an object under the hash that was never verified (a completion
      // cut short) is not a stored blob, and a new upload replaces it.
      if ((await missing([sha256])).length === 0) return { sha256, present: true, sessionId: null, partSize: 0, parts: [] };
      const partSize = Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS));
      const id = newId();
      const { uploadId } = await deps.uploads.start({ id, sha256 });
      await prisma.uploadSession.create({ data: { id, sha256, size: BigInt(size), partSize, s3UploadId: uploadId } });
      const ref: UploadSessionRef = { id, sha256, size, partSize, uploadId };
      const parts = await Promise.all(
        Array.from({ length: partCount(size, partSize) }, async (_unused, index) => ({ number: index + 1, url: await deps.uploads.partUrl(ref, index + 1) })),
      );
      return { sha256, present: false, sessionId: id, partSize, parts };
    },

    /** Fresh part URLs for a session being resumed (presigned URLs expire). */
    async resumeUpload(sessionId: string): Promise<UploadPlan> {
      const ref = await session(sessionId);
      const parts = await Promise.all(
        Array.from({ length: partCount(ref.size, ref.partSize) }, async (_unused, index) => ({
          number: index + 1,
          url: await deps.uploads.partUrl(ref, index + 1),
        })),
      );
      return { sha256: ref.sha256, present: (await missing([ref.sha256])).length === 0, sessionId, partSize: ref.partSize, parts };
    },

    /** Filesystem target: one part streamed to this server. */
    async receivePart(sessionId: string, partNumber: number, body: NodeJS.ReadableStream): Promise<string> {
      if (!deps.uploads.receivePart) throw new DomainError('FAILED_PRECONDITION', 'This registry takes parts through presigned URLs');
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
     * Registers a pushed version. Every blob must already be here (verified on upload); the
     * version, its artifacts and the idempotency record are written in one transaction, so a
     * repeated or concurrent push with the same key returns the first version and creates nothing.
     */
    async receiveVersion(idempotencyKey: string, bundle: VersionBundle, actor: string): Promise<{ model: string; version: number; created: boolean }> {
      const existing = async () => {
        const received = await prisma.receivedPush.findUnique({ where: { idempotencyKey } });
        if (!received) return undefined;
        const version = await prisma.modelVersion.findUnique({ where: { id: received.versionId }, include: { model: true } });
        return version ? { model: version.model.name, version: version.version, created: false } : undefined;
      };
      const before = await existing();
      if (before) return before;
      const absent = await missing(bundle.artifacts.map((artifact) => artifact.sha256));
      if (absent.length > 0) throw new DomainError('FAILED_PRECONDITION', `Upload these blobs first: ${absent.join(', ')}`, { missing: absent });
      const modelName = bundle.model.name;
      await ensureModel(deps.database, deps.models, bundle.model, actor);
      try {
        const created = await deps.versions.create(
          { model: modelName, description: bundle.version.description, metrics: bundle.version.metrics, tags: bundle.version.tags, artifactIds: [], gate: [] },
          actor,
          {
            provenance: { pushedFrom: bundle.origin, lineage: bundle.lineage, validation: bundle.version.validation ?? null },
            async inTransaction(tx, versionId) {
              await tx.query(`INSERT INTO "ReceivedPush" ("idempotencyKey", "versionId") VALUES ($1, $2)`, [idempotencyKey, versionId]);
              await insertBundleArtifacts(tx, versionId, bundle.artifacts);
            },
          },
        );
        return { model: created.model, version: created.version, created: true };
      } catch (error) {
        // A concurrent push with the same key won the race: its version is the answer.
        const winner = await existing();
        if (winner) return winner;
        throw error;
      }
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

    /** What a puller needs: the bundle, with blob hashes to download. */
    async describeVersion(model: string, ref: VersionRef): Promise<VersionBundle> {
      const version = await deps.versions.get(model, ref);
      const record = await deps.models.get(model);
      const artifacts = await prisma.modelArtifact.findMany({ where: { modelVersionId: version.id }, orderBy: { name: 'asc' } });
      const provenance = (version.provenance ?? {}) as { lineage?: VersionBundle['lineage'] };
      return {
        ...bundledVersion(record, version, artifacts),
        lineage: provenance.lineage ?? { datasetSnapshot: null, trainingJob: null, parentVersion: version.parentVersion },
        origin: { registry: deps.registryUrl(), model: version.model, version: version.version },
      };
    },
  };
};

export type RegistryExchangeService = ReturnType<typeof createRegistryExchangeService>;
