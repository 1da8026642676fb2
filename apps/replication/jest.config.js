/** Unit specs: pure logic, no servers; cached by Nx. */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'replication',
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.spec.ts'],
};
