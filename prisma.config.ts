import { mkdirSync } from 'node:fs';
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
  async adapter() {
    mkdirSync('tmp', { recursive: true });
    // migrate diff never closes the adapter; an in-memory database does not keep the process alive.
    return new PrismaPGlite(process.env['PRISMA_DIFF_ONLY'] ? new PGlite() : new PGlite('tmp/prisma-dev-db'));
  },
});
