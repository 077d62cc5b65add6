import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { freePort } from './free-port';

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** s3rver's on-disk root, to inspect what it really stored. */
  directory: string;
  /** s3rver accepts these fixed credentials. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Multipart uploads started and neither completed nor aborted (read from s3rver's store, which cannot list them). */
  pendingMultipartUploads(): string[];
  /** Every object key in the bucket. */
  listKeys(): Promise<string[]>;
  stop(): Promise<void>;
}

/** A real S3-compatible HTTP server (s3rver) on a free loopback port, with one empty bucket. */
export const startS3Server = async (bucket = 'trainyard-test'): Promise<S3TestServer> => {
  const directory = mkdtempSync(join(tmpdir(), 'trainyard-s3-'));
  const port = await freePort();
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    directory,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    pendingMultipartUploads() {
      const uploads = join(directory, bucket, '._S3rver_uploads');
      return existsSync(uploads) ? readdirSync(uploads) : [];
    },
    async listKeys() {
      const { ListObjectsV2Command, S3Client } = await import('@aws-sdk/client-s3');
      const client = new S3Client({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
};
