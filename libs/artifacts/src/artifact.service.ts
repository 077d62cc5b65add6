import type { ArtifactOutput, ListArtifactsInput, RegisterArtifactInput } from '@trainyard/contracts';
import { DomainError, newId, notFound, pageOf } from '@trainyard/core';
import type { Database, Prisma } from '@trainyard/db';
import { type BlobReferenceSource, collectGarbage, type GcReport } from './blob-garbage-collector';
import type { BlobStore } from './blob-store.port';

type ArtifactRow = Prisma.ModelArtifactGetPayload<object>;

const toOutput = (row: ArtifactRow): ArtifactOutput => ({
  id: row.id,
  sha256: row.sha256,
  name: row.name,
  type: row.type as ArtifactOutput['type'],
  mediaType: row.mediaType,
  size: Number(row.size),
  metadata: row.metadata as Record<string, unknown>,
  trainingJobId: row.trainingJobId,
  modelVersionId: row.modelVersionId,
  createdAt: row.createdAt,
});

export interface ArtifactServiceDeps {
  database: Database;
  blobs: BlobStore;
  /** Other contexts whose records keep blobs alive (dataset snapshots, …). */
  extraReferences?: readonly BlobReferenceSource[];
  gcGraceMs: number;
}

/** Artifact records: named, typed pointers to blobs, linked to jobs and model versions. */
export const createArtifactService = (deps: ArtifactServiceDeps) => {
  const { prisma } = deps.database;

  const references: BlobReferenceSource = {
    async referencedHashes() {
      const rows = await prisma.modelArtifact.findMany({ distinct: ['sha256'], select: { sha256: true } });
      return new Set(rows.map((row) => row.sha256));
    },
  };

  return {
    references,

    async register(input: RegisterArtifactInput): Promise<ArtifactOutput> {
      const blob = await deps.blobs.stat(input.sha256);
      if (!blob) {
        throw new DomainError('FAILED_PRECONDITION', `Upload the blob first: PUT /blobs/sha256/${input.sha256}`, { sha256: input.sha256 });
      }
      if (input.trainingJobId && !(await prisma.trainingJob.findUnique({ where: { id: input.trainingJobId }, select: { id: true } }))) {
        throw notFound('Training job', { trainingJobId: input.trainingJobId });
      }
      if (input.modelVersionId && !(await prisma.modelVersion.findUnique({ where: { id: input.modelVersionId }, select: { id: true } }))) {
        throw notFound('Model version', { modelVersionId: input.modelVersionId });
      }
      const row = await prisma.modelArtifact.create({
        data: {
          id: newId(),
          sha256: input.sha256,
          name: input.name,
          type: input.type,
          mediaType: input.mediaType,
          size: BigInt(blob.size),
          metadata: input.metadata,
          trainingJobId: input.trainingJobId ?? null,
          modelVersionId: input.modelVersionId ?? null,
        },
      });
      return toOutput(row);
    },

    async get(id: string): Promise<ArtifactOutput> {
      const row = await prisma.modelArtifact.findUnique({ where: { id } });
      if (!row) throw notFound('Artifact', { id });
      return toOutput(row);
    },

    /** Newest first; the cursor is the last id of the previous page (ids are time-ordered). */
    async list(input: ListArtifactsInput): Promise<{ items: ArtifactOutput[]; nextCursor: string | null }> {
      const rows = await prisma.modelArtifact.findMany({
        where: {
          ...(input.type ? { type: input.type } : {}),
          ...(input.trainingJobId ? { trainingJobId: input.trainingJobId } : {}),
          ...(input.modelVersionId ? { modelVersionId: input.modelVersionId } : {}),
          ...(input.sha256 ? { sha256: input.sha256 } : {}),
          ...(input.cursor ? { id: { lt: input.cursor } } : {}),
        },
        orderBy: { id: 'desc' },
        take: input.limit + 1,
      });
      return pageOf(rows.map(toOutput), input.limit, (item) => item.id);
    },

    /** Removes the record only; the blob goes at the next collection if nothing else uses it. */
    async delete(id: string): Promise<{ deleted: true }> {
      const result = await prisma.modelArtifact.deleteMany({ where: { id } });
      if (result.count === 0) throw notFound('Artifact', { id });
      return { deleted: true };
    },

    gc(options: { dryRun: boolean }): Promise<GcReport> {
      return collectGarbage(deps.blobs, [references, ...(deps.extraReferences ?? [])], { dryRun: options.dryRun, graceMs: deps.gcGraceMs });
    },
  };
};

export type ArtifactService = ReturnType<typeof createArtifactService>;
