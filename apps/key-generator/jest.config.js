/** Unit specs: pure logic, no servers; cached by Nx. */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'key-generator',
  roots: ['<rootDir>/src'],
  testMatch: ['**/*.spec.ts'],
};
