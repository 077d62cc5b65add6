import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { trainyardAliases } from '../../tools/build/tsconfig-aliases.ts';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(root, '../..');
const alias = trainyardAliases(repo);

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
