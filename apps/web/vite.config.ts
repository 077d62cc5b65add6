import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(root, '../..');
// @trainyard/* resolved exactly as TypeScript does (longest first, see vitest.config.ts).
const { compilerOptions } = JSON.parse(readFileSync(resolve(repo, 'tsconfig.base.json'), 'utf8')) as {
  compilerOptions: { paths: Record<string, string[]> };
};
const alias = Object.entries(compilerOptions.paths)
  .sort(([a], [b]) => b.length - a.length)
  .map(([find, [target]]) => ({ find, replacement: resolve(repo, target ?? '') }));

export default defineConfig({
  root,
  plugins: [react()],
  resolve: { alias },
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    // The server's CSP allows no inline script or style: keep everything in files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1024,
  },
});
