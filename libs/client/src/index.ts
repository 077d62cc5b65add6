export {
  createTrainyardClient,
  isTransientError,
  trainyardErrorInfo,
  type TrainyardClient,
  type TrainyardClientOptions,
  type TrainyardErrorInfo,
} from './trainyard-client';
