import { DomainError } from '@trainyard/core';
import type { Database } from './database';
import { quoteIdentifier, type SqlQueryable } from './sql-executor';

/** One table of a logical dump: its columns in COPY order, its row count, and the byte length of each CSV slice written. */
export interface TableDump {
  name: string;
  columns: string[];
  rows: number;
  /** Each slice is whole rows, so a load can COPY them one at a time. */
  chunks: number[];
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

export interface DumpSink<Extra> {
  /** Receives each table's CSV, slice by slice, in order (a table with no rows gets none). */
  writeCsv(table: string, chunk: Uint8Array): Promise<void>;
  /** Reads what else belongs to the same snapshot (the blobs the dumped rows reference) through the same transaction. */
  alongside(tx: SqlQueryable): Promise<Extra>;
}

/**
 * Heap pages per COPY slice (8 KiB each): ~16 MB of table at a time, so a large table never sits
 * whole in memory (PGlite's WASM heap does not shrink again once grown).
 */
const PAGES_PER_SLICE = 2_048;

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

const pagesOf = async (tx: SqlQueryable, table: string): Promise<number> =>
  (await tx.query<{ pages: number }>(`SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::int)::int AS pages`, [quoteIdentifier(table)]))[0]
    ?.pages ?? 0;

/**
 * Every table as CSV, in one read-only REPEATABLE READ transaction: one consistent snapshot
 * however the server keeps writing (on PGlite the transaction also holds its one connection, so
 * writes wait until the dump is read). Large tables are read in slices of heap pages; every row
 * visible to the snapshot is on a page that existed when it was taken, and the last slice is
 * open-ended anyway.
 */
export const dumpDatabase = <Extra>(database: Database, sink: DumpSink<Extra>, pagesPerSlice = PAGES_PER_SLICE): Promise<DatabaseDump<Extra>> =>
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
      const pages = await pagesOf(tx, name);
      const chunks: number[] = [];
      for (let from = 0; from === 0 || from < pages; from += pagesPerSlice) {
        const last = from + pagesPerSlice >= pages;
        const csv = await copyOut(name, columns, { from, ...(last ? {} : { to: from + pagesPerSlice }) });
        if (csv.length === 0) continue;
        await sink.writeCsv(name, csv);
        chunks.push(csv.length);
      }
      tables.push({ name, columns, rows: await countRows(tx, name), chunks });
    }
    return { postgresVersion, migrations, tables, extra: await sink.alongside(tx) };
  });

/** A table to load: its columns and row count from the dump, and its CSV slices (each whole rows), read when needed. */
export interface TableLoad {
  name: string;
  columns: readonly string[];
  rows: number;
  chunks(): AsyncIterable<Uint8Array<ArrayBuffer>>;
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
      for await (const chunk of table.chunks()) await tx.copyCsv(table.name, table.columns, chunk);
      const rows = await countRows(tx, table.name);
      if (rows !== table.rows)
        throw loadError(`Table ${table.name} loaded ${rows} rows, the backup recorded ${table.rows}`, { table: table.name, rows, expected: table.rows });
    }
    await resetSequences(tx);
  });
