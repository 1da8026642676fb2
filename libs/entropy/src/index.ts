export {
  DEFAULT_TIMEOUT_MS,
  maxAnswerBytes,
  RemoteEntropySource,
  type EntropyServerClientOptions,
} from './entropy-server-client';
export {
  createEntropySources,
  loadKmeEntropyCredentials,
  type KmeEntropyCredentials,
  type KmeEntropySources,
} from './entropy-sources';
export * from './errors';
export * from './protocol';
export { EntropySourcesLifecycle } from './entropy-sources.lifecycle';
