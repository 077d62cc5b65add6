export * from './search-space';
export * from './asha';
