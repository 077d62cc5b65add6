import { PGlite } from '@electric-sql/pglite';
import { sha256Hex } from '@trainyard/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailableReason, startPostgresServer, type PostgresServer } from '@trainyard/test-services';
import { openDatabase } from './database';
import { applyMigrations } from './migration-runner';
import { loadMigrations, type Migration } from './migration-source';
import { pgExecutor } from './pg-executor';
import { pgliteExecutor } from './pglite-executor';
import { pgliteTemplate } from './pglite-template';
import type { SqlExecutor } from './sql-executor';

const migration = (name: string, sql: string): Migration => ({ name, sql, checksum: sha256Hex(sql) });

const m1 = migration('20260101000000_first', 'CREATE TABLE a (id int primary key);');
const m2 = migration('20260102000000_second', 'CREATE TABLE b (id int primary key); INSERT INTO b VALUES (1);');
const m3 = migration('20260103000000_third', 'CREATE TABLE c (id int primary key);');
const broken = migration('20260104000000_broken', 'CREATE TABLE d (id int primary key); SELECT * FROM no_such_table;');

interface Backend {
  /** A fresh, empty database and a way to open a second connection to it. */
  fresh(): Promise<{ db: SqlExecutor; second: () => Promise<SqlExecutor>; close(): Promise<void> }>;
}

const tableExists = async (db: SqlExecutor, table: string): Promise<boolean> => {
  const rows = await db.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]);
  return rows[0]?.found !== null && rows[0]?.found !== undefined;
};

const recorded = (db: SqlExecutor) =>
  db.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
    'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
  );

const pgliteBackend: Backend = {
  async fresh() {
    const pglite = await PGlite.create({ loadDataDir: new Blob([await pgliteTemplate([])]) });
    const db = pgliteExecutor(pglite);
    return { db, second: async () => db, close: () => pglite.close() };
  },
};

let server: PostgresServer | undefined;
let counter = 0;
const postgresBackend: Backend = {
  async fresh() {
    if (!server) throw new Error('postgres not started');
    const url = await server.createDatabase(`runner_${process.pid}_${counter++}`);
    const pools: pg.Pool[] = [];
    const open = async (): Promise<SqlExecutor> => {
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      pool.on('error', () => undefined); // as in production (database.ts): a connection ended at teardown is dropped

      pools.push(pool);
      return pgExecutor(pool);
    };
    return { db: await open(), second: open, close: async () => void (await Promise.all(pools.map((p) => p.end()))) };
  },
};

const skipPostgres = postgresUnavailableReason();
if (skipPostgres) console.warn(`Skipping PostgreSQL migration tests: ${skipPostgres}`);

beforeAll(async () => {
  if (!skipPostgres) server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

describe.each([
  { name: 'PGlite', backend: pgliteBackend, skip: false },
  { name: 'PostgreSQL', backend: postgresBackend, skip: Boolean(skipPostgres) },
])('migration runner on $name', ({ backend, skip }) => {
  it.skipIf(skip)('applies pending migrations in order, records checksums, and is idempotent', async () => {
    const { db, close } = await backend.fresh();
    try {
      expect(await applyMigrations(db, [m1, m2])).toEqual({ applied: [m1.name, m2.name], alreadyApplied: 0 });
      const rows = await recorded(db);
      expect(rows.map((row) => [row.migration_name, row.checksum])).toEqual([
        [m1.name, m1.checksum],
        [m2.name, m2.checksum],
      ]);
      expect(rows.every((row) => row.finished_at !== null)).toBe(true);
      expect(await applyMigrations(db, [m1, m2])).toEqual({ applied: [], alreadyApplied: 2 });
      expect(await applyMigrations(db, [m1, m2, m3])).toEqual({ applied: [m3.name], alreadyApplied: 2 });
      expect(await tableExists(db, 'c')).toBe(true);
    } finally {
      await close();
    }
  });

  it.skipIf(skip)('refuses a migration that was modified after it was applied', async () => {
    const { db, close } = await backend.fresh();
    try {
      await applyMigrations(db, [m1]);
      const edited = { ...m1, sql: `${m1.sql} -- edited`, checksum: sha256Hex(`${m1.sql} -- edited`) };
      await expect(applyMigrations(db, [edited, m2])).rejects.toThrow(/modified after it was applied/);
      expect(await tableExists(db, 'b')).toBe(false);
    } finally {
      await close();
    }
  });

  it.skipIf(skip)('refuses a partially applied (unfinished) migration and a migration it does not know', async () => {
    const { db, close } = await backend.fresh();
    try {
      await applyMigrations(db, [m1]);
      await db.query(`UPDATE "_prisma_migrations" SET finished_at = NULL WHERE migration_name = $1`, [m1.name]);
      await expect(applyMigrations(db, [m1, m2])).rejects.toThrow(/never finished/);
      await db.query(`UPDATE "_prisma_migrations" SET finished_at = now()`);
      await expect(applyMigrations(db, [m2])).rejects.toThrow(/does not know/);
      expect(await tableExists(db, 'b')).toBe(false);
    } finally {
      await close();
    }
  });

  it.skipIf(skip)('rolls back the whole run when a migration fails', async () => {
    const { db, close } = await backend.fresh();
    try {
      await applyMigrations(db, [m1]);
      await expect(applyMigrations(db, [m1, m2, broken])).rejects.toThrow(/20260104000000_broken failed and was rolled back/);
      expect(await tableExists(db, 'b')).toBe(false);
      expect(await tableExists(db, 'd')).toBe(false);
      expect((await recorded(db)).map((row) => row.migration_name)).toEqual([m1.name]);
      expect(await applyMigrations(db, [m1, m2])).toEqual({ applied: [m2.name], alreadyApplied: 1 });
    } finally {
      await close();
    }
  });

  it.skipIf(skip)('starts on an up-to-date database with reads only (no lock, no DDL, no commit)', async () => {
    const { db, second, close } = await backend.fresh();
    try {
      await applyMigrations(db, [m1, m2]);
      // Read-only from here on: this session (PGlite's only one) and every new PostgreSQL connection.
      const [{ name } = { name: '' }] = await db.query<{ name: string }>('SELECT current_database() AS name');
      await db.query(`ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
      await db.query('SET default_transaction_read_only = on');
      const readOnly = await second();
      expect(await applyMigrations(readOnly, [m1, m2])).toEqual({ applied: [], alreadyApplied: 2 });
      await expect(applyMigrations(readOnly, [m1, m2, m3])).rejects.toThrow(/read-only transaction/);
    } finally {
      await close();
    }
  });

  it.skipIf(skip)('lets concurrent starters apply each migration exactly once', async () => {
    const { db, second, close } = await backend.fresh();
    try {
      const other = await second();
      const results = await Promise.all([applyMigrations(db, [m1, m2, m3]), applyMigrations(other, [m1, m2, m3])]);
      expect(results.flatMap((result) => result.applied).sort()).toEqual([m1.name, m2.name, m3.name]);
      expect(await recorded(db)).toHaveLength(3);
    } finally {
      await close();
    }
  });
});

describe('committed migrations', () => {
  it('apply on PGlite and Prisma can query the result', async () => {
    const db = await openDatabase({ kind: 'pglite' });
    try {
      await db.migrate();
      const model = await db.prisma.modelRegistry.create({ data: { id: crypto.randomUUID(), name: 'detector', tags: ['x'] } });
      expect(model).toMatchObject({ name: 'detector', active: true, tags: ['x'] });
      expect((await db.migrate()).applied).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it.skipIf(Boolean(skipPostgres))('apply on PostgreSQL and Prisma can query the result', async () => {
    if (!server) throw new Error('postgres not started');
    const db = await openDatabase({ kind: 'postgresql', url: await server.createDatabase(`committed_${process.pid}`) });
    try {
      const result = await db.migrate();
      expect(result.applied).toEqual((await loadMigrations()).map((m) => m.name));
      const model = await db.prisma.modelRegistry.create({ data: { id: crypto.randomUUID(), name: 'detector' } });
      expect(model.name).toBe('detector');
      await expect(db.prisma.modelRegistry.create({ data: { id: crypto.randomUUID(), name: 'detector' } })).rejects.toThrow();
    } finally {
      await db.close();
    }
  });
});
