import type { PGlite, Transaction } from '@electric-sql/pglite';
import { copyCsvStatement, type PageRange, quoteIdentifier, type SqlExecutor, type SqlQueryable } from './sql-executor';

const queryable = (target: PGlite | Transaction): SqlQueryable => ({
  async query<Row>(sql: string, params: readonly unknown[] = []) {
    const result = await target.query<Row>(sql, params as unknown[]);
    return result.rows;
  },
  async exec(script: string) {
    await target.exec(script);
  },
  async copyCsv(table: string, columns: readonly string[], csv: string | Uint8Array<ArrayBuffer>) {
    await target.query(copyCsvStatement(table, columns, "'/dev/blob'"), [], { blob: new Blob([csv]) });
  },
  async copyCsvOut(table: string, columns: readonly string[], pages?: PageRange) {
    // A page range is a TID range scan: each slice reads only its own pages.
    const range = pages ? ` WHERE ctid >= '(${pages.from},0)'::tid${pages.to === undefined ? '' : ` AND ctid < '(${pages.to},0)'::tid`}` : '';
    const source = `(SELECT ${columns.map(quoteIdentifier).join(', ')} FROM ${quoteIdentifier(table)}${range})`;
    const result = await target.query(`COPY ${source} TO '/dev/blob' WITH (FORMAT csv)`);
    return result.blob ? new Uint8Array(await result.blob.arrayBuffer()) : new Uint8Array();
  },
});

/** PGlite is one connection; its transaction() holds the connection's lock for the whole unit. */
export const pgliteExecutor = (db: PGlite): SqlExecutor => ({
  ...queryable(db),
  transaction: (work) => db.transaction((tx) => work(queryable(tx))),
});
