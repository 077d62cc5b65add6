export * from './data-filter.sql';
export * from './dataset-snapshot.service';
export * from './pair-normalisation';
export * from './quality-score';
export * from './training-data-import';
export * from './training-data.service';
export { warmPairPreparation } from './pair-preparation-worker';
