export {
  createTrainyardClient,
  isTransientError,
  trainyardErrorInfo,
  type TrainyardClient,
  type TrainyardClientOptions,
  type TrainyardErrorInfo,
  type TrainyardInputs,
  type TrainyardOutputs,
} from './trainyard-client';
