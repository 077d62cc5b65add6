import { DomainError, SERVER_BUILD_DIR } from '@trainyard/core';

// Replaced by the server build (apps/server/vite.config.ts `define`) with the names of the
// migration folders it was made with; never defined when running from sources.
declare const __TRAINYARD_BUILT_MIGRATIONS__: readonly string[] | undefined;

/** The migrations the running build was made with; undefined from sources (tests, `npm run dev`). */
export const builtMigrations: readonly string[] | undefined =
  typeof __TRAINYARD_BUILT_MIGRATIONS__ === 'undefined' ? undefined : __TRAINYARD_BUILT_MIGRATIONS__;

/**
 * Refuses migrations newer than the build: migrations are read from the installation at run time,
 * so after a `git pull` without a rebuild, old code would otherwise apply a schema it was not
 * written for. From sources the code and the migrations are always the same checkout.
 */
export const assertBuildKnowsMigrations = (names: readonly string[], known: readonly string[] | undefined = builtMigrations): void => {
  if (!known) return;
  const unknown = names.find((name) => !known.includes(name));
  if (unknown)
    throw new DomainError('FAILED_PRECONDITION', `${SERVER_BUILD_DIR} was built before migration ${unknown}: run \`npm run build:server\` (or \`npm ci\`)`, {
      migration: unknown,
    });
};
