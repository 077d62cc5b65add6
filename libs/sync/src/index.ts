export * from './file-remote-secrets';
export * from './registry-exchange.service';
export * from './remote-address';
export type * from './remote-registry.port';
export * from './sync.service';
