import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailableReason, startPostgresServer, type PostgresServer } from '@trainyard/test-services';
import { pgExecutor } from './pg-executor';
import { pgliteExecutor } from './pglite-executor';
import type { SqlExecutor } from './sql-executor';

// copyCsv on both backends, with the same assertions: the bulk import relies on it (pair-insert.ts)
// on PGlite and on PostgreSQL alike.

const skip = postgresUnavailableReason();
let server: PostgresServer | undefined;
let pool: pg.Pool | undefined;
let pglite: PGlite | undefined;

const SCHEMA = `CREATE TABLE "Item" (id int PRIMARY KEY, "label" text, note text, tags text[], score float8)`;
const COLUMNS = ['id', 'label', 'note', 'tags', 'score'] as const;
const items = (db: SqlExecutor) =>
  db.query<{ id: number; label: string | null; note: string | null; tags: string[] | null; score: number | null }>('SELECT * FROM "Item" ORDER BY id');

const backends: { name: string; skip?: string; open: () => Promise<SqlExecutor> }[] = [
  {
    name: 'PGlite',
    async open() {
      pglite = await PGlite.create();
      return pgliteExecutor(pglite);
    },
  },
  {
    name: 'PostgreSQL',
    ...(skip ? { skip } : {}),
    async open() {
      server = await startPostgresServer();
      // One connection: a COPY that left it broken would fail every later query.
      pool = new pg.Pool({ connectionString: await server.createDatabase(`copy_csv_${process.pid}`), max: 1 });
      // As in production (database.ts): an idle connection the server ends at teardown is dropped, not an uncaught error.
      pool.on('error', () => undefined);
      return pgExecutor(pool);
    },
  },
];

afterAll(async () => {
  await pglite?.close();
  await pool?.end();
  await server?.stop();
});

describe.each(backends)('copyCsv on $name', ({ name, skip: skipped, open }) => {
  let db: SqlExecutor;
  beforeAll(async () => {
    if (skipped) return;
    db = await open();
    await db.exec(SCHEMA);
  }, 120_000);

  it.skipIf(Boolean(skipped))(
    `loads quotes, commas, newlines, arrays, and tells NULL (empty) from '' (quoted)${skipped ? ` — skipped: ${skipped}` : ''}`,
    async () => {
      if (!db.copyCsv) throw new Error(`${name} offers no copyCsv, so imports would fall back to row inserts`);
      const csv = ['1,"say ""hi"", then, go","line one\nline two","{""a,b"",""c\\""d""}",0.25', '2,,"",{},', '3,"",,"{}",1'].join('\n');
      await db.copyCsv('Item', COLUMNS, csv);
      expect(await items(db)).toEqual([
        { id: 1, label: 'say "hi", then, go', note: 'line one\nline two', tags: ['a,b', 'c"d'], score: 0.25 },
        { id: 2, label: null, note: '', tags: [], score: null },
        { id: 3, label: '', note: null, tags: [], score: 1 },
      ]);
    },
  );

  it.skipIf(Boolean(skipped))('rejects a COPY that breaks the unique index as a whole, and the connection still works', async () => {
    await expect(db.copyCsv?.('Item', COLUMNS, '10,new,,{},\n1,again,,{},')).rejects.toMatchObject({ code: '23505' });
    expect((await items(db)).map((item) => item.id)).toEqual([1, 2, 3]); // row 10 did not stay either
    await db.copyCsv?.('Item', COLUMNS, '10,new,,{},');
    expect(await db.query('SELECT count(*)::int AS n FROM "Item"')).toEqual([{ n: 4 }]);
  });

  it.skipIf(Boolean(skipped))('inside a transaction that rolls back, copies nothing', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.copyCsv?.('Item', COLUMNS, '20,in a transaction,,{},');
        expect(await tx.query('SELECT count(*)::int AS n FROM "Item" WHERE id = 20')).toEqual([{ n: 1 }]); // same connection sees it
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await db.query('SELECT count(*)::int AS n FROM "Item" WHERE id = 20')).toEqual([{ n: 0 }]);
  });
});
