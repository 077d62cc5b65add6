import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { trainyardAliases } from '../../tools/build/tsconfig-aliases.ts';

// Electron's main and (sandboxed) preload scripts, and the server's utility-process bootstrap, as CommonJS bundles: a sandboxed preload
// cannot be an ES module, and @trainyard/* paths must be resolved at build time.
const root = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(root, '../..');
const alias = trainyardAliases(repo);

export default defineConfig({
  root,
  resolve: { alias },
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    target: 'node22',
    minify: false,
    lib: {
      entry: { main: resolve(root, 'src/main.ts'), preload: resolve(root, 'src/preload.ts'), 'server-entry': resolve(root, 'src/server-entry.ts') },
      formats: ['cjs'],
      fileName: (_format, name) => `${name}.cjs`,
    },
    rollupOptions: {
      external: ['electron', ...builtinModules, ...builtinModules.map((name) => `node:${name}`)],
    },
  },
});
