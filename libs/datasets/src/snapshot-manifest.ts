import type { VersionBundle } from '@trainyard/contracts';
import type { Database } from '@trainyard/db';

/** What a version made from a snapshot carries about it to other machines: the manifest (its data blob travels as a blob of the push). */
export type SnapshotManifest = NonNullable<VersionBundle['lineage']['datasetSnapshot']>;

/** The snapshot's manifest, or null when it no longer exists (a version outlives its snapshot). */
export const snapshotManifest = async (database: Database, id: string): Promise<SnapshotManifest | null> => {
  const snapshot = await database.prisma.datasetSnapshot.findUnique({ where: { id } });
  if (!snapshot) return null;
  return {
    id: snapshot.id,
    name: snapshot.name,
    blobSha256: snapshot.blobSha256,
    blobSize: Number(snapshot.blobSize),
    totalCount: snapshot.totalCount,
    trainCount: snapshot.trainCount,
    validationCount: snapshot.validationCount,
    filter: snapshot.filter as SnapshotManifest['filter'],
    seed: snapshot.seed,
    validationFraction: snapshot.validationFraction,
    createdAt: snapshot.createdAt.toISOString(),
  };
};
