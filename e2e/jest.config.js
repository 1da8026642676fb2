/** Spawns the built apps (Nx builds them first) against the real Postgres and NATS; never cached. */
module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'e2e',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.e2e-spec.ts'],
  testTimeout: 60000,
};
