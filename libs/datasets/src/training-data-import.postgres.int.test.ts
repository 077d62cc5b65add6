import { Readable } from 'node:stream';
import { createTestDatabase, openDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailableReason, startPostgresServer, type PostgresServer } from '@trainyard/test-services';
import { generatedPair } from './test-pairs';
import { importTrainingData } from './training-data-import';
import { createTrainingDataService } from './training-data.service';

// The same imports on PGlite and on PostgreSQL, compared: both go through COPY (pair-insert.ts), with
// the same optimistic duplicate handling and its staging fallback (which, on a pool, must keep its
// temporary table on one connection).

const skip = postgresUnavailableReason();
let server: PostgresServer | undefined;
const opened: Database[] = [];

const jsonl = (lines: readonly string[]): Readable => Readable.from([Buffer.from(lines.join('\n'))]);

// 3 000 lines: 2 500 distinct pairs, 300 repeated within the file, 200 already stored before the import.
const STORED = Array.from({ length: 200 }, (_, i) => generatedPair(70_000 + i));
const FILE = [
  ...Array.from({ length: 2_500 }, (_, i) =>
    JSON.stringify(generatedPair(80_000 + i, { tags: ['a.b:c/d-e', 'u_s'], sourceModel: 'm "q", \\N', feedbackComment: i % 2 ? '' : 'a "note",\nover lines' })),
  ),
  ...Array.from({ length: 300 }, (_, i) =>
    JSON.stringify(
      generatedPair(80_000 + i * 7, { tags: ['a.b:c/d-e', 'u_s'], sourceModel: 'm "q", \\N', feedbackComment: (i * 7) % 2 ? '' : 'a "note",\nover lines' }),
    ),
  ),
  ...STORED.map((pair) => JSON.stringify(pair)),
];
// A second file, imported twice at once: one COPY meets the other's rows and takes the staging path.
const CONCURRENT = Array.from({ length: 2_000 }, (_, i) => JSON.stringify(generatedPair(90_000 + i)));

const runImports = async (db: Database) => {
  const service = createTrainingDataService(db);
  await service.collectBatch(STORED);
  const report = await importTrainingData(db.sql, jsonl(FILE), 'jsonl');
  const [a, b] = await Promise.all([importTrainingData(db.sql, jsonl(CONCURRENT), 'jsonl'), importTrainingData(db.sql, jsonl(CONCURRENT), 'jsonl')]);
  const stats = await service.stats({});
  const rows = await db.sql.query<Record<string, unknown>>(
    `SELECT "aiText", "humanizedText", "contentHash", "detectionScoreBefore", "detectionScoreAfter", improvement, "qualityScore", "feedbackRating",
            "feedbackComment", "sourceTransformationId", "sourceModel", "sourceProvider", language, tags
     FROM "TrainingDataPoint" ORDER BY "contentHash"`,
  );
  return { report, concurrent: { imported: a.imported + b.imported, duplicates: a.duplicates + b.duplicates }, total: stats.total, rows };
};

afterAll(async () => {
  for (const db of opened) await db.close();
  await server?.stop();
});

describe.skipIf(Boolean(skip))(`importing training data into PostgreSQL${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let postgres: Database;
  beforeAll(async () => {
    server = await startPostgresServer();
    postgres = await openDatabase({ kind: 'postgresql', url: await server.createDatabase(`import_${process.pid}`) });
    opened.push(postgres);
    await postgres.migrate();
  }, 120_000);

  it('goes through COPY, as on PGlite (the executor offers copyCsv, so the import does not fall back to row inserts)', () => {
    expect(typeof postgres.sql.copyCsv).toBe('function');
  });

  it('gives the same report, counts and stored rows as PGlite for a file with duplicates within it and against stored pairs', async () => {
    const pglite = await createTestDatabase();
    opened.push(pglite);
    const [onPostgres, onPglite] = [await runImports(postgres), await runImports(pglite)];
    expect(onPostgres.report).toEqual({ imported: 2_500, duplicates: 500, rejected: [], rejectedCount: 0, aborted: false });
    expect(onPostgres.concurrent).toEqual({ imported: 2_000, duplicates: 2_000 });
    expect(onPostgres.total).toBe(200 + 2_500 + 2_000);
    expect(onPostgres.report).toEqual(onPglite.report);
    expect(onPostgres.concurrent).toEqual(onPglite.concurrent);
    expect(onPostgres.rows).toEqual(onPglite.rows);
  }, 120_000);
});
