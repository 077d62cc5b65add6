export * from './artifact.service';
export * from './blob-garbage-collector';
export * from './blob-key';
export * from './blob-store.port';
export * from './fs-blob-store';
export * from './fs-multipart-target';
export * from './indexed-blob-store';
export * from './multipart-target.port';
export type { S3BlobStoreConfig } from './s3-blob-store';
/** The S3 adapter is loaded on demand: the AWS SDK costs start-up time a filesystem store does not need. */
export const loadS3BlobStore = () => import('./s3-blob-store');
export * from './blob-inventory';
