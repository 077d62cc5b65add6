import type { SqlQueryable } from '@trainyard/db';

export interface InventoriedBlob {
  sha256: string;
  size: number;
}

/**
 * The blobs this context knows of, read through the caller's transaction (a backup reads it in
 * the same snapshot as the rows it dumps): the index of stored blobs plus every blob an artifact
 * record points at (a blob stored before the index existed is in the store but not the index).
 */
export const blobInventory = async (tx: SqlQueryable): Promise<InventoriedBlob[]> =>
  (
    await tx.query<{ sha256: string; size: string }>(
      `SELECT "sha256", max("size")::text AS "size" FROM (
         SELECT "sha256", "size" FROM "StoredBlob" UNION ALL SELECT "sha256", "size" FROM "ModelArtifact"
       ) AS known GROUP BY "sha256" ORDER BY "sha256"`,
    )
  ).map((row) => ({ sha256: row.sha256.trim(), size: Number(row.size) }));
