/** End-to-end specs: the server over real mutual TLS, random-source adapters against local stand-ins; never cached. */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'entropy-server:e2e',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.e2e-spec.ts'],
  testTimeout: 60000,
};
