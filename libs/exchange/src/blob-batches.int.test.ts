import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createFsBlobStore, type IndexedBlobStore, withBlobIndex } from '@trainyard/artifacts';
import { BLOB_BATCH_LIMITS } from '@trainyard/contracts';
import { isDomainError, sha256Hex } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobBatches } from './blob-batches';

let root: string;
let database: Database;
let blobs: IndexedBlobStore;
let batches: ReturnType<typeof createBlobBatches>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trainyard-batches-'));
  database = await createTestDatabase();
  blobs = withBlobIndex(await createFsBlobStore(join(root, 'blobs')), database);
  batches = createBlobBatches({ blobs });
});

afterAll(async () => {
  await database?.close();
  await rm(root, { recursive: true, force: true });
});

/** A request body: the manifest line, then `bytes` (split in uneven chunks, as a network delivers them). */
const body = (manifest: unknown, bytes: Buffer[]): Readable => {
  const all = Buffer.concat([Buffer.from(`${JSON.stringify(manifest)}\n`), ...bytes]);
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += 777) chunks.push(all.subarray(at, at + 777));
  return Readable.from(chunks);
};
const codeOf = (error: unknown): string | undefined => (isDomainError(error) ? error.code : undefined);
const stored = async (hashes: string[]): Promise<string[]> => [...(await blobs.present(hashes))].sort();

describe('blob batches (POST /blob-batches)', () => {
  it('stores every blob of a batch under its verified hash and indexes them; blobs already here are read and skipped', async () => {
    const files = Array.from({ length: 50 }, (_unused, index) => randomBytes(index * 37));
    const manifest = { blobs: files.map((bytes) => ({ sha256: sha256Hex(bytes), size: bytes.length })) };
    expect(await batches.receiveBlobBatch(body(manifest, files))).toEqual({ stored: 50, present: 0 });
    const hashes = manifest.blobs.map((blob) => blob.sha256);
    expect(await stored(hashes)).toEqual([...hashes].sort());
    for (const [index, hash] of hashes.entries())
      expect(sha256Hex(Buffer.concat(await (await blobs.read(hash)).toArray()))).toBe(sha256Hex(files[index] as Buffer));
    // The same batch again (a retried push): nothing written twice.
    expect(await batches.receiveBlobBatch(body(manifest, files))).toEqual({ stored: 0, present: 50 });
  });

  it('refuses a blob whose bytes do not hash to its name (INTEGRITY) and stores nothing under it; the verified ones before it count', async () => {
    const good = randomBytes(1000);
    const claimed = randomBytes(1000);
    const sent = randomBytes(1000);
    const manifest = {
      blobs: [
        { sha256: sha256Hex(good), size: 1000 },
        { sha256: sha256Hex(claimed), size: 1000 },
      ],
    };
    expect(codeOf(await batches.receiveBlobBatch(body(manifest, [good, sent])).catch((e: unknown) => e))).toBe('INTEGRITY');
    expect(await stored([sha256Hex(good), sha256Hex(claimed), sha256Hex(sent)])).toEqual([sha256Hex(good)]);
    expect(await blobs.stat(sha256Hex(claimed))).toBeUndefined();
  });

  it('takes only a strict, bounded manifest whose sizes the body matches exactly', async () => {
    const bytes = randomBytes(10);
    const entry = { sha256: sha256Hex(bytes), size: 10 };
    const refused = async (manifest: unknown, sent: Buffer[] = [bytes]) =>
      codeOf(await batches.receiveBlobBatch(body(manifest, sent)).catch((e: unknown) => e));
    expect(await refused({ blobs: [entry], key: '../../etc/passwd' })).toBe('INVALID_ARGUMENT');
    expect(await refused({ blobs: [{ ...entry, path: 'x' }] })).toBe('INVALID_ARGUMENT');
    expect(await refused({ blobs: [{ ...entry, sha256: '../sha256/ab/cd' }] })).toBe('INVALID_ARGUMENT');
    expect(await refused({ blobs: [] })).toBe('INVALID_ARGUMENT');
    expect(await refused({ blobs: Array.from({ length: BLOB_BATCH_LIMITS.maxBlobs + 1 }, () => entry) })).toBe('INVALID_ARGUMENT');
    expect(await refused({ blobs: [{ ...entry, size: BLOB_BATCH_LIMITS.maxBlobBytes + 1 }] })).toBe('INVALID_ARGUMENT');
    expect(
      await refused({ blobs: Array.from({ length: 17 }, (_unused, index) => ({ sha256: sha256Hex(String(index)), size: BLOB_BATCH_LIMITS.maxBlobBytes })) }),
    ).toBe('INVALID_ARGUMENT');
    // The body ends short of the manifest, or carries more than it lists.
    expect(await refused({ blobs: [entry] }, [bytes.subarray(0, 5)])).toBe('INVALID_ARGUMENT');
    expect(await refused({ blobs: [entry] }, [bytes, Buffer.from('extra')])).toBe('INVALID_ARGUMENT');
    // A manifest line that never ends is not read past its limit.
    expect(codeOf(await batches.receiveBlobBatch(Readable.from([Buffer.alloc(BLOB_BATCH_LIMITS.manifestBytes + 10, 0x20)])).catch((e: unknown) => e))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('reads stored blobs back in the order asked, each verified, and refuses hashes not stored here, naming them', async () => {
    const files = Array.from({ length: 20 }, (_unused, index) => randomBytes(100 + index));
    const hashes = files.map((bytes) => sha256Hex(bytes));
    await batches.receiveBlobBatch(body({ blobs: files.map((bytes, index) => ({ sha256: hashes[index], size: bytes.length })) }, files));
    const order = [...hashes].reverse();
    const read = await batches.readBlobBatch(order);
    const bytes = Buffer.concat(await Readable.from(read.blobs).toArray());
    expect(read.length).toBe(bytes.length);
    expect(bytes).toEqual(Buffer.concat([...files].reverse()));
    const absent = sha256Hex('not stored');
    const error = await batches.readBlobBatch([hashes[0] as string, absent]).catch((e: unknown) => e);
    expect(isDomainError(error) && { code: error.code, details: error.details }).toEqual({ code: 'NOT_FOUND', details: { missing: [absent] } });
  });
});
