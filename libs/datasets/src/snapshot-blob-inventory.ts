import type { SqlQueryable } from '@trainyard/db';

/** The blobs dataset snapshots are frozen into, read through the caller's transaction (a backup's snapshot). */
export const snapshotBlobInventory = async (tx: SqlQueryable): Promise<Array<{ sha256: string; size: number }>> =>
  (
    await tx.query<{ sha256: string; size: string }>(`SELECT DISTINCT "blobSha256" AS "sha256", "blobSize"::text AS "size" FROM "DatasetSnapshot" ORDER BY 1`)
  ).map((row) => ({ sha256: row.sha256.trim(), size: Number(row.size) }));
