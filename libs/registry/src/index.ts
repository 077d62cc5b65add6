export * from './bundled-version';
export * from './lineage.query';
export * from './lineage.service';
export * from './model-registry.service';
export * from './model-version.service';
export type { ModelOutput, VersionOutput } from './registry-records';
export * from './validation-gate';
export type { VersionNumber } from './version-numbers';
