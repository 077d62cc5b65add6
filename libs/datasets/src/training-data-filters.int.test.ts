import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsBlobStore } from '@trainyard/artifacts';
import type { DataFilter } from '@trainyard/contracts';
import { isDomainError } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetSnapshotService, type DatasetSnapshotService } from './dataset-snapshot.service';
import { generatedPair } from './test-pairs';
import { createTrainingDataService, type TrainingDataService } from './training-data.service';

let db: Database;
let data: TrainingDataService;
let snapshots: DatasetSnapshotService;
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-filters-'));

/** Every page of the list for a filter: what the table shows, page by page. */
const listAll = async (filter: DataFilter): Promise<string[]> => {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await data.list(filter, 200, cursor);
    ids.push(...page.items.map((point) => point.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
};

beforeAll(async () => {
  db = await createTestDatabase();
  data = createTrainingDataService(db);
  snapshots = createDatasetSnapshotService(db, await createFsBlobStore(join(scratch, 'blobs')));
  // 300 "demo" pairs (some also tagged news), 90 of one's own: 30 news, 60 essay.
  await data.collectBatch(
    Array.from({ length: 300 }, (_, i) => generatedPair(i, { tags: i % 5 === 0 ? ['demo', 'synthetic', 'news'] : ['demo', 'synthetic'] })),
  );
  await data.collectBatch(Array.from({ length: 90 }, (_, i) => generatedPair(1_000 + i)));
});
afterAll(async () => {
  await db.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('excluding tags', () => {
  it('leaves out every pair carrying any excluded tag, in list, count, stats and snapshots alike', async () => {
    const own = await listAll({ excludeTags: ['demo'] });
    expect(own).toHaveLength(90);
    expect(await data.count({ excludeTags: ['demo'] })).toBe(90);
    expect((await data.stats({ excludeTags: ['demo'] })).total).toBe(90);
    // Any of several: demo pairs and own news pairs both go.
    expect(await data.count({ excludeTags: ['demo', 'news'] })).toBe(60);
    // Together with the required tags: news, but not the demo's news.
    expect(await data.count({ tags: ['news'], excludeTags: ['demo'] })).toBe(30);
    expect(await data.count({ tags: ['news'] })).toBe(90);
    const snapshot = await snapshots.create({ name: 'own only', filter: { excludeTags: ['demo'] }, validationFraction: 0.1, seed: 1 });
    expect(snapshot.totalCount).toBe(90);
    expect(snapshot.filter).toEqual({ excludeTags: ['demo'] });
  });

  it('treats a pair without a tags array as having none of the excluded tags', async () => {
    const { id } = await data.collect(generatedPair(5_000, { tags: ['scratch'] }));
    await db.sql.query(`UPDATE "TrainingDataPoint" SET "tags" = NULL WHERE "id" = $1`, [id]);
    expect(await listAll({ excludeTags: ['demo'], textContains: 'item 5000 ' })).toEqual([id]);
    await db.sql.query(`DELETE FROM "TrainingDataPoint" WHERE "id" = $1`, [id]);
  });
});

describe('a snapshot of a filter freezes exactly what the list shows', () => {
  it('for a filter using every field (text, dates, tags in and out, scores, source, language)', async () => {
    const from = new Date(Date.now() - 60 * 60 * 1000);
    const filter: DataFilter = {
      excludeTags: ['demo'],
      tags: ['essay'],
      textContains: 'item 10',
      createdFrom: from,
      createdTo: new Date(Date.now() + 60 * 60 * 1000),
      detectionScoreBefore: { min: 0.05, max: 0.99 },
      detectionScoreAfter: { max: 0.5 },
      minImprovement: -1,
      minQuality: 0,
      sourceProvider: 'lab',
      language: 'en',
    };
    const shown = await listAll(filter);
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.length).toBeLessThan(90);
    expect(await data.count(filter)).toBe(shown.length);
    const snapshot = await snapshots.create({ name: 'every field', filter, validationFraction: 0.2, seed: 5 });
    expect(snapshot.totalCount).toBe(shown.length);
    // The manifest keeps the filter as given (dates as ISO strings).
    expect(snapshot.filter).toMatchObject({ textContains: 'item 10', createdFrom: from.toISOString(), excludeTags: ['demo'] });
  });

  it('including the excluded flag: an "excluded only" view freezes the excluded pairs shown', async () => {
    const changed = await data.setExcludedMatching({ tags: ['news'], excludeTags: ['demo'] }, true);
    expect(changed).toBe(30);
    const shown = await listAll({ excluded: true, excludeTags: ['demo'] });
    expect(shown).toHaveLength(30);
    const snapshot = await snapshots.create({ name: 'excluded view', filter: { excluded: true, excludeTags: ['demo'] }, validationFraction: 0.1, seed: 1 });
    expect(snapshot.totalCount).toBe(30);
    expect(await data.setExcludedMatching({ tags: ['news'], excludeTags: ['demo'] }, false)).toBe(30);
  });
});

describe('bulk exclude and include by filter', () => {
  it('changes every matching pair in one call and counts only the pairs whose state changed', async () => {
    expect(await data.count({})).toBe(390);
    const excluded = await data.setExcludedMatching({ tags: ['demo'] }, true);
    expect(excluded).toBe(300);
    expect(await data.count({})).toBe(90);
    expect((await data.stats({})).excluded).toBe(300);
    // Again: nothing left to change.
    expect(await data.setExcludedMatching({ tags: ['demo'] }, true)).toBe(0);
    // Partly excluded already: only the rest counts.
    await data.setExcludedMatching({ tags: ['news'], excludeTags: ['demo'] }, true);
    expect(await data.setExcludedMatching({ tags: ['news'] }, true)).toBe(0);
    expect(await data.setExcludedMatching({ tags: ['essay'] }, true)).toBe(60);
    expect(await data.count({})).toBe(0);
    // The filter's own excluded flag narrows the pairs looked at.
    expect(await data.setExcludedMatching({ excluded: false }, false)).toBe(0);
    expect(await data.setExcludedMatching({ excluded: true, excludeTags: ['demo'] }, false)).toBe(90);
    expect(await data.count({})).toBe(90);
    expect(await data.setExcludedMatching({ tags: ['demo', 'news'] }, false)).toBe(60);
    expect(await data.setExcludedMatching({}, false)).toBe(240);
    expect(await data.count({})).toBe(390);
  });
});

describe('snapshot names', () => {
  it('refuses a second snapshot with a name already taken, with a CONFLICT naming it', async () => {
    const first = await snapshots.create({ name: 'v1', filter: {}, validationFraction: 0.1, seed: 1 });
    const refusal = await snapshots
      .create({ name: 'v1', filter: { excludeTags: ['demo'] }, validationFraction: 0.1, seed: 1 })
      .catch((error: unknown) => error);
    expect(isDomainError(refusal) && refusal.code).toBe('CONFLICT');
    expect((refusal as Error).message).toBe(`A dataset snapshot named "v1" already exists (${first.id}); snapshots are immutable, so choose another name`);
    expect((await snapshots.list(200)).items.filter((s) => s.name === 'v1')).toHaveLength(1);
  });

  it('lets exactly one of several concurrent creates with the same name win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => snapshots.create({ name: 'race', filter: {}, validationFraction: 0.1, seed: i })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) if (result.status === 'rejected') expect(isDomainError(result.reason) && result.reason.code).toBe('CONFLICT');
    expect((await snapshots.list(200)).items.filter((s) => s.name === 'race')).toHaveLength(1);
  });

  it('still reads databases from before the rule that hold duplicate names, and refuses a third', async () => {
    const [row] = await db.sql.query<{ id: string }>(`SELECT "id" FROM "DatasetSnapshot" WHERE "name" = 'v1'`);
    await db.sql.query(
      `INSERT INTO "DatasetSnapshot" ("id", "name", "filter", "validationFraction", "seed", "totalCount", "trainCount", "validationCount", "blobSha256", "blobSize")
       SELECT '00000000-0000-7000-8000-0000000000aa', "name", "filter", "validationFraction", "seed", "totalCount", "trainCount", "validationCount", "blobSha256", "blobSize"
       FROM "DatasetSnapshot" WHERE "id" = $1`,
      [row?.id],
    );
    expect((await snapshots.list(200)).items.filter((s) => s.name === 'v1')).toHaveLength(2);
    await expect(snapshots.create({ name: 'v1', filter: {}, validationFraction: 0.1, seed: 1 })).rejects.toThrow(/already exists/);
  });
});

describe('statistics histograms', () => {
  it('count pairs without a score in `missing`, never in a bucket (not in 0.9–1.0)', async () => {
    const tag = 'hist';
    await data.collectBatch([
      generatedPair(7_000, { tags: [tag], detectionScoreBefore: 0.95, detectionScoreAfter: 0.05 }),
      generatedPair(7_001, { tags: [tag], detectionScoreBefore: 1, detectionScoreAfter: 0 }),
      generatedPair(7_002, { tags: [tag], detectionScoreBefore: 0.5, detectionScoreAfter: undefined }),
      generatedPair(7_003, { tags: [tag], detectionScoreBefore: undefined, detectionScoreAfter: undefined }),
      generatedPair(7_004, { tags: [tag], detectionScoreBefore: undefined, detectionScoreAfter: undefined }),
    ]);
    const stats = await data.stats({ tags: [tag] });
    expect(stats.total).toBe(5);
    expect(stats.detectionScoreBefore).toEqual({ buckets: [0, 0, 0, 0, 0, 1, 0, 0, 0, 2], missing: 2 });
    expect(stats.detectionScoreAfter).toEqual({ buckets: [2, 0, 0, 0, 0, 0, 0, 0, 0, 0], missing: 3 });
    // Every pair has a quality score (0.5 when nothing is known).
    expect(stats.qualityScore.missing).toBe(0);
    expect(stats.qualityScore.buckets.reduce((a, b) => a + b, 0)).toBe(5);
    for (const histogram of [stats.detectionScoreBefore, stats.detectionScoreAfter, stats.qualityScore]) {
      expect(histogram.buckets.reduce((a, b) => a + b, 0) + histogram.missing).toBe(stats.total);
    }
  });
});
