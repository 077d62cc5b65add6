import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { trainyardAliases } from '../../tools/build/tsconfig-aliases.ts';

// The runner's build (`npm run build:runner`, part of `npm run build:server`): ONE file,
// apps/runner/dist/runner.js, holding the runner, the trainer protocol's code it takes from
// libs/training and every npm package it uses (commander, p-retry, zod), so it runs with a bare
// `node runner.js` on a machine that has only Node.js 22: no npm install (docs/runner.md).
const root = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(root, '../..');

export default defineConfig({
  root,
  resolve: { alias: trainyardAliases(repo) },
  // Bundle every package: only Node's own modules stay imports.
  ssr: { noExternal: true },
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    ssr: true,
    target: 'node22',
    minify: false,
    // A map beside it (not needed to run it): stack traces can be mapped back, and the tests tell a stale build by it.
    sourcemap: true,
    reportCompressedSize: false,
    rollupOptions: {
      input: { runner: resolve(root, 'src/main.ts') },
      external: (id) => builtinModules.includes(id) || id.startsWith('node:'),
      output: { format: 'es', entryFileNames: '[name].js', codeSplitting: false, sourcemapExcludeSources: true },
    },
  },
});
