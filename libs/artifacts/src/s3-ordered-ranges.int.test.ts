import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { isDomainError } from '@trainyard/core';
import { startS3Server, type S3TestServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRangesInOrder } from './s3-ordered-ranges';

let s3: S3TestServer;
let client: S3Client;
beforeAll(async () => {
  s3 = await startS3Server();
  client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

const put = async (Key: string, body: Buffer): Promise<void> => {
  await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: body }));
};

const collect = async (chunks: AsyncIterable<Buffer>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
};

describe('reading an object as parallel ranges in order', () => {
  it.each([3, 1])('yields every byte in order, including a short last range (%i in flight; 1 is one streaming GET)', async (concurrency) => {
    const data = randomBytes(5 * 64 * 1024 + 17);
    await put('ordered/whole', data);
    const read = readRangesInOrder(client, { Bucket: s3.bucket, Key: 'ordered/whole', expectedSize: data.length, rangeSize: 64 * 1024, concurrency });
    expect((await collect(read)).equals(data)).toBe(true);
  });

  it.each([2, 1])('refuses an object of another size before reading it (a longer object is not a prefix match; %i in flight)', async (concurrency) => {
    const data = randomBytes(100_000);
    await put('ordered/longer', data);
    const read = readRangesInOrder(client, { Bucket: s3.bucket, Key: 'ordered/longer', expectedSize: 99_999, rangeSize: 32 * 1024, concurrency });
    const failure = await collect(read).catch((error: unknown) => error);
    expect(isDomainError(failure) && failure.code === 'INTEGRITY').toBe(true);
    expect(String(failure)).toMatch(/holds 100000 bytes, expected 99999/);
  });

  it('fails instead of mixing bytes when the object is replaced mid-read', async () => {
    const first = randomBytes(6 * 16 * 1024);
    await put('ordered/replaced', first);
    const read = readRangesInOrder(client, { Bucket: s3.bucket, Key: 'ordered/replaced', expectedSize: first.length, rangeSize: 16 * 1024, concurrency: 2 });
    const opening = await read.next();
    expect(opening.done).toBe(false);
    await put('ordered/replaced', randomBytes(first.length));
    // The fourth range onwards is requested only after this point: it must be refused by its ETag pin.
    await expect(collect(read)).rejects.toThrow(/replaced while it was being read/);
  });

  it('stops cleanly when the reader stops early', async () => {
    const data = randomBytes(8 * 16 * 1024);
    await put('ordered/early', data);
    const read = readRangesInOrder(client, { Bucket: s3.bucket, Key: 'ordered/early', expectedSize: data.length, rangeSize: 16 * 1024, concurrency: 4 });
    const opening = await read.next();
    expect(opening.value?.equals(data.subarray(0, 16 * 1024))).toBe(true);
    await expect(read.return(undefined)).resolves.toEqual({ done: true, value: undefined });
  });
});
