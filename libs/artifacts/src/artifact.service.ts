import {
  type ArtifactOutput,
  type ListArtifactsInput,
  type RegisterArtifactInput,
  type RegisterArtifactsInput,
  VERSION_ARTIFACT_IDS_SHOWN,
} from '@trainyard/contracts';
import { DomainError, newId, notFound, pageOf } from '@trainyard/core';
import type { Database, Prisma, SqlQueryable } from '@trainyard/db';
import pLimit from 'p-limit';
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

/**
 * Whether the job or version an artifact is registered against exists. Their owners (training,
 * model registry) sit above this lib, so they answer through this port (docs/architecture.md,
 * "Contexts and their tables").
 */
export interface ArtifactOwners {
  jobs: { exists(id: string): Promise<boolean> };
  versions: { exists(id: string): Promise<boolean> };
}

/** An artifact that arrives with a version made elsewhere (a pushed or pulled version's bundle): its blob is already here. */
export interface VersionArtifactInput {
  sha256: string;
  name: string;
  type: string;
  mediaType: string;
  size: number;
  metadata: Record<string, unknown>;
}

const ARTIFACT_COLUMNS = `"id", "sha256", "name", "type", "mediaType", "size", "metadata", "trainingJobId", "modelVersionId", "createdAt"`;

export interface ArtifactServiceDeps {
  database: Database;
  blobs: BlobStore;
  /** Called when an artifact is registered, not at construction: the owners are built after this service (they use it). */
  owners: () => ArtifactOwners;
  /** Other contexts whose records keep blobs alive (dataset snapshots, …). */
  extraReferences?: readonly BlobReferenceSource[];
  gcGraceMs: number;
}

/**
 * Inserts artifact records in statements of 1 000, not one per record: a version of 10 000 small
 * files registers in a few round trips (issue #24). Returns their new ids in order.
 */
const insertRecords = async (
  queryable: SqlQueryable,
  artifacts: readonly VersionArtifactInput[],
  owner: { modelVersionId: string | null; trainingJobId: string | null },
): Promise<string[]> => {
  const ids: string[] = [];
  for (let start = 0; start < artifacts.length; start += 1_000) {
    const page = artifacts.slice(start, start + 1_000);
    const pageIds = page.map(() => newId());
    // One JSON parameter, not seven arrays: PGlite's encoding of 1 000-element array parameters
    // took 25–160 ms of a pull's registration (garbage included), the JSON 20–45 ms (issue #24).
    const records = page.map((a, index) => ({
      id: pageIds[index],
      sha256: a.sha256,
      name: a.name,
      type: a.type,
      mediaType: a.mediaType,
      size: a.size,
      metadata: a.metadata,
    }));
    await queryable.query(
      `INSERT INTO "ModelArtifact" ("id", "sha256", "name", "type", "mediaType", "size", "metadata", "modelVersionId", "trainingJobId")
       SELECT "id", "sha256", "name", "type", "mediaType", "size", "metadata", $2, $3
       FROM jsonb_to_recordset($1::jsonb) AS t("id" uuid, "sha256" text, "name" text, "type" text, "mediaType" text, "size" bigint, "metadata" jsonb)`,
      [JSON.stringify(records), owner.modelVersionId, owner.trainingJobId],
    );
    ids.push(...pageIds);
  }
  return ids;
};

/** Artifact records: named, typed pointers to blobs, linked to jobs and model versions. */
export const createArtifactService = (deps: ArtifactServiceDeps) => {
  const { prisma, sql } = deps.database;

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
      const owners = deps.owners();
      if (input.trainingJobId && !(await owners.jobs.exists(input.trainingJobId))) {
        throw notFound('Training job', { trainingJobId: input.trainingJobId });
      }
      if (input.modelVersionId && !(await owners.versions.exists(input.modelVersionId))) {
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

    /**
     * Many artifacts in one call (a version of many small files): every blob must be stored,
     * else nothing is registered and the error lists the hashes to upload first.
     */
    async registerMany(input: RegisterArtifactsInput): Promise<{ ids: string[] }> {
      const stat = pLimit(16);
      const stored = await Promise.all(input.artifacts.map((artifact) => stat(() => deps.blobs.stat(artifact.sha256))));
      const absent = [...new Set(input.artifacts.filter((_artifact, index) => !stored[index]).map((artifact) => artifact.sha256))];
      if (absent.length > 0) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `Upload these blobs first (PUT /blobs/sha256/<hash>): ${absent.slice(0, 10).join(', ')}${absent.length > 10 ? ` and ${absent.length - 10} more` : ''}`,
          {
            missing: absent,
          },
        );
      }
      const owners = deps.owners();
      if (input.trainingJobId && !(await owners.jobs.exists(input.trainingJobId))) throw notFound('Training job', { trainingJobId: input.trainingJobId });
      if (input.modelVersionId && !(await owners.versions.exists(input.modelVersionId))) {
        throw notFound('Model version', { modelVersionId: input.modelVersionId });
      }
      const records = input.artifacts.map((artifact, index) => ({ ...artifact, size: stored[index]?.size ?? 0 }));
      const ids = await sql.transaction((tx) =>
        insertRecords(tx, records, { modelVersionId: input.modelVersionId ?? null, trainingJobId: input.trainingJobId ?? null }),
      );
      return { ids };
    },

    async get(id: string): Promise<ArtifactOutput> {
      const row = await prisma.modelArtifact.findUnique({ where: { id } });
      if (!row) throw notFound('Artifact', { id });
      return toOutput(row);
    },

    /** The artifacts with these ids, in one query (ids that do not exist are left out). */
    async getMany(ids: readonly string[]): Promise<ArtifactOutput[]> {
      if (ids.length === 0) return [];
      return (await prisma.modelArtifact.findMany({ where: { id: { in: [...ids] } } })).map(toOutput);
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

    // The methods below take a queryable: they run inside another context's transaction (`tx`,
    // from `database.sql.transaction`), so they are SQL, not Prisma (on PGlite the transaction
    // holds the only connection).

    /** The artifacts of these versions, each version's by name. */
    listOfVersions: async (versionIds: readonly string[], queryable: SqlQueryable = sql): Promise<ArtifactOutput[]> =>
      versionIds.length === 0
        ? []
        : (
            await queryable.query<ArtifactRow>(
              `SELECT ${ARTIFACT_COLUMNS} FROM "ModelArtifact" WHERE "modelVersionId" = ANY($1::uuid[]) ORDER BY "modelVersionId", "name", "id"`,
              [versionIds],
            )
          ).map(toOutput),

    /**
     * Each version's first VERSION_ARTIFACT_IDS_SHOWN artifact ids, in id order, and how many it
     * holds (versions without artifacts are absent): a version of 100 000 files is not 3.9 MB of ids
     * in every answer that shows it.
     */
    async idsOfVersions(versionIds: readonly string[], queryable: SqlQueryable = sql): Promise<Map<string, { ids: string[]; count: number }>> {
      const ids = new Map<string, { ids: string[]; count: number }>();
      if (versionIds.length === 0) return ids;
      const rows = await queryable.query<{ id: string; modelVersionId: string; count: number | string }>(
        `SELECT "id", "modelVersionId", "count" FROM (
           SELECT "id", "modelVersionId", row_number() OVER (PARTITION BY "modelVersionId" ORDER BY "id") AS "rank",
                  count(*) OVER (PARTITION BY "modelVersionId") AS "count"
           FROM "ModelArtifact" WHERE "modelVersionId" = ANY($1::uuid[])
         ) ranked WHERE "rank" <= $2 ORDER BY "id"`,
        [versionIds, VERSION_ARTIFACT_IDS_SHOWN],
      );
      for (const row of rows) {
        const entry = ids.get(row.modelVersionId) ?? { ids: [], count: Number(row.count) };
        entry.ids.push(row.id);
        ids.set(row.modelVersionId, entry);
      }
      return ids;
    },

    /** Each version's first `perVersion` artifacts by name (for a graph that shows a few), and how many each holds. */
    async firstOfVersions(versionIds: readonly string[], perVersion: number): Promise<{ items: ArtifactOutput[]; counts: Map<string, number> }> {
      if (versionIds.length === 0) return { items: [], counts: new Map() };
      const rows = await sql.query<ArtifactRow & { count: number | string }>(
        `SELECT ${ARTIFACT_COLUMNS}, "count" FROM (
           SELECT *, row_number() OVER (PARTITION BY "modelVersionId" ORDER BY "name", "id") AS "rank",
                  count(*) OVER (PARTITION BY "modelVersionId") AS "count"
           FROM "ModelArtifact" WHERE "modelVersionId" = ANY($1::uuid[])
         ) ranked WHERE "rank" <= $2 ORDER BY "modelVersionId", "name", "id"`,
        [versionIds, perVersion],
      );
      const counts = new Map(rows.map((row) => [row.modelVersionId as string, Number(row.count)]));
      return { items: rows.map(toOutput), counts };
    },

    /** A page of one version's artifacts in the bundle's order (name, id), and how many it holds. */
    async pageOfVersion(versionId: string, offset: number, limit: number): Promise<{ items: ArtifactOutput[]; total: number }> {
      const [items, [counted]] = await Promise.all([
        sql.query<ArtifactRow>(`SELECT ${ARTIFACT_COLUMNS} FROM "ModelArtifact" WHERE "modelVersionId" = $1 ORDER BY "name", "id" OFFSET $2 LIMIT $3`, [
          versionId,
          offset,
          limit,
        ]),
        sql.query<{ total: number | string }>(`SELECT count(*) AS "total" FROM "ModelArtifact" WHERE "modelVersionId" = $1`, [versionId]),
      ]);
      return { items: items.map(toOutput), total: Number(counted?.total ?? 0) };
    },

    /** Links existing artifacts to a version being created (in its transaction); all of them, or NOT_FOUND. */
    async linkToVersion(tx: SqlQueryable, versionId: string, artifactIds: readonly string[]): Promise<void> {
      if (artifactIds.length === 0) return;
      const linked = await tx.query(`UPDATE "ModelArtifact" SET "modelVersionId" = $1 WHERE "id" = ANY($2::uuid[]) RETURNING "id"`, [versionId, artifactIds]);
      if (linked.length !== new Set(artifactIds).size) throw notFound('One or more artifacts', { artifactIds });
    },

    /** Records the artifacts a version made elsewhere arrived with (in the version's transaction); their blobs are already stored. */
    async insertForVersion(tx: SqlQueryable, versionId: string, artifacts: readonly VersionArtifactInput[]): Promise<void> {
      await insertRecords(tx, artifacts, { modelVersionId: versionId, trainingJobId: null });
    },

    /** Deletes a job's artifact records that no version holds (in the job deletion's transaction); returns how many. */
    async deleteUnversionedOfJob(tx: SqlQueryable, jobId: string): Promise<number> {
      const deleted = await tx.query(`DELETE FROM "ModelArtifact" WHERE "trainingJobId" = $1 AND "modelVersionId" IS NULL RETURNING "id"`, [jobId]);
      return deleted.length;
    },

    /** Deletes a version's artifact records (in the version deletion's transaction); returns how many. Their blobs go at the next collection unless something else uses them. */
    async deleteOfVersion(tx: SqlQueryable, versionId: string): Promise<number> {
      return (await tx.query(`DELETE FROM "ModelArtifact" WHERE "modelVersionId" = $1 RETURNING "id"`, [versionId])).length;
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
