import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DomainError } from '@trainyard/core';

export interface OrderedRangeRead {
  Bucket: string;
  Key: string;
  /** The size the object must have: any other size is an integrity failure, not a short read. */
  expectedSize: number;
  /** Bytes per ranged GET. */
  rangeSize: number;
  /** Ranged GETs in flight at once; memory held is at most concurrency × rangeSize. 1 reads one streaming GET. */
  concurrency: number;
}

const sizeMismatch = (key: string, expected: number, actual: number): DomainError =>
  new DomainError('INTEGRITY', `Object ${key} holds ${actual} bytes, expected ${expected}`, { expected, actual });

const replaced = (key: string): DomainError => new DomainError('INTEGRITY', `Object ${key} was replaced while it was being read`, { key });

/**
 * Reads an object as several ranged GETs in flight at once and yields their bytes in order,
 * so a hash fed from it overlaps the network with hashing (one GET is bounded by one stream's
 * throughput). Every range is pinned to the object's ETag: a replaced object fails the read
 * instead of mixing two objects' bytes. Stopping early (an error downstream) aborts the rest.
 */
export async function* readRangesInOrder(client: S3Client, read: OrderedRangeRead): AsyncGenerator<Buffer> {
  const head = await client.send(new HeadObjectCommand({ Bucket: read.Bucket, Key: read.Key }));
  const actualSize = head.ContentLength ?? -1;
  if (actualSize !== read.expectedSize) throw sizeMismatch(read.Key, read.expectedSize, actualSize);

  if (read.concurrency <= 1) {
    const whole = await client.send(new GetObjectCommand({ Bucket: read.Bucket, Key: read.Key, IfMatch: head.ETag }));
    if (whole.ETag !== head.ETag) throw replaced(read.Key);
    yield* whole.Body as AsyncIterable<Buffer>;
    return;
  }

  const abort = new AbortController();
  const fetchRange = async (start: number): Promise<Buffer> => {
    const end = Math.min(start + read.rangeSize, read.expectedSize) - 1;
    const part = await client.send(new GetObjectCommand({ Bucket: read.Bucket, Key: read.Key, Range: `bytes=${start}-${end}`, IfMatch: head.ETag }), {
      abortSignal: abort.signal,
    });
    // S3 enforces IfMatch; stores that ignore it (s3rver) still answer with the ETag they served.
    if (part.ETag !== head.ETag) throw replaced(read.Key);
    const bytes = Buffer.from((await part.Body?.transformToByteArray()) ?? []);
    if (bytes.length !== end - start + 1) throw sizeMismatch(read.Key, end - start + 1, bytes.length);
    return bytes;
  };

  const starts = Array.from({ length: Math.ceil(read.expectedSize / read.rangeSize) }, (_unused, index) => index * read.rangeSize);
  const inFlight: Array<Promise<Buffer>> = [];
  const next = (): void => {
    const start = starts.shift();
    if (start === undefined) return;
    const pending = fetchRange(start);
    // Awaited in order below; until then a failure must not count as unhandled.
    pending.catch(() => undefined);
    inFlight.push(pending);
  };
  try {
    for (let index = 0; index < read.concurrency; index++) next();
    while (inFlight.length > 0) {
      const bytes = await (inFlight.shift() as Promise<Buffer>);
      next();
      yield bytes;
    }
  } finally {
    abort.abort();
  }
}
