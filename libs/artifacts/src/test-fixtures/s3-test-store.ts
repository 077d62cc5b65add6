import { join } from 'node:path';
import type { S3BlobStoreConfig } from '../s3-blob-store';

/**
 * The config of an S3 store on the test server under a key prefix of its own (so a test counts
 * only its own objects), with the smallest parts S3 allows so multipart paths run on small blobs.
 */
export const s3TestStoreConfig = (s3: { bucket: string; endpoint: string }, scratch: string): S3BlobStoreConfig => ({
  bucket: s3.bucket,
  prefix: `p${Math.random().toString(36).slice(2)}/`,
  region: 'us-east-1',
  endpoint: s3.endpoint,
  forcePathStyle: true,
  partSizeBytes: 5 * 1024 * 1024,
  queueSize: 2,
  spoolDir: join(scratch, 'spool'),
});
