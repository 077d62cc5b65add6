export * from './file-remote-secrets';
export * from './remote-address';
export type * from './remote-server.port';
export * from './sync.service';
export type { LocalSnapshots, SnapshotWithData, VersionLineage } from './version-bundle';
