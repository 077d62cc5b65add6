import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installPath, sha256Hex } from '@trainyard/core';
import { assertBuildKnowsMigrations } from './built-migrations';

export interface Migration {
  name: string;
  sql: string;
  /** Same checksum Prisma records: SHA-256 of the migration script. */
  checksum: string;
}

/** The committed migrations of this checkout (prisma/migrations at the repository root). */
export const defaultMigrationsDir = installPath('prisma', 'migrations');

/**
 * Reads `<dir>/<name>/migration.sql` for every migration folder, in name (timestamp) order. The
 * built server refuses a folder its build does not know (built-migrations.ts).
 */
export const loadMigrations = async (dir: string = defaultMigrationsDir): Promise<Migration[]> => {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  assertBuildKnowsMigrations(names);
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: sha256Hex(sql) };
    }),
  );
};
