/**
 * The small SQL surface that sits beside Prisma: the migration runner and the hot paths
 * (bulk import, metrics) use it. One implementation per backend, same PostgreSQL dialect.
 */
export interface SqlQueryable {
  /** One parameterised statement ($1, $2, ...). */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** A script of several statements, no parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * `COPY "table" ("column", ...) ... WITH (FORMAT csv)` with `csv` as the data: an empty unquoted
   * field is NULL, a quoted one text. Bulk paths use it when present: COPY parses rows far faster
   * than an INSERT of expanded JSON. Each backend supplies the data its own way (PGlite from
   * '/dev/blob', PostgreSQL FROM STDIN), so callers name only the table and columns.
   */
  copyCsv?(table: string, columns: readonly string[], csv: string | Uint8Array<ArrayBuffer>): Promise<void>;
  /**
   * `COPY "table" ("column", ...) TO ... WITH (FORMAT csv)`: the table's rows as CSV in the same
   * format copyCsv reads. PGlite only (a backup of the local data dir); a shared server's
   * PostgreSQL is backed up with its own tools.
   */
  copyCsvOut?(table: string, columns: readonly string[], pages?: PageRange): Promise<Uint8Array>;
}

/** Heap pages `[from, to)` of a table (`to` undefined: to the end), so a large table is read in slices. */
export interface PageRange {
  from: number;
  to?: number;
}

export interface SqlExecutor extends SqlQueryable {
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
}

/** The COPY statement both backends run, `source` being where each one reads the data from. */
/** A PostgreSQL identifier in double quotes (names here come from the catalog, never from input). */
export const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export const copyCsvStatement = (table: string, columns: readonly string[], source: 'STDIN' | "'/dev/blob'"): string =>
  `COPY ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')}) FROM ${source} WITH (FORMAT csv)`;
