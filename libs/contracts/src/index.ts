export * from './common.schema';
export * from './system.schema';
export * from './artifacts.schema';
export * from './training-data.schema';
export * from './registry.schema';
export * from './jobs.schema';
export * from './sync.schema';
export * from './sweeps.schema';
