import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { type BlobStore, createFsBlobStore } from '@trainyard/artifacts';
import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetSnapshotService, type DatasetSnapshotService, type SnapshotLine, splitOf } from './dataset-snapshot.service';
import { generatedPair } from './test-pairs';
import { createTrainingDataService } from './training-data.service';

let db: Database;
let blobs: BlobStore;
let snapshots: DatasetSnapshotService;
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-snapshots-'));
beforeAll(async () => {
  db = await createTestDatabase();
  blobs = await createFsBlobStore(join(scratch, 'blobs'));
  snapshots = createDatasetSnapshotService(db, blobs);
  await createTrainingDataService(db).collectBatch(Array.from({ length: 400 }, (_, i) => generatedPair(i)));
});
afterAll(async () => {
  await db.close();
  rmSync(scratch, { recursive: true, force: true });
});

const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { contentHash: string; split: string });

describe('dataset snapshots', () => {
  it('freezes the matching points with a deterministic split and a manifest', async () => {
    const snapshot = await snapshots.create({ name: 'news', filter: { tags: ['news'] }, validationFraction: 0.25, seed: 7 });
    expect(snapshot).toMatchObject({ name: 'news', totalCount: 134, validationFraction: 0.25, seed: 7, filter: { tags: ['news'] } });
    expect(snapshot.trainCount + snapshot.validationCount).toBe(134);
    expect(snapshot.validationCount).toBeGreaterThan(15);
    expect(snapshot.validationCount).toBeLessThan(55);
    const again = await snapshots.create({ name: 'news again', filter: { tags: ['news'] }, validationFraction: 0.25, seed: 7 });
    expect(again.blobSha256).toBe(snapshot.blobSha256); // same data, same seed: byte-identical
    const reseeded = await snapshots.create({ name: 'news, other seed', filter: { tags: ['news'] }, validationFraction: 0.25, seed: 8 });
    expect(reseeded.blobSha256).not.toBe(snapshot.blobSha256);
  });

  it('materialises train and validation channels from the verified blob', async () => {
    const snapshot = await snapshots.create({ name: 'all', filter: {}, validationFraction: 0.1, seed: 1 });
    const dir = join(scratch, 'job', 'input', 'data');
    expect(await snapshots.materialise(snapshot.id, dir)).toEqual({ train: snapshot.trainCount, validation: snapshot.validationCount });
    const train = readLines(join(dir, 'train', 'data.jsonl'));
    const validation = readLines(join(dir, 'validation', 'data.jsonl'));
    expect(train.every((line) => line.split === 'train' && splitOf(line.contentHash, 1, 0.1) === 'train')).toBe(true);
    expect(validation.every((line) => line.split === 'validation')).toBe(true);
    expect(train.length + validation.length).toBe(400);
  });

  it('never changes when data points are edited or excluded later', async () => {
    const snapshot = await snapshots.create({ name: 'frozen', filter: {}, validationFraction: 0.1, seed: 3 });
    const before = await buffer(await blobs.read(snapshot.blobSha256));
    const service = createTrainingDataService(db);
    const { items } = await service.list({}, 5);
    for (const point of items) await service.setExcluded(point.id, true);
    await service.collect(generatedPair(10_000));
    expect((await snapshots.get(snapshot.id)).totalCount).toBe(400);
    expect((await buffer(await blobs.read(snapshot.blobSha256))).equals(before)).toBe(true);
    const fresh = await snapshots.create({ name: 'now', filter: {}, validationFraction: 0.1, seed: 3 });
    expect(fresh.totalCount).toBe(396);
  });

  it("writes each line exactly as JSON.stringify of a snapshot line would, with splitOf's split, whatever the text", async () => {
    const awkward = ['quotes " and \\ backslashes', 'tab\tnew\nline\r\u0001\u001f\u007f', 'unicode é 漢字 🙂 \u2028', '</script> & <b>', "it's"];
    const collected = await createTrainingDataService(db).collectBatch(
      awkward.map((text, i) => ({
        aiText: `Awkward ${i}: ${text} — the original, long enough`,
        humanizedText: `awkward ${i}: ${text}`,
        tags: ['awkward', `t:${i}/x`],
        feedbackRating: i + 1,
      })),
    );
    expect(collected.map((result) => result.status)).toEqual(awkward.map(() => 'created'));
    const snapshot = await snapshots.create({ name: 'awkward', filter: { tags: ['awkward'] }, validationFraction: 0.5, seed: 11 });
    const text = (await buffer(await blobs.read(snapshot.blobSha256))).toString('utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(awkward.length);
    for (const line of lines) {
      const parsed = JSON.parse(line) as SnapshotLine;
      const expected: SnapshotLine = {
        contentHash: parsed.contentHash,
        split: splitOf(parsed.contentHash, 11, 0.5),
        aiText: parsed.aiText,
        humanizedText: parsed.humanizedText,
        qualityScore: parsed.qualityScore,
        tags: parsed.tags,
      };
      expect(line).toBe(JSON.stringify(expected));
    }
    expect(
      lines.map((line) => (JSON.parse(line) as SnapshotLine).aiText.replace(/^Awkward \d: /, '').replace(/ — the original, long enough$/, '')).sort(),
    ).toEqual([...awkward].sort());
    expect(snapshot.validationCount).toBe(lines.filter((line) => (JSON.parse(line) as SnapshotLine).split === 'validation').length);
    expect(snapshot.trainCount + snapshot.validationCount).toBe(awkward.length);
  });

  it('lists newest first with a cursor and reports a missing snapshot clearly', async () => {
    const page = await snapshots.list(2);
    expect(page.items).toHaveLength(2);
    const next = await snapshots.list(2, page.nextCursor ?? undefined);
    expect(next.items[0]?.createdAt.getTime()).toBeLessThanOrEqual(page.items[1]?.createdAt.getTime() ?? 0);
    await expect(snapshots.get('00000000-0000-7000-8000-000000000000')).rejects.toThrow(/Dataset snapshot not found/);
  });
});
