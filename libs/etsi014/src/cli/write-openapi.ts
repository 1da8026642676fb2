#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { openApiDocument } from '../openapi/openapi-document';

// Runs as libs/etsi014/dist/cli/write-openapi.js, four folders below the repository root.
const target = process.argv[2] ?? path.resolve(__dirname, '../../../../docs/openapi.json');
mkdirSync(path.dirname(target), { recursive: true });
writeFileSync(target, `${JSON.stringify(openApiDocument, null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
