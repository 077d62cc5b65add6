export * from './artifact.service';
export * from './blob-garbage-collector';
export * from './blob-key';
export * from './blob-store.port';
export * from './fs-blob-store';
export * from './s3-blob-store';
