#!/usr/bin/env node
// `npx trainyard …` from the repo: runs the TypeScript CLI through tsx with the repo's
// tsconfig (path aliases), whatever the current directory is.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.base.json', import.meta.url)) });
await import('../src/main.ts');
