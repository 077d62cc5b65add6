export * from './exchange.service';
