export * from './errors';
export * from './ids';
export * from './hashing';
export * from './clock';
export * from './pagination';
