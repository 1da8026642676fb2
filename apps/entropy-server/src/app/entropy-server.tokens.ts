/** The loaded EntropyServerSetup. */
export const ENTROPY_SERVER_SETUP = Symbol('dqkd.entropy-server.setup');
/** The configured RandomSource. */
export const RANDOM_SOURCE = Symbol('dqkd.entropy-server.random-source');
/** The pools' ReadinessCheck. */
export const POOL_READINESS = Symbol('dqkd.entropy-server.pool-readiness');
