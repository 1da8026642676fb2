export { ConfigError, ENVIRONMENT, environmentError, formatIssue, type ConfigIssue } from './config-error';
export { DEFAULT_HEALTH_PORT, LOG_LEVELS, type LogLevel } from './env/env-schema';
export { KekSource } from './env/kek-source';
export {
  parseProcessEnv,
  type DatabaseEnv,
  type Environment,
  type HttpEnv,
  type NatsEnv,
  type ParsedEnv,
  type ProcessEnv,
  setVariables,
} from './env/process-env';
export { EX_CONFIG, exitOnConfigError } from './exit-on-config-error';
export { UnreachableServiceError, withoutPassword } from './unreachable-service-error';
export { urlCredentials, type UrlCredentials } from './url';
export { DqkdConfig, DqkdConfigModule } from './nest/dqkd-config.module';
export type {
  BlastParameters,
  EntropyServer,
  Kme,
  Link,
  LinkLimits,
  NetworkConfig,
  Sae,
} from './network/network-config';
export { blastDefaults, defaultLimits } from './network/network-schema';
export { parseNetwork, type NetworkSource } from './network/parse-network';
export { poolCeilingBits } from './network/pool-ceiling';
export {
  decodeBase64,
  ED25519_PUBLIC_KEY_BYTES,
  X_WING_PUBLIC_KEY_BYTES,
  type SealingPublicKeys,
} from './network/sealing-public-keys';
export { loadNetworkFile, loadProcessConfig, type ProcessConfig } from './process-config';
export {
  ENTROPY_FILE_VARIABLES,
  parseEntropyServerEnv,
  RANDOM_SOURCE_KINDS,
  type EntropyServerEnv,
  type PoolEnv,
  type RandomSourceKind,
  type RandomSourceSpec,
} from './env/entropy-server-env';
export { loadEntropyServerConfig, type EntropyServerConfig } from './entropy-server-config';
