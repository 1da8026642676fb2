/**
 * End-to-end specs: real Postgres, NATS and HTTPS on ephemeral ports; never cached. BLAST is pure
 * (no servers, no I/O), so it has none yet; the flows that use it are tested end to end in the apps.
 */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'blast:e2e',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.e2e-spec.ts'],
  testTimeout: 60000,
  passWithNoTests: true,
};
