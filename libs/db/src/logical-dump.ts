import { DomainError } from '@trainyard/core';
import type { Database } from './database';
import { quoteIdentifier, type SqlQueryable } from './sql-executor';

/** One table of a logical dump: its columns in COPY order, its row count and its rows as CSV. */
export interface TableDump {
  name: string;
  columns: string[];
  rows: number;
  csv: Uint8Array;
}

export interface DatabaseDump<Extra> {
  /** `SHOW server_version` of the database dumped, e.g. "17.5". */
  postgresVersion: string;
  /** Applied migrations, in the order they were applied. */
  migrations: string[];
  /** Every table of the schema but the migration bookkeeping (rebuilt by the migrations on restore). */
  tables: TableDump[];
  /** What `alongside` read in the same snapshot. */
  extra: Extra;
}

const MIGRATIONS_TABLE = '_prisma_migrations';

const requireCopyOut = (tx: SqlQueryable): NonNullable<SqlQueryable['copyCsvOut']> => {
  if (!tx.copyCsvOut) throw new DomainError('FAILED_PRECONDITION', 'A logical dump needs the embedded PGlite database; back up PostgreSQL with pg_dump', {});
  return tx.copyCsvOut.bind(tx);
};

const tablesOf = async (tx: SqlQueryable): Promise<string[]> =>
  (
    await tx.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> $1 ORDER BY c.relname`,
      [MIGRATIONS_TABLE],
    )
  ).map((row) => row.name);

/** Stored columns (generated ones are computed again on load), in table order. */
export const columnsOf = async (tx: SqlQueryable, table: string): Promise<string[]> =>
  (
    await tx.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`,
      [table],
    )
  ).map((row) => row.name);

const countRows = async (tx: SqlQueryable, table: string): Promise<number> =>
  (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdentifier(table)}`))[0]?.n ?? 0;

/**
 * Every table as CSV, in one read-only REPEATABLE READ transaction: one consistent snapshot
 * however the server keeps writing (on PGlite the transaction also holds its one connection, so
 * writes wait until the dump is read). `alongside` reads what else belongs to the same snapshot
 * (the blobs the dumped rows reference) through the same transaction.
 */
export const dumpDatabase = <Extra>(database: Database, alongside: (tx: SqlQueryable) => Promise<Extra>): Promise<DatabaseDump<Extra>> =>
  database.sql.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const copyOut = requireCopyOut(tx);
    const postgresVersion = (await tx.query<{ server_version: string }>('SHOW server_version'))[0]?.server_version ?? '';
    const migrations = (
      await tx.query<{ migration_name: string }>(
        `SELECT migration_name FROM ${quoteIdentifier(MIGRATIONS_TABLE)}
          WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY started_at, migration_name`,
      )
    ).map((row) => row.migration_name);
    const tables: TableDump[] = [];
    for (const name of await tablesOf(tx)) {
      const columns = await columnsOf(tx, name);
      tables.push({ name, columns, rows: await countRows(tx, name), csv: await copyOut(name, columns) });
    }
    return { postgresVersion, migrations, tables, extra: await alongside(tx) };
  });

/** A table to load: the CSV read back from a dump. */
export interface TableLoad {
  name: string;
  columns: readonly string[];
  rows: number;
  csv: Uint8Array<ArrayBuffer>;
}

const loadError = (message: string, details: Record<string, unknown>): DomainError => new DomainError('INTEGRITY', message, details);

/** Sequences owned by a column, so ids handed out after a restore continue after the restored ones. */
const resetSequences = async (tx: SqlQueryable): Promise<void> => {
  const owned = await tx.query<{ sequence: string; table: string; column: string }>(
    `SELECT s.relname AS sequence, t.relname AS table, a.attname AS column
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
      WHERE d.deptype IN ('a', 'i')`,
  );
  for (const { sequence, table, column } of owned) {
    await tx.query(`SELECT setval($1::regclass, COALESCE((SELECT max(${quoteIdentifier(column)}) FROM ${quoteIdentifier(table)}), 0) + 1, false)`, [
      quoteIdentifier(sequence),
    ]);
  }
};

/**
 * Loads a dump into a freshly migrated, empty database, all in one transaction: the tables must
 * exist with the dumped columns, rows go in through COPY with foreign-key triggers off (the dump
 * is one consistent snapshot, so the order tables load in does not matter), and every table must
 * end with the row count the dump recorded. Any failure leaves the database empty.
 */
export const loadDatabase = (database: Database, tables: readonly TableLoad[]): Promise<void> =>
  database.sql.transaction(async (tx) => {
    if (!tx.copyCsv) throw new DomainError('FAILED_PRECONDITION', 'Loading a dump needs COPY support', {});
    await tx.query('SET LOCAL session_replication_role = replica');
    const present = new Set(await tablesOf(tx));
    for (const table of tables) {
      if (!present.has(table.name)) throw loadError(`The backup has a table ${table.name} this database does not have`, { table: table.name });
      const known = new Set(await columnsOf(tx, table.name));
      const unknown = table.columns.filter((column) => !known.has(column));
      if (unknown.length > 0)
        throw loadError(`The backup's table ${table.name} has columns this database does not: ${unknown.join(', ')}`, { table: table.name });
      if (await countRows(tx, table.name)) throw loadError(`Table ${table.name} is not empty; a backup loads only into a new database`, { table: table.name });
      if (table.csv.length > 0) await tx.copyCsv(table.name, table.columns, table.csv);
      const rows = await countRows(tx, table.name);
      if (rows !== table.rows)
        throw loadError(`Table ${table.name} loaded ${rows} rows, the backup recorded ${table.rows}`, { table: table.name, rows, expected: table.rows });
    }
    await resetSequences(tx);
  });
