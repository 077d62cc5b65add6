export * from './lineage.query';
export * from './model-registry.service';
export * from './model-version.service';
export type { ModelOutput, VersionOutput } from './registry-records';
export * from './validation-gate';
