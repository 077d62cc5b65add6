import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DomainError } from '@trainyard/core';
import { assertSha256 } from './blob-key';
import type { BlobInfo, BlobPackStore } from './blob-store.port';
import { isS3NotFound } from './s3-errors';

/** `packs/ab/<id>`: the relative key of a pack; the id is ours (random, 64 hex characters). */
export const packRelativeKey = (packSha256: string): string => `packs/${assertSha256(packSha256).slice(0, 2)}/${packSha256}`;

/** Packs as objects `<prefix>packs/ab/<hash>`, next to the blobs' `<prefix>sha256/…`. */
export const createS3BlobPacks = (client: S3Client, config: { bucket: string; prefix: string }): BlobPackStore => {
  const key = (packSha256: string): string => `${config.prefix}${packRelativeKey(packSha256)}`;
  return {
    async write(bytes) {
      // A new name every time, never the content's hash: two writers of the same blobs would
      // otherwise write one object, and a garbage collector deleting the first writer's pack
      // (its last blob collected) could delete the second's just written under the same name.
      const packSha256 = randomBytes(32).toString('hex');
      await client.send(
        new PutObjectCommand({
          Bucket: config.bucket,
          Key: key(packSha256),
          Body: bytes,
          ContentLength: bytes.length,
          ContentType: 'application/octet-stream',
        }),
      );
      return packSha256;
    },
    async readRange(packSha256, range) {
      try {
        const result = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key(packSha256), Range: `bytes=${range.start}-${range.end}` }));
        return await buffer(result.Body as Readable);
      } catch (error) {
        if (isS3NotFound(error)) throw new DomainError('NOT_FOUND', `Blob pack ${packSha256} not found`, { packSha256 });
        throw error;
      }
    },
    async delete(packSha256) {
      await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key(packSha256) }));
    },
    async *list(): AsyncIterable<BlobInfo> {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: `${config.prefix}packs/`, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(object.Key.lastIndexOf('/') + 1) ?? '';
          if (/^[0-9a-f]{64}$/.test(name)) yield { sha256: name, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
  };
};
