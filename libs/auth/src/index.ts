export * from './api-tokens.service';
export * from './job-tokens.service';
