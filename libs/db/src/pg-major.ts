import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '@trainyard/core';
import { loadMigrations } from './migration-source';
import { defaultTemplateCacheDir, ensurePgliteTemplate, pgliteVersion } from './pglite-template';

/** The major version written in a PostgreSQL data directory's PG_VERSION ("17"), or undefined if unreadable. */
export const pgMajorOf = async (dataDir: string): Promise<string | undefined> => {
  const text = await readFile(join(dataDir, 'PG_VERSION'), 'utf8').catch(() => undefined);
  return text?.trim() || undefined;
};

/**
 * The major version of the PostgreSQL this PGlite bundles: what its own initdb wrote into the
 * template. Remembered per PGlite version in the template cache, so opening an existing data dir
 * never waits for a template to be built (a new migration changes the template, not the major).
 */
export const bundledPgMajor = async (cacheDir = defaultTemplateCacheDir): Promise<string> => {
  const marker = join(cacheDir, `pg-major-${pgliteVersion()}`);
  const remembered = (await readFile(marker, 'utf8').catch(() => ''))?.trim();
  if (remembered) return remembered;
  const major = await pgMajorOf((await ensurePgliteTemplate(await loadMigrations(), cacheDir)).dir);
  if (!major) throw new Error(`The PGlite template has no PG_VERSION; delete ${cacheDir} and start again`);
  // A read-only cache: asked again next time.
  await mkdir(cacheDir, { recursive: true })
    .then(() => writeFile(marker, `${major}\n`))
    .catch(() => undefined);
  return major;
};

/**
 * PostgreSQL cannot open a data directory written by another major version, and a PGlite that
 * tried could leave it unusable for the version that wrote it. So a mismatch is refused before
 * PGlite sees the directory, and nothing in it is changed: the way across is a backup made by
 * the Trainyard that wrote it, restored by this one (docs/operations.md).
 */
export const assertSamePgMajor = async (dataDir: string): Promise<void> => {
  const [found, bundled] = await Promise.all([pgMajorOf(dataDir), bundledPgMajor()]);
  if (found === bundled) return;
  throw new DomainError(
    'FAILED_PRECONDITION',
    `The database in ${dataDir} was written by PostgreSQL ${found ?? '(unknown)'}, but this Trainyard's PGlite is PostgreSQL ${bundled}; it was not opened and nothing in it was changed. ` +
      `To move it across: with the Trainyard that wrote it, run \`trainyard backup <file> --data-dir <its data dir>\`; then with this one, ` +
      `\`trainyard restore <file> --data-dir <a new, empty dir>\` and start the server on the new dir (see docs/operations.md).`,
    { dataDir, found: found ?? null, bundled },
  );
};
