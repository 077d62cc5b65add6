export * from './errors';
export * from './error-codes';
export * from './logger';
export * from './ids';
export * from './hashing';
export * from './clock';
export * from './pagination';
export * from './runtime-layout';
