import type { Database } from '@trainyard/db';

/** A version as people name it: its model and number. */
export interface VersionNumber {
  id: string;
  model: string;
  version: number;
}

/**
 * The model and number of each of `ids` that still exists (in no particular order): other
 * contexts keep version ids — sync's local ↔ remote links, a shared server's received pushes — and
 * answer with numbers.
 */
export const versionNumbers = async (database: Database, ids: readonly string[]): Promise<VersionNumber[]> => {
  if (ids.length === 0) return [];
  const rows = await database.prisma.modelVersion.findMany({
    where: { id: { in: [...ids] } },
    select: { id: true, version: true, model: { select: { name: true } } },
  });
  return rows.map((row) => ({ id: row.id, model: row.model.name, version: row.version }));
};
