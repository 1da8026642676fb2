/** Unit specs: pure logic, no servers; cached by Nx. */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'api-gateway',
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.spec.ts'],
};
