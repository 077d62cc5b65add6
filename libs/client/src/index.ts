export { createTrainyardClient, type TrainyardClient, type TrainyardClientOptions } from './trainyard-client';
