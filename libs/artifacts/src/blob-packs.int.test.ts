import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { isDomainError, sha256Hex } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { startS3Server, type S3TestServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectGarbage } from './blob-garbage-collector';
import type { BlobPackStore } from './blob-store.port';
import { type IndexedBlobStore, withBlobIndex } from './indexed-blob-store';
import { s3TestStoreConfig } from './test-fixtures/s3-test-store';
import { createS3BlobStore, createS3Client } from './s3-blob-store';

// s3rver only accepts its fixed credentials; the SDK's default chain reads them from the env.
process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';

let s3: S3TestServer;
const databases: Database[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-packs-'));
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  for (const database of databases) await database.close();
  await s3?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const client = () => createS3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });

/** A store under its own key prefix with its own index, so each test counts only its own objects. */
const newStore = async (): Promise<{ store: IndexedBlobStore; prefix: string; packs: BlobPackStore }> => {
  const database = await createTestDatabase();
  databases.push(database);
  const config = s3TestStoreConfig(s3, scratch);
  const raw = createS3BlobStore(config);
  return { store: withBlobIndex(raw, database), prefix: config.prefix, packs: raw.packs as BlobPackStore };
};

const keysUnder = async (prefix: string): Promise<string[]> => {
  const page = await client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key as string);
};

const putAll = async (store: IndexedBlobStore, blobs: readonly Buffer[]): Promise<void> => {
  const batch = store.batch();
  for (const blob of blobs) await batch.put(blob, sha256Hex(blob));
  await batch.commit();
};

const readAll = async (iterable: AsyncIterable<Buffer>): Promise<Buffer[]> => {
  const out: Buffer[] = [];
  for await (const blob of iterable) out.push(blob);
  return out;
};

const integrityError = (error: unknown): boolean => isDomainError(error) && error.code === 'INTEGRITY';

describe('small blobs packed into S3 objects', () => {
  it('stores a batch of small blobs as one pack and reads each back whole, by range and in batches', async () => {
    const { store, prefix } = await newStore();
    const blobs = Array.from({ length: 300 }, () => randomBytes(10_000));
    await putAll(store, blobs);

    // 3 MB in one pack: one PutObject instead of 300, and no per-blob objects.
    const keys = await keysUnder(prefix);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}packs/[0-9a-f]{2}/[0-9a-f]{64}$`));

    const hashes = blobs.map((blob) => sha256Hex(blob));
    expect(await store.present(hashes)).toEqual(new Set(hashes));
    const sample = blobs[123] as Buffer;
    expect((await store.stat(sha256Hex(sample)))?.size).toBe(10_000);
    expect((await buffer(await store.read(sha256Hex(sample)))).equals(sample)).toBe(true);
    expect((await buffer(await store.read(sha256Hex(sample), { start: 100, end: 199 }))).equals(sample.subarray(100, 200))).toBe(true);
    expect((await buffer(await store.readRangeUnverified(sha256Hex(sample), { start: 9_990, end: 9_999 }))).equals(sample.subarray(9_990))).toBe(true);

    // In order, including out-of-pack-order requests and a blob that is its own object.
    const single = randomBytes(2_000);
    await store.put(Readable.from([single]), { expectedSha256: sha256Hex(single) });
    const order = [7, 8, 9, 200, 3, 299];
    const asked = [...order.map((index) => hashes[index] as string), sha256Hex(single), hashes[10] as string];
    const read = await readAll(store.readBatch(asked));
    expect(read.map((bytes) => sha256Hex(bytes))).toEqual(asked);
  });

  it('writes a pack every few MiB of a large batch', async () => {
    const { store, prefix } = await newStore();
    await putAll(
      store,
      Array.from({ length: 10 }, () => randomBytes(1024 * 1024)),
    );
    // 10 MiB in packs of at least 4 MiB: three packs.
    expect(await keysUnder(`${prefix}packs/`)).toHaveLength(3);
  });

  it('refuses bytes that do not hash to the name given, and records nothing for them', async () => {
    const { store, prefix } = await newStore();
    const batch = store.batch();
    await expect(batch.put(Buffer.from('these bytes'), sha256Hex('other bytes'))).rejects.toThrow(/mismatch/);
    await batch.commit();
    expect(await store.present([sha256Hex('these bytes'), sha256Hex('other bytes')])).toEqual(new Set());
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('finds a corrupt pack slice on read, refuses to serve it, and takes a good copy again', async () => {
    const { store, prefix } = await newStore();
    const blobs = Array.from({ length: 20 }, () => randomBytes(5_000));
    await putAll(store, blobs);
    const [packKey] = await keysUnder(`${prefix}packs/`);
    // Flip one byte inside blob 4's slice of the pack.
    const object = await client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: packKey }));
    const bytes = Buffer.from(await buffer(object.Body as Readable));
    const at = 4 * 5_000 + 17;
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: packKey, Body: bytes }));

    const bad = sha256Hex(blobs[4] as Buffer);
    await expect(store.read(bad)).rejects.toSatisfy(integrityError);
    expect(store.isCorrupt(bad)).toBe(true);
    expect(await store.present([bad])).toEqual(new Set());
    await expect(readAll(store.readBatch([sha256Hex(blobs[3] as Buffer), bad]))).rejects.toSatisfy(integrityError);
    // Its neighbours in the same pack are intact and still served.
    expect((await buffer(await store.read(sha256Hex(blobs[5] as Buffer)))).equals(blobs[5] as Buffer)).toBe(true);

    // A push sends it again (it counts as absent); the good copy replaces it.
    await putAll(store, [blobs[4] as Buffer]);
    expect(store.isCorrupt(bad)).toBe(false);
    expect((await buffer(await store.read(bad))).equals(blobs[4] as Buffer)).toBe(true);
  });

  it('keeps a pack while any blob in it is stored, deletes it with its last blob, and collects garbage inside packs', async () => {
    const { store, prefix } = await newStore();
    const blobs = Array.from({ length: 10 }, () => randomBytes(3_000));
    const hashes = blobs.map((blob) => sha256Hex(blob));
    await putAll(store, blobs);
    expect(await keysUnder(`${prefix}packs/`)).toHaveLength(1);

    // Everything but two blobs is unreferenced: GC forgets those eight; the pack stays for the two.
    const report = await collectGarbage(store, [{ referencedHashes: async () => new Set(hashes.slice(0, 2)) }], { dryRun: false, graceMs: 0 });
    expect(report.unreferenced.map((blob) => blob.sha256).sort()).toEqual(hashes.slice(2).sort());
    expect(await store.present(hashes)).toEqual(new Set(hashes.slice(0, 2)));
    expect(await keysUnder(`${prefix}packs/`)).toHaveLength(1);
    expect((await buffer(await store.read(hashes[1] as string))).equals(blobs[1] as Buffer)).toBe(true);

    await store.delete(hashes[0] as string);
    expect(await keysUnder(`${prefix}packs/`)).toHaveLength(1);
    await store.delete(hashes[1] as string);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('drops a second pack whose blobs were all stored already, and sweeps packs no blob points into', async () => {
    const { store, prefix, packs } = await newStore();
    const blobs = Array.from({ length: 5 }, () => randomBytes(1_000));
    // Two writers of the same blobs (two pushers), in another order (so another pack): the
    // second pack holds nothing new.
    await Promise.all([putAll(store, blobs), putAll(store, [...blobs].reverse())]);
    expect(await keysUnder(`${prefix}packs/`)).toHaveLength(1);
    expect(await readAll(store.readBatch(blobs.map((blob) => sha256Hex(blob))))).toEqual(blobs);

    // A pack whose index rows never came (a crash between the two): swept once old enough.
    const orphan = await packs.write(randomBytes(500));
    expect(await store.sweepIncomplete(60_000)).toBe(0);
    expect(await store.sweepIncomplete(0)).toBe(1);
    const left = await keysUnder(`${prefix}packs/`);
    expect(left).toHaveLength(1);
    expect(left[0]).not.toContain(orphan);
  });
});
