import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { trainyardAliases } from './tools/build/tsconfig-aliases';

const alias = trainyardAliases(resolve('.'));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['apps/*/src/**/*.test.ts', 'libs/*/src/**/*.test.ts', 'tools/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
