export * from './search-space';
export * from './asha';
export * from './sweep.service';
