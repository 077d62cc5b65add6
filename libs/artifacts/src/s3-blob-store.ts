import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline as pipelineCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DomainError } from '@trainyard/core';
import { assertSha256, blobRelativeKey } from './blob-key';
import type { BlobInfo, BlobSource, BlobStore, ByteRange, PutResult } from './blob-store.port';
import { HashingStream, VerifyingStream } from './hashing-stream';
import { createS3BlobPacks } from './s3-blob-packs';
import { isS3NotFound } from './s3-errors';
import { createUploadSlots } from './upload-slots';

/** Blobs up to this size go to S3 in one PutObject once read and verified; larger ones as a multipart upload. */
const SINGLE_PUT_BYTES = 1024 * 1024;

export const DEFAULT_UPLOADS_IN_FLIGHT = 8;
/** How long an upload holding a slot may go without a byte from its client. */
export const DEFAULT_BODY_IDLE_MS = 120_000;

export interface S3BlobStoreConfig {
  bucket: string;
  /** Key prefix inside the bucket, '' or ending in '/'. */
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Multipart part size (≥ 5 MiB) and parts in flight: memory ≈ partSize × queueSize per upload. */
  partSizeBytes: number;
  queueSize: number;
  /**
   * Uploads of more than 1 MiB through lib-storage at once, across all requests (default 8):
   * what they buffer stays under partSize × queueSize × this however many clients push at
   * once. Others wait their turn having read only their first ~1 MiB (then their sockets back
   * up); one whose client hangs up while it waits leaves the queue at once.
   */
  uploadsInFlight?: number;
  /** An upload holding a slot fails when its client sends nothing for this long (default 120 s). */
  bodyIdleMs?: number;
  /** Where a stream of unknown hash is spooled before upload (its hash names the object). */
  spoolDir: string;
}

export const createS3Client = (config: Pick<S3BlobStoreConfig, 'region' | 'endpoint' | 'forcePathStyle'>): S3Client =>
  new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    // The SDK's default CRC checksums break several S3-compatible servers; integrity is our
    // own SHA-256 over the whole object anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

/**
 * Blobs as objects `<prefix>sha256/ab/<hash>`. Uploads go through lib-storage multipart
 * with bounded part size and concurrency; the bytes are hashed on the way and a mismatch
 * fails the body stream before the upload completes, so the multipart upload is aborted and
 * nothing appears under the key.
 */
export const createS3BlobStore = (config: S3BlobStoreConfig, client: S3Client = createS3Client(config)): BlobStore => {
  const key = (sha256: string): string => `${config.prefix}${blobRelativeKey(sha256)}`;
  const uploadSlots = createUploadSlots(config.uploadsInFlight ?? DEFAULT_UPLOADS_IN_FLIGHT);
  const bodyIdleMs = config.bodyIdleMs ?? DEFAULT_BODY_IDLE_MS;

  const head = async (sha256: string): Promise<BlobInfo | undefined> => {
    try {
      const result = await client.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key(sha256) }));
      return { sha256, size: result.ContentLength ?? 0, modifiedAt: result.LastModified ?? new Date(0) };
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw error;
    }
  };

  const putVerified = async (source: BlobSource, expected: string, assumeAbsent = false): Promise<PutResult> => {
    const hasher = new HashingStream(expected);
    if (!assumeAbsent && (await head(expected))) {
      // Already stored: still read and check what the client sent, then drop it.
      await pipeline(source, hasher, async (chunks: AsyncIterable<Buffer>) => {
        for await (const _chunk of chunks) void _chunk;
      });
      return { sha256: expected, size: hasher.byteCount, created: false };
    }
    const body = pipeline(source, hasher).catch(() => undefined); // errors surface through hasher
    // Read up to SINGLE_PUT_BYTES first: a blob that ends within it (and hashed right) goes in
    // one PutObject, without lib-storage's multipart machinery — most of the cost of a small
    // blob, and most of the garbage of 10 000 of them (issue #24).
    const chunks = hasher[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first: Buffer[] = [];
    let firstBytes = 0;
    let ended = false;
    try {
      while (firstBytes <= SINGLE_PUT_BYTES) {
        const next = await chunks.next();
        if (next.done) {
          ended = true;
          break;
        }
        first.push(next.value);
        firstBytes += next.value.length;
      }
    } catch (error) {
      await body;
      throw error instanceof DomainError ? error : (hasher.errored ?? error);
    }
    if (ended) {
      await body;
      const bytes = Buffer.concat(first);
      await client.send(
        new PutObjectCommand({ Bucket: config.bucket, Key: key(expected), Body: bytes, ContentLength: bytes.length, ContentType: 'application/octet-stream' }),
      );
      return { sha256: expected, size: hasher.byteCount, created: true };
    }
    // A slot is held while the client sends: one that goes silent (a laptop asleep mid-upload,
    // a half-open connection) fails after bodyIdleMs and frees it.
    const nextChunk = async (): Promise<IteratorResult<Buffer>> => {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new DomainError('UNAVAILABLE', `The upload sent nothing for ${bodyIdleMs / 1000} s and was dropped`, { reason: 'idle_body' })),
          bodyIdleMs,
        );
      });
      try {
        return await Promise.race([chunks.next(), idle]);
      } finally {
        clearTimeout(timer);
      }
    };
    const rest = Readable.from(
      (async function* () {
        yield* first;
        for (let next = await nextChunk(); !next.done; next = await nextChunk()) yield next.value;
      })(),
    );
    // A client that hangs up while waiting for a slot leaves the queue at once.
    const gone = new AbortController();
    hasher.once('error', (error) => gone.abort(error));
    if (hasher.errored) gone.abort(hasher.errored);
    try {
      await uploadSlots.run(gone.signal, async () => {
        const upload = new Upload({
          client,
          params: { Bucket: config.bucket, Key: key(expected), Body: rest, ContentType: 'application/octet-stream' },
          partSize: config.partSizeBytes,
          queueSize: config.queueSize,
          leavePartsOnError: false,
        });
        try {
          await upload.done();
        } catch (error) {
          await upload.abort().catch(() => undefined);
          throw error;
        }
      });
    } catch (error) {
      hasher.destroy();
      rest.destroy();
      throw error instanceof DomainError ? error : (hasher.errored ?? error);
    } finally {
      await body;
    }
    return { sha256: expected, size: hasher.byteCount, created: true };
  };

  // Without a claimed hash we cannot name the object yet: spool locally while hashing.
  const putUnknown = async (source: BlobSource): Promise<PutResult> => {
    await mkdir(config.spoolDir, { recursive: true });
    const spool = join(config.spoolDir, `${randomUUID()}.spool`);
    try {
      const hasher = new HashingStream();
      const handle = await open(spool, 'wx', 0o600);
      await pipeline(source, hasher, handle.createWriteStream());
      return await putVerified(createReadStream(spool), hasher.sha256);
    } finally {
      await rm(spool, { force: true });
    }
  };

  return {
    kind: 's3',
    packs: createS3BlobPacks(client, config),
    async put(source, options = {}) {
      return options.expectedSha256 ? putVerified(source, assertSha256(options.expectedSha256), options.assumeAbsent) : putUnknown(source);
    },

    async stat(sha256) {
      return head(assertSha256(sha256));
    },

    async read(sha256: string, range?: ByteRange): Promise<Readable> {
      try {
        const result = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key(assertSha256(sha256)) }));
        const verifier = new VerifyingStream(sha256, range);
        // pipeline, not pipe: a reader that stops early (a client gone) releases the S3
        // connection too, and a body error fails the verifier, which the caller reads.
        pipelineCallback(result.Body as Readable, verifier, () => undefined);
        return verifier;
      } catch (error) {
        if (isS3NotFound(error)) throw new DomainError('NOT_FOUND', `Blob ${sha256} not found`, { sha256 });
        throw error;
      }
    },

    async readRangeUnverified(sha256: string, range: ByteRange): Promise<Readable> {
      try {
        const result = await client.send(
          new GetObjectCommand({ Bucket: config.bucket, Key: key(assertSha256(sha256)), Range: `bytes=${range.start}-${range.end}` }),
        );
        return result.Body as Readable;
      } catch (error) {
        if (isS3NotFound(error)) throw new DomainError('NOT_FOUND', `Blob ${sha256} not found`, { sha256 });
        throw error;
      }
    },

    async delete(sha256: string): Promise<void> {
      await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key(assertSha256(sha256)) }));
    },

    async *list(): AsyncIterable<BlobInfo> {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: `${config.prefix}sha256/`, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(object.Key.lastIndexOf('/') + 1) ?? '';
          if (/^[0-9a-f]{64}$/.test(name)) yield { sha256: name, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    // The S3 equivalent of temp files: multipart uploads that were never completed.
    async sweepIncomplete(olderThanMs: number): Promise<number> {
      const page = await client.send(new ListMultipartUploadsCommand({ Bucket: config.bucket, Prefix: config.prefix || undefined })).catch((error: unknown) => {
        // Some S3-compatible servers (s3rver) cannot list uploads; there is nothing to sweep there.
        if ((error as { name?: string }).name === 'NotImplemented') return { Uploads: [] };
        throw error;
      });
      const stale = (page.Uploads ?? []).filter((u) => u.Initiated && Date.now() - u.Initiated.getTime() >= olderThanMs);
      let aborted = 0;
      for (const upload of stale) {
        // Another instance of a shared server sweeping at the same time may have aborted it first.
        const gone = await client.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: upload.Key, UploadId: upload.UploadId })).then(
          () => false,
          (error: unknown) => ((error as { name?: string }).name === 'NoSuchUpload' ? true : Promise.reject(error)),
        );
        if (!gone) aborted += 1;
      }
      return aborted;
    },
  };
};

export { createS3MultipartTarget, type S3MultipartTargetConfig } from './s3-multipart-target';
export { readRangesInOrder } from './s3-ordered-ranges';
