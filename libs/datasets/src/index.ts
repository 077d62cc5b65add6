export * from './data-filter.sql';
export * from './dataset-snapshot.service';
export * from './pair-normalisation';
export * from './quality-score';
export type { SnapshotManifest } from './snapshot-manifest';
export * from './snapshot-blob-inventory';
export { type ArrivingSnapshot, snapshotConflict } from './snapshot-import';
export * from './training-data-import';
export * from './training-data.service';
