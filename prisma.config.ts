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
    return new PrismaPGlite(new PGlite('tmp/prisma-dev-db'));
  },
});
