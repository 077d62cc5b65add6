export * from './common.schema';
export * from './system.schema';
