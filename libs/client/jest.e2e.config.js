/** End-to-end specs: real Postgres, NATS and HTTPS on ephemeral ports; never cached. */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'client:e2e',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.e2e-spec.ts'],
  testTimeout: 60000,
};
