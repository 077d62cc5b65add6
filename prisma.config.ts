import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { defineConfig } from 'prisma/config';

// The CLI (generate, migrate dev) runs entirely offline on the WASM schema engine against a
// scratch PGlite database; the app applies committed migrations itself (libs/db migration runner).
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  // Always an in-memory database. The CLI never closes the adapter, and a PGlite database on disk
  // that already exists keeps the process alive: `prisma -v`, run by @prisma/client's
  // postinstall, then hung every `npm ci` after the first. Nothing here needs a lasting
  // database: migrations are diffed from schemas (tools/migrations) and applied by libs/db.
  async adapter() {
    return new PrismaPGlite(new PGlite());
  },
});
