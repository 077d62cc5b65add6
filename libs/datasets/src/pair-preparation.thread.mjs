// Entry of the import worker thread when the server runs from its sources (tests, `npm run dev`;
// the built server runs apps/server/dist/import-worker.js instead: libs/core runtime-layout.ts).
// A worker does not inherit the TypeScript loader its parent was started with (tsx registers
// per thread), so it registers tsx itself, with the repository's tsconfig for the @trainyard/*
// paths, whatever the current directory is.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.base.json', import.meta.url)) });
await import('./pair-preparation.thread.ts');
