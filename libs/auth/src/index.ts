export * from './api-tokens.service';
