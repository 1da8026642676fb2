// One flat config for the workspace. The boundary rules stand in for Nx's
// enforce-module-boundaries (not published for Nx 24): data flows one way, so no
// app imports another app and libraries never import apps.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const apps = ['api-gateway', 'key-generator', 'replication', 'ttl-reaper', 'entropy-server'];
const appImports = {
  patterns: [
    {
      group: apps.map((app) => `@dqkd/${app}`),
      message: 'Apps are deployables: share code through libs/ instead.',
    },
    {
      group: ['**/apps/**', '../../apps/*'],
      message: 'Apps are deployables: share code through libs/ instead.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', '.dqkd/**', 'coverage/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', appImports],
    },
  },
  // Inside one app, a relative path into any other app's folder is refused too.
  ...apps.map((app) => ({
    files: [`apps/${app}/src/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...appImports.patterns,
            {
              group: apps.filter((other) => other !== app).map((other) => `**/${other}/**`),
              message: 'Apps are deployables: share code through libs/ instead.',
            },
          ],
        },
      ],
    },
  })),
  // The embedded default and the end-to-end tests compose whole sites from the apps' modules: they are
  // composition roots, not deployables.
  { files: ['embedded/**/*.ts', 'e2e/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
