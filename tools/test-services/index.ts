export * from './free-port';
export * from './postgres-server';
export * from './raw-http';
export * from './server-process';
export * from './s3-server';
export * from './tcp-proxy';
export * from './browser';
export * from './server-build';
