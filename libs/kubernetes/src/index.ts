export * from './kubernetes-launcher';
export * from './job-manifest';
export * from './job-state';
