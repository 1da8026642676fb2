/** End-to-end specs: a real Nest application serving /metrics over HTTP on an ephemeral port; never cached. */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'metrics:e2e',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.e2e-spec.ts'],
  testTimeout: 60000,
};
