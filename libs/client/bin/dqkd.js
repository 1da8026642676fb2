#!/usr/bin/env node
// Committed entry point, so npm links `dqkd` at install time; the CLI itself is compiled TypeScript.
const path = require('node:path');
const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
try {
  require.resolve(main);
} catch {
  process.stderr.write('dqkd: not built yet; run `npm run build` (or `npm start`, which builds) first\n');
  process.exit(1);
}
require(main);
