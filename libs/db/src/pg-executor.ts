import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyCsvStatement, type SqlExecutor, type SqlQueryable } from './sql-executor';

// COPY ... FROM STDIN streams the CSV over the connection (pg-copy-streams), so it needs one
// client for the whole statement: the transaction's, or one taken from the pool for it.
const copyCsvOn = async (client: PoolClient, table: string, columns: readonly string[], csv: string | Uint8Array<ArrayBuffer>): Promise<void> => {
  await pipeline(Readable.from([Buffer.from(csv)]), client.query(copyFrom(copyCsvStatement(table, columns, 'STDIN'))));
};

// An error PostgreSQL reported (a unique violation, bad data) ends the COPY and leaves the
// connection ready for the next query; anything else (the socket broke mid-stream) may not.
const isServerError = (error: unknown): boolean => typeof (error as { code?: unknown } | null)?.code === 'string';

const queryable = (target: Pool | PoolClient, copyCsv: SqlQueryable['copyCsv']): SqlQueryable => ({
  async query<Row>(sql: string, params: readonly unknown[] = []) {
    const result = await target.query(sql, params as unknown[]);
    return result.rows as Row[];
  },
  async exec(script: string) {
    // Without parameters pg uses the simple protocol, which accepts multi-statement scripts.
    await target.query(script);
  },
  copyCsv,
});

export const pgExecutor = (pool: Pool): SqlExecutor => ({
  ...queryable(pool, async (table, columns, csv) => {
    const client = await pool.connect();
    try {
      await copyCsvOn(client, table, columns, csv);
      client.release();
    } catch (error) {
      client.release(isServerError(error) ? undefined : (error as Error)); // a broken connection is discarded, not reused
      throw error;
    }
  }),
  async transaction(work) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(queryable(client, (table, columns, csv) => copyCsvOn(client, table, columns, csv)));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  },
});
