import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { postgresUnavailableReason, startPostgresServer, type PostgresServer } from '@trainyard/test-services';
import { openDatabase, type Database } from './database';

const skip = postgresUnavailableReason();
let server: PostgresServer | undefined;

describe.skipIf(Boolean(skip))(`a PostgreSQL database whose connections are terminated${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    server = await startPostgresServer();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  // Without a listener on the pool, an idle connection's death is an uncaught exception: Vitest fails the run with it, as
  // the server process would exit.
  it('survives its idle connections being killed (a PostgreSQL restart, an administrator) and reconnects', async () => {
    if (!server) throw new Error('postgres not started');
    const name = `terminated_${process.pid}`;
    const url = await server.createDatabase(name);
    const db: Database = await openDatabase({ kind: 'postgresql', url });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await db.migrate();
      expect(await db.sql.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await db.prisma.modelRegistry.count();
      const killed = await admin.query<{ killed: boolean }>(
        'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      expect(killed.rows.length).toBeGreaterThanOrEqual(2); // ours and Prisma's idle connections
      await vi.waitFor(async () => expect(await db.sql.query('SELECT 2 AS two')).toEqual([{ two: 2 }]), { timeout: 10_000, interval: 100 });
      await vi.waitFor(async () => expect(await db.prisma.modelRegistry.count()).toBe(0), { timeout: 10_000, interval: 100 });
    } finally {
      await admin.end();
      await db.close();
    }
  });
});
