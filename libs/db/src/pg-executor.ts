import type { Pool, PoolClient } from 'pg';
import type { SqlExecutor, SqlQueryable } from './sql-executor';

const queryable = (target: Pool | PoolClient): SqlQueryable => ({
  async query<Row>(sql: string, params: readonly unknown[] = []) {
    const result = await target.query(sql, params as unknown[]);
    return result.rows as Row[];
  },
  async exec(script: string) {
    // Without parameters pg uses the simple protocol, which accepts multi-statement scripts.
    await target.query(script);
  },
});

export const pgExecutor = (pool: Pool): SqlExecutor => ({
  ...queryable(pool),
  async transaction(work) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(queryable(client));
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
