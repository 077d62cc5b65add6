import { DomainError } from '@trainyard/core';
import type { SqlQueryable } from '@trainyard/db';
import type { SnapshotManifest } from './snapshot-manifest';

/** A snapshot made elsewhere, as it arrives: its manifest with the data blob's size (the blob is stored and verified already). */
export type ArrivingSnapshot = SnapshotManifest & { blobSize: number };

/** Same id, other data: never one id for two datasets. */
export const snapshotConflict = (id: string, here: string, arriving: string): DomainError =>
  new DomainError(
    'CONFLICT',
    `Dataset snapshot ${id} exists here with other data (content hash ${here}, the other side has ${arriving}); snapshots are immutable, so it is not replaced`,
    { id, here, arriving },
  );

const createdAtOf = (text: string): Date => {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? new Date() : date;
};

/**
 * Registers a snapshot made elsewhere (pushed to a shared server, or pulled from one) under its
 * own id and content hash, in the caller's transaction (a version's, when it travels with one).
 * Already here with the same data: nothing changes (`created` false). Same id, other data:
 * CONFLICT. Its name is kept unless a different snapshot here has it: then `<name>~<first 8
 * characters of its id>`, since names are unique.
 */
export const importSnapshot = async (tx: SqlQueryable, snapshot: ArrivingSnapshot, provenance: unknown): Promise<{ created: boolean }> => {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('DatasetSnapshot.id'), hashtext($1))`, [snapshot.id]);
  const [existing] = await tx.query<{ blobSha256: string }>(`SELECT "blobSha256" FROM "DatasetSnapshot" WHERE "id" = $1::uuid`, [snapshot.id]);
  if (existing) {
    if (existing.blobSha256.trim() !== snapshot.blobSha256) throw snapshotConflict(snapshot.id, existing.blobSha256.trim(), snapshot.blobSha256);
    return { created: false };
  }
  // The same lock as a local create: a name is checked and taken by one writer at a time.
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('DatasetSnapshot.name'), hashtext($1))`, [snapshot.name]);
  const [taken] = await tx.query(`SELECT 1 FROM "DatasetSnapshot" WHERE "name" = $1 LIMIT 1`, [snapshot.name]);
  const name = taken ? `${snapshot.name.slice(0, 240)}~${snapshot.id.slice(0, 8)}` : snapshot.name;
  await tx.query(
    `INSERT INTO "DatasetSnapshot" ("id", "name", "filter", "validationFraction", "seed", "totalCount", "trainCount", "validationCount", "blobSha256", "blobSize", "provenance", "createdAt")
     VALUES ($1::uuid, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10::bigint, $11::jsonb, $12)`,
    [
      snapshot.id,
      name,
      JSON.stringify(snapshot.filter ?? {}),
      snapshot.validationFraction,
      snapshot.seed,
      snapshot.totalCount,
      snapshot.trainCount,
      snapshot.validationCount,
      snapshot.blobSha256,
      String(snapshot.blobSize),
      JSON.stringify(provenance),
      createdAtOf(snapshot.createdAt),
    ],
  );
  return { created: true };
};
