export * from './job-state';
export * from './metrics-store';
export * from './trainer-events';
