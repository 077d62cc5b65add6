import { randomUUID } from 'node:crypto';
import { DomainError } from '@trainyard/core';
import type { Migration } from './migration-source';
import type { SqlExecutor, SqlQueryable } from './sql-executor';

// Any constant works; it only has to be the same for every Trainyard process on one database.
const MIGRATION_LOCK_KEY = 7_201_114_105_110;

// Prisma's own bookkeeping table, so `prisma migrate status` stays truthful.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

const migrationError = (message: string, details: Record<string, unknown>): DomainError => new DomainError('FAILED_PRECONDITION', message, details);

/** Refuses to touch a database whose history does not match the committed migrations. */
const checkHistory = (migrations: readonly Migration[], rows: readonly AppliedRow[]): Set<string> => {
  const known = new Map(migrations.map((migration) => [migration.name, migration]));
  const applied = new Set<string>();
  for (const row of rows) {
    if (row.rolled_back_at) continue;
    if (!row.finished_at) {
      throw migrationError(
        `Migration ${row.migration_name} was started but never finished; the database may be partially migrated. Restore a backup or repair it, then mark it with \`prisma migrate resolve\`.`,
        { migration: row.migration_name },
      );
    }
    const migration = known.get(row.migration_name);
    if (!migration) {
      throw migrationError(
        `The database has migration ${row.migration_name}, which this version of Trainyard does not know. It was migrated by a newer version.`,
        { migration: row.migration_name },
      );
    }
    if (migration.checksum !== row.checksum) {
      throw migrationError(
        `Migration ${row.migration_name} was modified after it was applied (checksum mismatch). Committed migrations must never change; add a new one instead.`,
        { migration: row.migration_name, recorded: row.checksum, current: migration.checksum },
      );
    }
    applied.add(row.migration_name);
  }
  return applied;
};

const applyOne = async (tx: SqlQueryable, migration: Migration): Promise<void> => {
  const id = randomUUID();
  await tx.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`, [
    id,
    migration.checksum,
    migration.name,
  ]);
  await tx.exec(migration.sql);
  await tx.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
};

/**
 * Applies pending migrations in order, all inside one transaction that holds an advisory
 * lock: concurrent starters wait and then find nothing to do, and a failure leaves the
 * database exactly as it was.
 */
export const applyMigrations = async (db: SqlExecutor, migrations: readonly Migration[]): Promise<MigrationResult> => {
  const upToDate = await alreadyUpToDate(db, migrations);
  if (upToDate) return upToDate;
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(CREATE_MIGRATIONS_TABLE);
    const rows = await tx.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
    );
    const applied = checkHistory(migrations, rows);
    const pending = migrations.filter((migration) => !applied.has(migration.name));
    for (const migration of pending) {
      try {
        await applyOne(tx, migration);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw migrationError(`Migration ${migration.name} failed and was rolled back: ${reason}`, {
          migration: migration.name,
        });
      }
    }
    return { applied: pending.map((migration) => migration.name), alreadyApplied: applied.size };
  });
};

/**
 * The common start: every migration applied. Checked with reads only, so a start takes no lock
 * and writes nothing (a DDL statement and a commit at every start, otherwise); anything else
 * goes through the locked transaction above, which checks again.
 */
const alreadyUpToDate = async (db: SqlExecutor, migrations: readonly Migration[]): Promise<MigrationResult | undefined> => {
  const [table] = await db.query<{ present: boolean }>(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`);
  if (!table?.present) return undefined;
  const rows = await db.query<AppliedRow>(`SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"`);
  const applied = checkHistory(migrations, rows);
  return migrations.every((migration) => applied.has(migration.name)) ? { applied: [], alreadyApplied: applied.size } : undefined;
};
