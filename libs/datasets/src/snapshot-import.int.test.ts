import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsBlobStore } from '@trainyard/artifacts';
import { newId } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetSnapshotService, type DatasetSnapshotService } from './dataset-snapshot.service';
import type { ArrivingSnapshot } from './snapshot-import';

let db: Database;
let snapshots: DatasetSnapshotService;
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-snapshot-import-'));
beforeAll(async () => {
  db = await createTestDatabase();
  snapshots = createDatasetSnapshotService(db, await createFsBlobStore(join(scratch, 'blobs')));
});
afterAll(async () => {
  await db.close();
  rmSync(scratch, { recursive: true, force: true });
});

const arriving = (overrides: Partial<ArrivingSnapshot> = {}): ArrivingSnapshot => ({
  id: newId(),
  name: 'shared',
  blobSha256: 'a'.repeat(64),
  blobSize: 1234,
  totalCount: 10,
  trainCount: 8,
  validationCount: 2,
  filter: { tags: ['news'] },
  seed: 7,
  validationFraction: 0.2,
  createdAt: '2026-11-01T10:00:00.000Z',
  ...overrides,
});

describe('snapshots made elsewhere (pushed or pulled)', () => {
  it('are registered under their own id and hash, with their provenance; the same again changes nothing', async () => {
    const snapshot = arriving();
    expect(await snapshots.importAlone(snapshot, { pulledFrom: { remote: 'team' } })).toEqual({ created: true });
    expect(await snapshots.get(snapshot.id)).toMatchObject({
      id: snapshot.id,
      name: 'shared',
      blobSha256: snapshot.blobSha256,
      blobSize: 1234,
      filter: { tags: ['news'] },
      provenance: { pulledFrom: { remote: 'team' } },
      createdAt: new Date(snapshot.createdAt),
    });
    expect(await snapshots.importAlone(snapshot, { pulledFrom: { remote: 'other' } })).toEqual({ created: false });
    expect((await snapshots.get(snapshot.id)).provenance).toEqual({ pulledFrom: { remote: 'team' } });
  });

  it('refuses the same id with other data (CONFLICT, naming both hashes)', async () => {
    const snapshot = arriving({ name: 'conflicted' });
    await snapshots.importAlone(snapshot, {});
    const refused = await snapshots.importAlone({ ...snapshot, blobSha256: 'b'.repeat(64) }, {}).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`${'a'.repeat(64)}, the other side has ${'b'.repeat(64)}`) });
    expect((await snapshots.get(snapshot.id)).blobSha256).toBe('a'.repeat(64));
  });

  it('keeps names unique: a name another snapshot here has gets the id’s first 8 characters', async () => {
    const local = await snapshots.create({ name: 'taken', filter: {}, validationFraction: 0.1, seed: 1 });
    const snapshot = arriving({ name: 'taken' });
    await snapshots.importAlone(snapshot, {});
    expect((await snapshots.get(snapshot.id)).name).toBe(`taken~${snapshot.id.slice(0, 8)}`);
    expect((await snapshots.get(local.id)).name).toBe('taken');
  });
});
