import { resolve } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import { trainyardAliases } from './tools/build/tsconfig-aliases.ts';

const alias = trainyardAliases(resolve('.'));

// Every test file, whichever project it belongs to: `vitest run` with no --project runs them all.
const roots = ['apps/*/src/**', 'libs/*/src/**', 'tools/**'];
const files = (suffix: string): string[] => roots.map((root) => `${root}/${suffix}`);
// *.int.test.ts use real services (PGlite, PostgreSQL, s3rver, child processes);
// *.e2e.test.ts drive Chromium or Electron; every other *.test.ts is a unit test.
const integration = files('*.int.test.ts');
const browser = files('*.e2e.test.ts');

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // `npm run test:unit`, `test:int`, `test:browser` pick one with --project.
    projects: [
      // Unit tests import no services and never chdir: threads start faster than forks (about 6 s against 8 s).
      { extends: true, test: { name: 'unit', pool: 'threads', include: files('*.test.ts'), exclude: [...configDefaults.exclude, ...integration, ...browser] } },
      { extends: true, test: { name: 'int', include: integration } },
      { extends: true, test: { name: 'browser', include: browser } },
    ],
  },
});
