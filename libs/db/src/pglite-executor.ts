import type { PGlite, Transaction } from '@electric-sql/pglite';
import { copyCsvStatement, type SqlExecutor, type SqlQueryable } from './sql-executor';

const queryable = (target: PGlite | Transaction): SqlQueryable => ({
  async query<Row>(sql: string, params: readonly unknown[] = []) {
    const result = await target.query<Row>(sql, params as unknown[]);
    return result.rows;
  },
  async exec(script: string) {
    await target.exec(script);
  },
  async copyCsv(table: string, columns: readonly string[], csv: string) {
    await target.query(copyCsvStatement(table, columns, "'/dev/blob'"), [], { blob: new Blob([csv]) });
  },
});

/** PGlite is one connection; its transaction() holds the connection's lock for the whole unit. */
export const pgliteExecutor = (db: PGlite): SqlExecutor => ({
  ...queryable(db),
  transaction: (work) => db.transaction((tx) => work(queryable(tx))),
});
