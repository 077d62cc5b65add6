import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Electron's main and (sandboxed) preload scripts as CommonJS bundles: a sandboxed preload
// cannot be an ES module, and @trainyard/* paths must be resolved at build time.
const root = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(root, '../..');
const { compilerOptions } = JSON.parse(readFileSync(resolve(repo, 'tsconfig.base.json'), 'utf8')) as {
  compilerOptions: { paths: Record<string, string[]> };
};
const alias = Object.entries(compilerOptions.paths)
  .sort(([a], [b]) => b.length - a.length)
  .map(([find, [target]]) => ({ find, replacement: resolve(repo, target ?? '') }));

export default defineConfig({
  root,
  resolve: { alias },
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    target: 'node22',
    minify: false,
    lib: {
      entry: { main: resolve(root, 'src/main.ts'), preload: resolve(root, 'src/preload.ts') },
      formats: ['cjs'],
      fileName: (_format, name) => `${name}.cjs`,
    },
    rollupOptions: {
      external: ['electron', ...builtinModules, ...builtinModules.map((name) => `node:${name}`)],
    },
  },
});
