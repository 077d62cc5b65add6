import { mkdtempSync, rmSync } from 'node:fs';
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
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
};
