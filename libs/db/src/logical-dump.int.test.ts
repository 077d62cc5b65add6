import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './database';
import { dumpDatabase, loadDatabase } from './logical-dump';

describe('logical dump and load', () => {
  it('reads a table in page slices of whole rows, and loading the slices gives back every row exactly (quotes, newlines, NULL vs empty, JSON)', async () => {
    const source = await createTestDatabase();
    const target = await createTestDatabase();
    try {
      await source.sql.exec(`CREATE TABLE "Note" (id serial PRIMARY KEY, body text, extra jsonb, empty text, missing text)`);
      for (let i = 0; i < 400; i += 1) {
        await source.sql.query(`INSERT INTO "Note" (body, extra, empty, missing) VALUES ($1, $2, '', NULL)`, [
          `note ${i}, "quoted"\nsecond line ${'x'.repeat(i % 50)}`,
          JSON.stringify({ i, tags: ['a', 'b,c'] }),
        ]);
      }
      await target.sql.exec(`CREATE TABLE "Note" (id serial PRIMARY KEY, body text, extra jsonb, empty text, missing text)`);
      const slices: Uint8Array[] = [];
      const dump = await dumpDatabase(
        source,
        { writeCsv: async (table, chunk) => void (table === 'Note' && slices.push(chunk)), alongside: async () => null },
        1,
      );
      const note = dump.tables.find((table) => table.name === 'Note');
      expect(note).toMatchObject({ rows: 400, columns: ['id', 'body', 'extra', 'empty', 'missing'] });
      expect(note?.chunks.length).toBeGreaterThan(5); // one slice per heap page
      expect(note?.chunks).toEqual(slices.map((slice) => slice.length));

      await loadDatabase(target, [
        {
          name: 'Note',
          columns: note?.columns ?? [],
          rows: 400,
          async *chunks() {
            for (const slice of slices) yield new Uint8Array(slice);
          },
        },
      ]);
      const all = `SELECT * FROM "Note" ORDER BY id`;
      expect(await target.sql.query(all)).toEqual(await source.sql.query(all));
      // The id sequence continues after the restored rows.
      expect(await target.sql.query(`INSERT INTO "Note" (body) VALUES ('next') RETURNING id`)).toEqual([{ id: 401 }]);
    } finally {
      await source.close();
      await target.close();
    }
  }, 60_000);

  it('refuses a load whose row count differs from the dump, and keeps nothing', async () => {
    const db = await createTestDatabase();
    try {
      await db.sql.exec(`CREATE TABLE "Note" (id int PRIMARY KEY)`);
      const load = loadDatabase(db, [
        {
          name: 'Note',
          columns: ['id'],
          rows: 3,
          async *chunks() {
            yield new TextEncoder().encode('1\n2\n');
          },
        },
      ]);
      await expect(load).rejects.toThrow('Table Note loaded 2 rows, the backup recorded 3');
      expect(await db.sql.query(`SELECT count(*)::int AS n FROM "Note"`)).toEqual([{ n: 0 }]);
    } finally {
      await db.close();
    }
  });
});
