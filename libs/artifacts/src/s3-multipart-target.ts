import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { blobRelativeKey } from './blob-key';
import { HashingStream } from './hashing-stream';
import type { CompletedPart, MultipartTarget, UploadSessionRef } from './multipart-target.port';

export interface S3MultipartTargetConfig {
  bucket: string;
  prefix: string;
  /** How long a presigned part URL stays valid. */
  urlExpirySeconds: number;
}

/**
 * Clients upload parts straight to S3 through presigned URLs, into a staging key; on
 * completion the server reads the object back through SHA-256 and only a match is copied to
 * its content address (server-side copy) — so nothing unverified ever sits under a hash.
 * The copy is a single CopyObject, which S3 limits to 5 GiB per blob.
 */
export const createS3MultipartTarget = (client: S3Client, config: S3MultipartTargetConfig): MultipartTarget => {
  const stagingKey = (session: UploadSessionRef): string => `${config.prefix}uploads/${session.id}`;

  return {
    kind: 's3',
    async start(sessionId) {
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket: config.bucket, Key: `${config.prefix}uploads/${sessionId}` }));
      return { uploadId: created.UploadId ?? null };
    },

    partUrl: (session, partNumber) =>
      getSignedUrl(client, new UploadPartCommand({ Bucket: config.bucket, Key: stagingKey(session), UploadId: session.uploadId ?? '', PartNumber: partNumber }), {
        expiresIn: config.urlExpirySeconds,
      }),

    async complete(session, parts: CompletedPart[]) {
      const Key = stagingKey(session);
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: config.bucket,
          Key,
          UploadId: session.uploadId ?? '',
          MultipartUpload: { Parts: [...parts].sort((a, b) => a.number - b.number).map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
        }),
      );
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key }));
        const hasher = new HashingStream(session.sha256);
        await pipeline(object.Body as Readable, hasher, async (chunks: AsyncIterable<Buffer>) => {
          for await (const _chunk of chunks) void _chunk;
        });
        await client.send(
          new CopyObjectCommand({ Bucket: config.bucket, Key: `${config.prefix}${blobRelativeKey(session.sha256)}`, CopySource: `${config.bucket}/${Key}` }),
        );
      } finally {
        await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key }));
      }
    },

    async abort(session) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: stagingKey(session), UploadId: session.uploadId ?? '' }));
    },
  };
};
