import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { builtLayout, entryFile, SERVER_BUILD_DIR, serverEntries } from '@trainyard/core';

const repoRoot = resolve(import.meta.dirname, '..', '..');

/** The sources a build output was made from, by its source map, with the map's time. */
const sourcesOf = (mapFile: string): { sources: string[]; builtAt: number } => {
  const { sources } = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[] };
  return { sources: sources.map((source) => resolve(mapFile, '..', source)), builtAt: statSync(mapFile).mtimeMs };
};

let checked: string | undefined;

/**
 * The built server's entry (apps/server/dist/main.js, what `npm start` runs), which the process
 * tests start: what ships is what they test. `npm test` and `npm run test:int` build it first; a
 * build older than any source it was made from (edited since) stops the test with what to run,
 * rather than testing yesterday's server.
 */
export const builtServerMain = (): string => {
  if (checked) return checked;
  const main = entryFile(serverEntries.main, builtLayout(repoRoot));
  const dist = join(repoRoot, SERVER_BUILD_DIR);
  if (!existsSync(main)) throw new Error(`The server is not built (${main} is missing): run npm run build:server`);
  for (const map of readdirSync(dist).filter((name) => name.endsWith('.js.map'))) {
    const { sources, builtAt } = sourcesOf(join(dist, map));
    const changed = sources.find((source) => !existsSync(source) || statSync(source).mtimeMs > builtAt);
    if (changed) throw new Error(`The server build is older than its sources (${changed} changed since): run npm run build:server`);
  }
  checked = main;
  return main;
};
