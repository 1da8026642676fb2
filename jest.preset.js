// Shared Jest settings: swc instead of ts-jest (which lags TypeScript releases), and
// NestJS/noble are ESM-only, so they are transformed too.
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@noble)/)'],
  moduleNameMapper: {
    '^@dqkd/([a-z0-9-]+)$': path.join(__dirname, 'libs/$1/src/index.ts'),
  },
};
