import { join, resolve } from 'node:path';
import { SERVER_BUILD_DIR, serverEntries } from '@trainyard/core';
import { describe, expect, it } from 'vitest';
import serverBuild from '../vite.config.ts';

const repo = resolve(import.meta.dirname, '..', '..', '..');

describe('the server build (apps/server/vite.config.ts)', () => {
  it("makes exactly libs/core's server entry points, into the build's directory", () => {
    const build = serverBuild.build ?? {};
    expect(build.outDir).toBe(join(repo, SERVER_BUILD_DIR));
    expect(build.sourcemap).toBe(true);
    const output = build.rollupOptions?.output;
    // Every output file directly in dist: runtime-layout.ts finds the root three levels above its own file.
    expect(output).toMatchObject({ format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' });
    expect(build.rollupOptions?.input).toEqual(
      Object.fromEntries(Object.values(serverEntries).map((entry) => [entry.built.replace(/\.js$/, ''), join(repo, entry.module)])),
    );
  });

  it('bundles our code and leaves every npm package to node_modules', () => {
    const external = serverBuild.build?.rollupOptions?.external as (id: string) => boolean;
    for (const id of ['zod', '@prisma/client/runtime/client', '@electric-sql/pglite', 'node:fs', 'fs', 'tsx']) expect(external(id)).toBe(true);
    for (const id of ['@trainyard/core', './wiring', '../generated/prisma/client.ts', join(repo, 'apps', 'server', 'src', 'main.ts')])
      expect(external(id)).toBe(false);
  });
});
