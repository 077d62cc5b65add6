/**
 * The small SQL surface that sits beside Prisma: the migration runner and the hot paths
 * (bulk import, metrics) use it. One implementation per backend, same PostgreSQL dialect.
 */
export interface SqlQueryable {
  /** One parameterised statement ($1, $2, ...). */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** A script of several statements, no parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlExecutor extends SqlQueryable {
  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
}
