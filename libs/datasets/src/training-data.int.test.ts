import { Readable } from 'node:stream';
import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairContentHash } from './pair-normalisation';
import { generatedPair } from './test-pairs';
import { importTrainingData } from './training-data-import';
import { createTrainingDataService, type TrainingDataService } from './training-data.service';

let db: Database;
let service: TrainingDataService;
beforeAll(async () => {
  db = await createTestDatabase();
  service = createTrainingDataService(db);
});
afterAll(() => db.close());

const jsonl = (...lines: string[]): Readable => Readable.from([Buffer.from(lines.join('\n'))]);

describe('collecting pairs', () => {
  it('gives a per-item result: created, duplicate (in the batch and against stored data) or rejected with the field path', async () => {
    const first = await service.collect(generatedPair(1));
    expect(first.duplicate).toBe(false);
    const results = await service.collectBatch([
      generatedPair(2),
      { ...generatedPair(2), aiText: `${generatedPair(2).aiText}   ` }, // same after normalisation
      generatedPair(1),
      { ...generatedPair(3), aiText: '' },
      { ...generatedPair(4), detectionScoreBefore: 1.5 },
      { ...generatedPair(5), detectionScoreAfter: Number.NaN },
      { ...generatedPair(6), humanizedText: 'x'.repeat(100_001) },
      { ...generatedPair(7), unexpected: true },
      'not an object',
    ]);
    expect(results.map((r) => r.status)).toEqual(['created', 'duplicate', 'duplicate', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
    expect(results[1]).toMatchObject({ id: results[0]?.status === 'created' ? results[0].id : 'x' });
    expect(results[2]).toMatchObject({ id: first.id });
    const paths = results.flatMap((r) => (r.status === 'rejected' ? [r.errors.map((e) => e.path).join(',')] : []));
    expect(paths).toEqual(['aiText', 'detectionScoreBefore', 'detectionScoreAfter', 'humanizedText', '', '']);
    expect((await service.stats({})).total).toBe(2);
  });

  it('filters, pages with a stable cursor, and recomputes quality when feedback changes', async () => {
    await service.collectBatch(Array.from({ length: 30 }, (_, i) => generatedPair(100 + i)));
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await service.list({}, 7, cursor);
      all.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(all).toHaveLength(32);
    expect([...all].sort().reverse()).toEqual(all);

    const news = await service.list({ tags: ['news'], sourceModel: 'gpt-x' }, 200);
    expect(news.items.every((p) => p.tags.includes('news') && p.sourceModel === 'gpt-x')).toBe(true);
    const contains = await service.list({ textContains: 'ITEM 105 ' }, 10);
    expect(contains.items.map((p) => p.aiText)).toEqual([expect.stringContaining('item 105 ')]);
    expect((await service.list({ textContains: '%' }, 10)).items).toEqual([]); // LIKE wildcards are literal
    const improved = await service.list({ minImprovement: 0.5, detectionScoreBefore: { min: 0.6 } }, 200);
    expect(improved.items.every((p) => (p.improvement ?? -1) >= 0.5 && (p.detectionScoreBefore ?? 0) >= 0.6)).toBe(true);

    const target = news.items[0];
    if (!target) throw new Error('no data');
    const rated = await service.setFeedback(target.id, 1, 'not human at all');
    expect(rated.feedbackRating).toBe(1);
    expect(rated.qualityScore).toBeLessThan(target.qualityScore);
    // Only what is given changes: a comment alone keeps the rating, a rating alone keeps the comment (two quick edits never undo each other).
    expect(await service.setFeedback(target.id, undefined, 'still not human')).toMatchObject({ feedbackRating: 1, feedbackComment: 'still not human' });
    expect(await service.setFeedback(target.id, 2, undefined)).toMatchObject({ feedbackRating: 2, feedbackComment: 'still not human' });
    expect(await service.setFeedback(target.id, 1, undefined)).toMatchObject({ feedbackRating: 1, qualityScore: rated.qualityScore });
    await service.setExcluded(target.id, true);
    expect((await service.list({}, 200)).items.map((p) => p.id)).not.toContain(target.id);
    expect((await service.list({ excluded: true }, 200)).items.map((p) => p.id)).toEqual([target.id]);
    const stats = await service.stats({});
    expect(stats).toMatchObject({ total: 32, excluded: 1, withFeedback: 1 });
    expect(stats.qualityScore.buckets.reduce((a, b) => a + b, 0)).toBe(32);
  });
});

describe('importing files', () => {
  it('imports valid JSONL lines and reports every bad one with its line number', async () => {
    const report = await importTrainingData(
      db.sql,
      Readable.from([
        Buffer.concat([
          Buffer.from(`${JSON.stringify(generatedPair(500))}\n{"aiText": "broken"\n\n`),
          Buffer.from(`${JSON.stringify({ aiText: 'only one text here, which is long enough' })}\n`),
          Buffer.from(`${JSON.stringify({ ...generatedPair(501), detectionScoreAfter: 7 })}\n`),
          Buffer.from('{"aiText": "\xff\xfe bad bytes", "humanizedText": "x"}\n', 'latin1'),
          Buffer.from(`${JSON.stringify(generatedPair(502))}\r\n`),
          Buffer.from(`${JSON.stringify({ ...generatedPair(503), humanizedText: '   ' })}`),
        ]),
      ]),
      'jsonl',
    );
    expect(report).toMatchObject({ imported: 2, duplicates: 0, aborted: false });
    expect(report.rejected).toEqual([
      { line: 2, message: expect.stringMatching(/^malformed JSON/) },
      { line: 4, message: expect.stringMatching(/^humanizedText: /) },
      { line: 5, message: expect.stringMatching(/^detectionScoreAfter: /) },
      { line: 6, message: 'invalid UTF-8' },
      { line: 8, message: expect.stringMatching(/^humanizedText: must not be empty/) },
    ]);
  });

  it('stores every field exactly through the bulk path (COPY on PGlite): quotes, commas, newlines, backslashes, NULs refused', async () => {
    const tricky = {
      aiText: 'She said "no", then\nleft; a back\\slash \\N, a tab\t and 漢字 🙂 — done',
      humanizedText: 'Plain words, "quoted", and ,,, commas\r\nover lines \\. end',
      detectionScoreBefore: 0.875,
      detectionScoreAfter: 0.125,
      feedbackRating: 4,
      feedbackComment: '',
      sourceTransformationId: 't"1,2',
      sourceModel: 'NULL',
      language: 'en-GB',
      tags: ['a.b:c/d-e', 'under_score'],
    };
    const sparse = { aiText: 'Only the two texts are given for this pair here.', humanizedText: 'Just the two texts, nothing else is set on it.' };
    const report = await importTrainingData(
      db.sql,
      jsonl(JSON.stringify(tricky), JSON.stringify(sparse), JSON.stringify({ ...sparse, aiText: 'has a \u0000 NUL in it' })),
      'jsonl',
    );
    expect(report).toMatchObject({ imported: 2, duplicates: 0 });
    expect(report.rejected).toEqual([{ line: 3, message: 'aiText: must not contain NUL characters' }]);
    const [stored] = (await service.list({ textContains: 'back\\slash' }, 10)).items;
    expect(stored).toMatchObject({ ...tricky, improvement: 0.75, sourceProvider: null, excluded: false });
    const [plain] = (await service.list({ textContains: 'Only the two texts' }, 10)).items;
    expect(plain).toMatchObject({
      ...sparse,
      detectionScoreBefore: null,
      feedbackRating: null,
      feedbackComment: null,
      sourceModel: null,
      language: null,
      tags: [],
    });
  });

  it('two imports of the same file at once store every pair exactly once and count the rest as duplicates', async () => {
    const lines = Array.from({ length: 12_000 }, (_, i) => JSON.stringify(generatedPair(20_000 + i)));
    const before = (await service.stats({})).total;
    const [a, b] = await Promise.all([importTrainingData(db.sql, jsonl(...lines), 'jsonl'), importTrainingData(db.sql, jsonl(...lines), 'jsonl')]);
    expect(a.imported + b.imported).toBe(12_000);
    expect(a.duplicates + b.duplicates).toBe(12_000);
    expect((await service.stats({})).total - before).toBe(12_000);
  });

  it('finds duplicates of stored pairs that appear only after a first batch of new ones', async () => {
    const stored = generatedPair(60_000);
    await service.collect(stored);
    const fresh = Array.from({ length: 20_000 }, (_, i) => JSON.stringify(generatedPair(40_000 + i)));
    const report = await importTrainingData(
      db.sql,
      jsonl(...fresh, JSON.stringify(stored), JSON.stringify(generatedPair(60_001)), JSON.stringify(stored)),
      'jsonl',
    );
    expect(report).toMatchObject({ imported: 20_001, duplicates: 2, rejected: [] });
    const [count] = await db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "TrainingDataPoint" WHERE "contentHash" = ANY($1::text[])`, [
      [stored, generatedPair(60_001), generatedPair(40_000), generatedPair(59_999)].map((pair) => pairContentHash(pair.aiText, pair.humanizedText)),
    ]);
    expect(count?.n).toBe(4);
  }, 60_000);

  it('counts 10 000 copies of one pair as one import and 9 999 duplicates', async () => {
    const line = JSON.stringify(generatedPair(900));
    const report = await importTrainingData(db.sql, jsonl(...Array.from({ length: 10_000 }, () => line)), 'jsonl');
    expect(report).toMatchObject({ imported: 1, duplicates: 9_999, rejectedCount: 0 });
  });

  it('reads RFC 4180 CSV with quoted commas, quotes and newlines, and reports bad rows by line', async () => {
    const csv = [
      'aiText,humanizedText,detectionScoreBefore,detectionScoreAfter,tags',
      '"In conclusion, the results, ""robust"" and clear, are significant.","Long story short: it worked,\nand it worked well.",0.9,0.2,essay;csv',
      'An AI text that is long enough to count.,,0.5,0.5,',
      '"Another machine-written sentence, quite formal.","A looser human take on it, honestly.",0.8,1.4,',
      '"Third machine-written sentence, quite formal.","A third human rewrite of the idea.",0.7,0.1,x',
    ].join('\r\n');
    const report = await importTrainingData(db.sql, Readable.from([Buffer.from(csv)]), 'csv');
    expect(report.imported).toBe(2);
    expect(report.rejected).toEqual([
      { line: 4, message: expect.stringMatching(/humanizedText/) },
      { line: 5, message: expect.stringMatching(/detectionScoreAfter/) },
    ]);
    const [stored] = (await createTrainingDataService(db).list({ tags: ['csv'] }, 5)).items;
    expect(stored?.humanizedText).toBe('Long story short: it worked,\nand it worked well.');
    expect(stored?.aiText).toContain('"robust"');
  });

  it('reports a badly quoted record by line and keeps the valid rows around it', async () => {
    const csv = [
      'aiText,humanizedText',
      '"First formal machine sentence here.","First casual rewrite here."',
      '"Broken closing quote here,"oops"',
      '"Second formal machine sentence here.","Second casual rewrite here."',
    ].join('\n');
    const report = await importTrainingData(db.sql, Readable.from([Buffer.from(csv)]), 'csv');
    expect(report).toMatchObject({ imported: 2, aborted: false });
    expect(report.rejected.map((r) => r.line)).toEqual(report.rejected.map(() => 3));
    expect(report.rejected.map((r) => r.message)).toContainEqual(expect.stringMatching(/Invalid Closing Quote/));
  });

  it('keeps the rows before a quote that is never closed and says where the file broke', async () => {
    const csv = 'aiText,humanizedText\n"Third formal machine sentence here.","Third casual rewrite here."\n"Never closed, so the parser reads to the end\n';
    const report = await importTrainingData(db.sql, Readable.from([Buffer.from(csv)]), 'csv');
    expect(report.imported).toBe(1);
    expect(report.rejected).toEqual([{ line: expect.any(Number), message: expect.stringMatching(/quote/i) }]);
  });

  it('refuses a CSV with unknown columns before importing anything', async () => {
    const before = (await service.stats({})).total;
    const csv = 'aiText,humanizedText,secretColumn\n"A machine sentence, long enough.","A human one, also long enough.",x\n';
    const report = await importTrainingData(db.sql, Readable.from([Buffer.from(csv)]), 'csv');
    expect(report).toMatchObject({ imported: 0, aborted: true });
    expect(report.rejected[0]?.message).toMatch(/unknown column\(s\): secretColumn/);
    expect((await service.stats({})).total).toBe(before);
  });
});
