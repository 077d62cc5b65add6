import { readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { serverEntries } from '../../libs/core/src/runtime-layout.ts';
import { trainyardAliases } from '../../tools/build/tsconfig-aliases.ts';

// The server's build (`npm run build:server`): what `npm start`, the CLI and the desktop app run.
// ES modules for Node 22 with source maps; our code (the @trainyard/* libraries and the generated
// Prisma client) bundled, every npm package left to node_modules. One output file per entry
// point in libs/core's serverEntries (the server and CLI, the import worker thread, the
// text-detector trainer), shared code in chunks beside them: every file directly in dist, which
// runtime-layout.ts relies on to find the installation's root.
const root = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(root, '../..');
const alias = trainyardAliases(repo);

/**
 * The migration folders this build is made with: the built server refuses a newer one in
 * prisma/migrations (libs/db's built-migrations.ts) rather than apply a schema its code predates.
 */
export const migrationsOfThisBuild = (): string[] =>
  readdirSync(resolve(repo, 'prisma', 'migrations'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

/** A bare import of an npm package or a Node builtin, not one of ours. */
const isPackage = (id: string): boolean => builtinModules.includes(id) || id.startsWith('node:') || !/^(\.|\/|@trainyard\/|[A-Za-z]:)/.test(id);

export default defineConfig({
  root,
  resolve: { alias },
  define: { __TRAINYARD_BUILT_MIGRATIONS__: JSON.stringify(migrationsOfThisBuild()) },
  // Development-only dependencies are never part of the bundle either: a package is a package.
  ssr: { noExternal: [] },
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    ssr: true,
    target: 'node22',
    minify: false,
    sourcemap: true,
    reportCompressedSize: false,
    rollupOptions: {
      input: Object.fromEntries(Object.values(serverEntries).map((entry) => [entry.built.replace(/\.js$/, ''), resolve(repo, entry.module)])),
      external: isPackage,
      // Maps without the sources' text: stack traces need only the mappings, and Node parses every
      // map of a module it loads at start (the repository has the sources).
      output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', sourcemapExcludeSources: true },
    },
  },
});
