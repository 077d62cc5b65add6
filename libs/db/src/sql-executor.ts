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
   * `COPY table (columns) FROM '/dev/blob' WITH (FORMAT csv)` with `csv` as the data, where the
   * backend can (PGlite). Bulk paths use it when present: COPY parses rows far faster than
   * an INSERT of expanded JSON.
   */
  copyCsv?(copyStatement: string, csv: string): Promise<void>;
}

export interface SqlExecutor extends SqlQueryable {
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
}
