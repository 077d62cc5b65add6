import { readFileSync } from 'node:fs';
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

  it('is what npm start and the CLI (through its bin) run, made by the install and before the tests; npm run dev runs the sources', () => {
    const { scripts, bin } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    // `npm start` and `npm run trainyard` run the bin: source maps and Node's compile cache on, then the build
    // (without one it says what to run, as `npx trainyard` does).
    expect(bin['trainyard']).toBe('apps/server/bin/trainyard.mjs');
    expect(scripts['start']).toBe(`node ${bin['trainyard']} serve`);
    expect(readFileSync(join(repo, 'apps/server/bin/trainyard.mjs'), 'utf8')).toContain(`new URL('../dist/${serverEntries.main.built}', import.meta.url)`);
    expect(scripts['trainyard']).toBe(`node ${bin['trainyard']}`);
    // The runner (docs/runner.md) is built with it: runner-local jobs start apps/runner/dist/runner.js.
    expect(scripts['build:server']).toBe('vite build --config apps/server/vite.config.ts --logLevel warn && npm run build:runner');
    expect(scripts['build:runner']).toBe('vite build --config apps/runner/vite.config.ts --logLevel warn');
    // The install builds it after generating the Prisma client it bundles.
    expect(scripts['postinstall']).toMatch(/^prisma generate && npm run build:server && /);
    for (const name of ['test', 'test:int', 'test:browser', 'bench', 'desktop', 'desktop:package']) {
      expect(scripts[name], name).toContain('npm run build:server && ');
    }
    expect(scripts['test']?.indexOf('build:server')).toBeLessThan(scripts['test']?.indexOf('vitest run') ?? -1);
    expect(scripts['dev']).toBe(`tsx watch --clear-screen=false ${serverEntries.main.source} serve`);
  });
});
