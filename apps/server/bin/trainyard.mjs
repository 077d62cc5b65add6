#!/usr/bin/env node
// `npx trainyard …` from the repo: runs the built CLI (apps/server/dist, made by the install's
// `npm run build:server`), whatever the current directory is. Source maps are switched on before
// the bundle loads, so stack traces (`--debug`) name the TypeScript lines.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(`Error: the Trainyard CLI is not built (${fileURLToPath(main)} is missing): run npm run build:server\n`);
  process.exit(1);
}
process.setSourceMapsEnabled(true);
// Node ≥ 22.1 keeps V8's compiled code of the modules loaded below on disk (in the OS temp dir):
// later starts skip compiling the bundle and its packages. Node 20 has no such cache.
module.enableCompileCache?.();
await import(main.href);
