import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { builtLayout, entryFile, SERVER_BUILD_DIR, serverEntries } from '@trainyard/core';

const repoRoot = resolve(import.meta.dirname, '..', '..');

/**
 * A source a build in `dist` was made from (by its source maps) that changed since, or is gone;
 * undefined when the build is up to date.
 */
export const staleSource = (dist: string): string | undefined => {
  for (const map of readdirSync(dist).filter((name) => name.endsWith('.js.map'))) {
    const mapFile = join(dist, map);
    const builtAt = statSync(mapFile).mtimeMs;
    const { sources } = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[] };
    const changed = sources.map((source) => resolve(dist, source)).find((source) => !existsSync(source) || statSync(source).mtimeMs > builtAt);
    if (changed) return changed;
  }
  return undefined;
};

let checked: string | undefined;

/**
 * The built server's entry (apps/server/dist/main.js, what `npm start` runs), which the process
 * tests start: what ships is what they test. `npm test` and `npm run test:int` build it first; a
 * build older than any source it was made from (edited since) stops the test with what to run,
 * rather than testing an old server.
 */
export const builtServerMain = (): string => {
  if (checked) return checked;
  const main = entryFile(serverEntries.main, builtLayout(repoRoot));
  if (!existsSync(main)) throw new Error(`The server is not built (${main} is missing): run npm run build:server`);
  const changed = staleSource(join(repoRoot, SERVER_BUILD_DIR));
  if (changed) throw new Error(`The server build is older than its sources (${changed} changed since): run npm run build:server`);
  // The runner (apps/runner/dist/runner.js) is part of the server's build: runner-local jobs start it.
  const runnerDist = join(repoRoot, 'apps', 'runner', 'dist');
  if (!existsSync(join(runnerDist, 'runner.js'))) throw new Error('The runner is not built (apps/runner/dist/runner.js is missing): run npm run build:server');
  const runnerChanged = staleSource(runnerDist);
  if (runnerChanged) throw new Error(`The runner build is older than its sources (${runnerChanged} changed since): run npm run build:server`);
  checked = main;
  return main;
};
