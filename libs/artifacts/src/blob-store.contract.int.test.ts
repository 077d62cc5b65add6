import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { isDomainError, sha256Hex } from '@trainyard/core';
import { startS3Server, type S3TestServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.port';
import { createFsBlobStore } from './fs-blob-store';
import { s3TestStoreConfig } from './test-fixtures/s3-test-store';
import { createS3BlobStore } from './s3-blob-store';

let s3: S3TestServer;
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-blob-contract-'));
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const factories: Array<{ name: string; create: () => Promise<BlobStore> }> = [
  { name: 'filesystem', create: () => createFsBlobStore(mkdtempSync(join(scratch, 'fs-'))) },
  {
    name: 's3',
    create: async () => createS3BlobStore(s3TestStoreConfig(s3, scratch)),
  },
];

// s3rver only accepts its fixed credentials; the SDK's default chain reads them from the env.
process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';

const integrityError = (error: unknown): boolean => isDomainError(error) && error.code === 'INTEGRITY';

describe.each(factories)('$name blob store', ({ create }) => {
  it('stores by content hash, deduplicates, and reads back verified bytes and ranges', async () => {
    const store = await create();
    const data = randomBytes(12 * 1024 * 1024 + 17); // several multipart parts
    const first = await store.put(Readable.from([data]), { expectedSha256: sha256Hex(data) });
    expect(first).toEqual({ sha256: sha256Hex(data), size: data.length, created: true });
    expect(await store.put(Readable.from([data]))).toEqual({ sha256: sha256Hex(data), size: data.length, created: false });
    expect((await store.stat(sha256Hex(data)))?.size).toBe(data.length);
    expect((await buffer(await store.read(sha256Hex(data)))).equals(data)).toBe(true);
    const slice = await buffer(await store.read(sha256Hex(data), { start: 5_000_000, end: 5_000_099 }));
    expect(slice.equals(data.subarray(5_000_000, 5_000_100))).toBe(true);
    const part = await buffer(await store.readRangeUnverified(sha256Hex(data), { start: 8 * 1024 * 1024, end: data.length - 1 }));
    expect(part.equals(data.subarray(8 * 1024 * 1024))).toBe(true);
    await expect(store.readRangeUnverified(sha256Hex(Buffer.from('absent')), { start: 0, end: 0 })).rejects.toThrow(/not found/);
    const listed = [];
    for await (const blob of store.list()) listed.push(blob.sha256);
    expect(listed).toEqual([sha256Hex(data)]);
  });

  it('rejects a body whose hash does not match the claim, and keeps nothing', async () => {
    const store = await create();
    const data = randomBytes(6 * 1024 * 1024);
    const claimed = sha256Hex(Buffer.from('something else'));
    const failure = await store.put(Readable.from([data]), { expectedSha256: claimed }).catch((e: unknown) => e);
    expect(integrityError(failure)).toBe(true);
    expect(await store.stat(claimed)).toBeUndefined();
    expect(await store.stat(sha256Hex(data))).toBeUndefined();
  });

  it('keeps nothing when the source fails midway', async () => {
    const store = await create();
    const head = randomBytes(6 * 1024 * 1024);
    const source = Readable.from(
      (async function* () {
        yield head;
        throw new Error('connection dropped');
      })(),
    );
    await expect(store.put(source, { expectedSha256: sha256Hex(head) })).rejects.toThrow(/connection dropped/);
    expect(await store.stat(sha256Hex(head))).toBeUndefined();
  });

  it('refuses malformed hashes instead of normalising them', async () => {
    const store = await create();
    const good = sha256Hex(Buffer.from('x'));
    for (const bad of [good.slice(1), `${good}0`, good.toUpperCase(), `${good.slice(1)}g`, '../../etc/passwd', '']) {
      const failure = await store.stat(bad).catch((e: unknown) => e);
      expect(isDomainError(failure) && failure.code === 'INVALID_ARGUMENT').toBe(true);
      const rangeFailure = await store.readRangeUnverified(bad, { start: 0, end: 0 }).catch((e: unknown) => e);
      expect(isDomainError(rangeFailure) && rangeFailure.code === 'INVALID_ARGUMENT').toBe(true);
    }
  });

  it('deletes blobs', async () => {
    const store = await create();
    const data = Buffer.from('delete me');
    await store.put(Readable.from([data]));
    await store.delete(sha256Hex(data));
    expect(await store.stat(sha256Hex(data))).toBeUndefined();
  });
});
