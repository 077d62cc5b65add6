import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { loadS3BlobStore, withBlobIndex } from '@trainyard/artifacts';
import { sha256Hex } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { startS3Server, type S3TestServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullBlobs } from './pull-transfer';
import type { RemoteServer } from './remote-server.port';

// s3rver only accepts its fixed credentials; the SDK's default chain reads them from the env.
process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';

let s3: S3TestServer;
let database: Database;
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-pull-packs-'));
beforeAll(async () => {
  s3 = await startS3Server();
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
  await s3?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('pulling into a store with packs (a local server on S3)', () => {
  it("has recorded the blobs when pullBlobs returns, so the version's transaction that records them again does not wait on the store's own writes", async () => {
    const { createS3BlobStore } = await loadS3BlobStore();
    const store = createS3BlobStore({
      bucket: s3.bucket,
      prefix: 'pull/',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      partSizeBytes: 5 * 1024 * 1024,
      queueSize: 2,
      spoolDir: join(scratch, 'spool'),
    });
    const blobs = withBlobIndex(store, database);
    const contents = Array.from({ length: 40 }, () => randomBytes(2048));
    const byHash = new Map(contents.map((bytes) => [sha256Hex(bytes), bytes]));
    const hashes = [...byHash.keys()];
    // The shared server's side of a batch read: the blobs' bytes one after another.
    const remote: Pick<RemoteServer, 'downloadBlobBatch'> = {
      downloadBlobBatch: async (wanted) => Readable.from(wanted.map((hash) => byHash.get(hash) as Buffer)),
    };
    const pulled = await pullBlobs(
      { blobs, remote: remote as RemoteServer, report: async () => undefined },
      hashes.map((sha256) => ({ sha256, size: 2048 })),
      { maxBlobBytes: 1024 * 1024, maxBlobs: 1_000, maxBytes: 16 * 1024 * 1024, manifestBytes: 1024 * 1024 },
    );
    // A pack's flush writes its index rows on the store's own connection: done before returning.
    expect(await blobs.present(hashes)).toEqual(new Set(hashes));
    // PGlite is one connection: had those writes still been queued, this would wait for them, and they for it.
    await database.sql.transaction(async (tx) => {
      await pulled.record(tx);
    });
    for (const [hash, bytes] of byHash) expect((await buffer(await blobs.read(hash))).equals(bytes)).toBe(true);
  });
});
