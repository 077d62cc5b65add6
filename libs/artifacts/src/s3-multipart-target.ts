import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DomainError, isDomainError } from '@trainyard/core';
import { blobRelativeKey } from './blob-key';
import { HashingStream } from './hashing-stream';
import { isS3NotFound } from './s3-errors';
import { readRangesInOrder } from './s3-ordered-ranges';
import type { CompletedPart, MultipartTarget } from './multipart-target.port';

export interface S3MultipartTargetConfig {
  bucket: string;
  prefix: string;
  /** How long a presigned part URL stays valid. */
  urlExpirySeconds: number;
  /** The verifying read-back: bytes per ranged GET and GETs in flight (1: one streaming GET). */
  readBack: { rangeSize: number; concurrency: number };
}

const errorName = (error: unknown): string | undefined => (error as { name?: string } | null)?.name;

/**
 * Clients upload parts straight to S3 through presigned URLs, into a multipart upload at the
 * blob's content address. On completion the server reads the object back through SHA-256
 * (several ranged GETs in flight, hashed in order); a wrong size or hash deletes it. The object is not a stored blob until then: the server counts a blob
 * as present only once its index row is written after this check (IndexedBlobStore), and it
 * runs completions one at a time per hash, never over a blob already verified. (An earlier
 * design completed into a staging key and copied after verifying: the copy and the delete cost
 * ~3 s per GiB on s3rver.)
 */
export const createS3MultipartTarget = (client: S3Client, config: S3MultipartTargetConfig): MultipartTarget => {
  const Bucket = config.bucket;
  const keyOf = (sha256: string): string => `${config.prefix}${blobRelativeKey(sha256)}`;

  const exists = async (Key: string): Promise<boolean> => {
    try {
      await client.send(new HeadObjectCommand({ Bucket, Key }));
      return true;
    } catch (error) {
      if (isS3NotFound(error)) return false;
      throw error;
    }
  };

  return {
    kind: 's3',
    async start(session) {
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: keyOf(session.sha256) }));
      return { uploadId: created.UploadId ?? null };
    },

    partUrl: (session, partNumber) =>
      getSignedUrl(client, new UploadPartCommand({ Bucket, Key: keyOf(session.sha256), UploadId: session.uploadId ?? '', PartNumber: partNumber }), {
        expiresIn: config.urlExpirySeconds,
      }),

    async complete(session, parts: CompletedPart[]) {
      const Key = keyOf(session.sha256);
      try {
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket,
            Key,
            UploadId: session.uploadId ?? '',
            MultipartUpload: { Parts: [...parts].sort((a, b) => a.number - b.number).map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
          }),
        );
      } catch (error) {
        // Typically an earlier attempt completed it and died before verifying (S3 then answers
        // NoSuchUpload; s3rver an internal error): whatever is under the key gets verified below.
        if (!(await exists(Key))) {
          if (errorName(error) === 'NoSuchUpload')
            throw new DomainError('NOT_FOUND', `The store no longer has upload session ${session.id}; start the upload again`);
          throw error;
        }
      }
      try {
        const ranges = readRangesInOrder(client, { Bucket, Key, expectedSize: session.size, ...config.readBack });
        await pipeline(Readable.from(ranges), new HashingStream(session.sha256), async (chunks: AsyncIterable<Buffer>) => {
          for await (const _chunk of chunks) void _chunk;
        });
      } catch (error) {
        // Only wrong bytes are deleted; a failed read leaves the object for the retry to verify.
        if (isDomainError(error) && error.code === 'INTEGRITY') await client.send(new DeleteObjectCommand({ Bucket, Key }));
        throw error;
      }
    },

    async abort(session) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: keyOf(session.sha256), UploadId: session.uploadId ?? '' }));
    },
  };
};
