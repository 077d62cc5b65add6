import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Hex } from '@trainyard/core';
import { createTestDatabase, type Database, openDatabase } from '@trainyard/db';
import { postgresUnavailableReason, type PostgresServer, startPostgresServer } from '@trainyard/test-services';
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

  it('a batch flushed is readable, not yet recorded; committed in a transaction that rolls back, it is recorded by the next commit', async () => {
    const blobs = ['zeta', 'eta'].map((text) => Buffer.from(text));
    const hashes = blobs.map((bytes) => sha256Hex(bytes));
    const batch = store.batch();
    for (const bytes of blobs) await batch.put(bytes, sha256Hex(bytes));
    await batch.flush();
    expect(await store.stat(hashes[0] as string)).toMatchObject({ size: 4 });
    expect(await store.present(hashes)).toEqual(new Set());

    await expect(
      database.sql.transaction(async (tx) => {
        await batch.commit(tx);
        expect(await tx.query(`SELECT "sha256" FROM "StoredBlob" WHERE "sha256" = ANY($1)`, [hashes])).toHaveLength(2);
        throw new Error('the version was refused');
      }),
    ).rejects.toThrow('the version was refused');
    expect(await store.present(hashes)).toEqual(new Set());
    await batch.commit();
    expect(await store.present(hashes)).toEqual(new Set(hashes));
  });
});

const skip = postgresUnavailableReason();
describe.skipIf(skip)(`exclusive writes across instances of a shared server (PostgreSQL)${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let postgres: PostgresServer;
  const databases: Database[] = [];
  /** Two "instances": each its own pool and its own index over one store, as two server processes. */
  let instances: IndexedBlobStore[];
  let sharedRoot: string;
  beforeAll(async () => {
    postgres = await startPostgresServer();
    const url = await postgres.createDatabase('indexed');
    databases.push(...(await Promise.all([0, 1].map(() => openDatabase({ kind: 'postgresql', url })))));
    await databases[0]?.migrate();
    sharedRoot = mkdtempSync(join(tmpdir(), 'trainyard-indexed-pg-'));
    const blobs = await createFsBlobStore(sharedRoot);
    instances = databases.map((db) => withBlobIndex(blobs, db));
  }, 60_000);
  afterAll(async () => {
    for (const db of databases) await db.close();
    await postgres?.stop();
    rmSync(sharedRoot, { recursive: true, force: true });
  });

  it('a write of a hash on one instance waits for the same hash on another, and is skipped once that one recorded it', async () => {
    const [a, b] = instances;
    if (!a || !b) throw new Error('instances missing');
    const hash = sha256Hex('zeta');
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = a.storeExclusively(hash, 4, async () => {
      order.push('a starts');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('a ends');
    });
    await new Promise((resolve) => setTimeout(resolve, 100)); // a has the lock
    const second = b.storeExclusively(hash, 4, async () => void order.push('b ran'));
    // Another hash is not held up meanwhile.
    expect(await b.storeExclusively(sha256Hex('eta'), 3, async () => undefined)).toBe('stored');
    await new Promise((resolve) => setTimeout(resolve, 200)); // a fixed wait on purpose: b must not run meanwhile
    expect(order).toEqual(['a starts']);
    releaseFirst();
    expect(await first).toBe('stored');
    expect(await second).toBe('present');
    expect(order).toEqual(['a starts', 'a ends']);
    expect(await b.present([hash])).toEqual(new Set([hash]));
  });

  it('a failed write on one instance records nothing and lets the other one write', async () => {
    const [a, b] = instances;
    if (!a || !b) throw new Error('instances missing');
    const hash = sha256Hex('theta');
    let failFirst!: () => void;
    const first = a.storeExclusively(hash, 5, () => new Promise<void>((_resolve, reject) => (failFirst = () => reject(new Error('bytes did not match')))));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = b.storeExclusively(hash, 5, async () => undefined);
    failFirst();
    await expect(first).rejects.toThrow('bytes did not match');
    expect(await second).toBe('stored');
    expect(await a.present([hash])).toEqual(new Set([hash]));
  });
});
