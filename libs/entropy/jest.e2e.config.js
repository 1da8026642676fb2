/** End-to-end specs: real mutual-TLS servers on ephemeral 127.0.0.1 ports; never cached. */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'entropy:e2e',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.e2e-spec.ts'],
  testTimeout: 60000,
};
