export * from './registry-exchange.service';
