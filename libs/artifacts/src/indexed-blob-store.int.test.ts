import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Hex } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsBlobStore } from './fs-blob-store';
import { type IndexedBlobStore, withBlobIndex } from './indexed-blob-store';

let database: Database;
let root: string;
let store: IndexedBlobStore;
beforeAll(async () => {
  database = await createTestDatabase();
  root = mkdtempSync(join(tmpdir(), 'trainyard-indexed-'));
  store = withBlobIndex(await createFsBlobStore(root), database);
});
afterAll(async () => {
  await database.close();
  rmSync(root, { recursive: true, force: true });
});

describe('blob presence index', () => {
  it('answers for many hashes at once, following writes and deletes through the store', async () => {
    const a = await store.put(Readable.from([Buffer.from('alpha')]));
    await store.put(Readable.from([Buffer.from('beta')]), { expectedSha256: sha256Hex('beta') });
    expect(await store.present([a.sha256, sha256Hex('beta'), sha256Hex('gamma')])).toEqual(new Set([a.sha256, sha256Hex('beta')]));

    await store.delete(a.sha256);
    expect(await store.present([a.sha256, sha256Hex('beta')])).toEqual(new Set([sha256Hex('beta')]));
    expect(await store.stat(a.sha256)).toBeUndefined();
  });

  it('records nothing for a rejected write', async () => {
    await expect(store.put(Readable.from([Buffer.from('not this')]), { expectedSha256: sha256Hex('something else') })).rejects.toThrow(/mismatch/);
    expect(await store.present([sha256Hex('something else'), sha256Hex('not this')])).toEqual(new Set());
  });

  it('runs writes of one hash one at a time, and skips a write once the blob is recorded', async () => {
    const hash = sha256Hex('delta');
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = store.storeExclusively(hash, 5, async () => {
      order.push('first starts');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      await store.put(Readable.from([Buffer.from('unrelated')])); // other writes are not held up
      order.push('first ends');
    });
    const second = store.storeExclusively(hash, 5, async () => void order.push('second ran'));
    await new Promise((resolve) => setTimeout(resolve, 20)); // a fixed wait on purpose: the second must not run meanwhile
    expect(order).toEqual(['first starts']); // the second waits for the first
    releaseFirst();
    expect(await first).toBe('stored');
    expect(await second).toBe('present');
    expect(order).toEqual(['first starts', 'first ends']);
    expect(await store.present([hash])).toEqual(new Set([hash]));
  });

  it('records nothing when the exclusive write fails, and the next one runs', async () => {
    const hash = sha256Hex('epsilon');
    await expect(store.storeExclusively(hash, 7, () => Promise.reject(new Error('bytes did not match')))).rejects.toThrow('bytes did not match');
    expect(await store.present([hash])).toEqual(new Set());
    expect(await store.storeExclusively(hash, 7, async () => undefined)).toBe('stored');
  });
});
