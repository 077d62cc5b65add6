import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sha256Hex } from '@trainyard/core';
import type { Migration } from './migration-source';
import { applyMigrations } from './migration-runner';
import { pgliteExecutor } from './pglite-executor';

/**
 * PGlite runs initdb inside WASM for every fresh database, which costs 2.5–5 s on a 2-core
 * machine. The resulting cluster is deterministic, so we build it once per (PGlite version,
 * migration history) and reuse it: as a directory that a fresh data dir is copied from with
 * native file I/O, and as a tarball that in-memory (test) databases load. A template that is
 * missing or stale is simply rebuilt. `npm install` builds it ahead of the first start.
 */
export const defaultTemplateCacheDir = fileURLToPath(
  new URL('../../../node_modules/.cache/trainyard/pglite', import.meta.url),
);

// The package does not export its package.json, so find it from the resolved entry point.
const pgliteVersion = (): string => {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
};

const templateKey = (migrations: readonly Migration[]): string =>
  sha256Hex([pgliteVersion(), ...migrations.map((m) => `${m.name}:${m.checksum}`)].join('\n')).slice(0, 32);

interface TemplatePaths {
  dir: string;
  tarball: string;
}

const build = async (paths: TemplatePaths, migrations: readonly Migration[]): Promise<void> => {
  const scratch = `${paths.dir}.${process.pid}.${Date.now()}.tmp`;
  await mkdir(dirname(paths.dir), { recursive: true });
  const db = await PGlite.create(scratch);
  try {
    await applyMigrations(pgliteExecutor(db), migrations);
    const tarball = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
    await writeFile(`${scratch}.tar`, tarball);
  } finally {
    await db.close();
  }
  // Renamed into place, so a concurrent reader sees a complete template or none.
  await rename(`${scratch}.tar`, paths.tarball);
  await rename(scratch, paths.dir).catch(async (error: NodeJS.ErrnoException) => {
    // Another process finished the same template first; theirs is identical.
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    await rm(scratch, { recursive: true, force: true });
  });
};

const memo = new Map<string, Promise<TemplatePaths>>();

/** The template for these migrations, built now if it is not cached yet. */
export const ensurePgliteTemplate = (migrations: readonly Migration[], cacheDir = defaultTemplateCacheDir): Promise<TemplatePaths> => {
  const key = templateKey(migrations);
  let pending = memo.get(key);
  if (!pending) {
    const paths = { dir: join(cacheDir, key), tarball: join(cacheDir, `${key}.tar`) };
    pending = existsSync(paths.dir) && existsSync(paths.tarball) ? Promise.resolve(paths) : build(paths, migrations).then(() => paths);
    memo.set(key, pending);
    pending.catch(() => memo.delete(key));
  }
  return pending;
};

/** The template as a tarball, for `PGlite.create({ loadDataDir })`. */
export const pgliteTemplate = async (migrations: readonly Migration[], cacheDir?: string): Promise<Buffer> =>
  readFile((await ensurePgliteTemplate(migrations, cacheDir)).tarball);

/** Initialises an empty data directory as a copy of the template. */
export const copyPgliteTemplate = async (migrations: readonly Migration[], dataDir: string, cacheDir?: string): Promise<void> => {
  const { dir } = await ensurePgliteTemplate(migrations, cacheDir);
  await cp(dir, dataDir, { recursive: true });
};

/** A PostgreSQL data directory is initialised once PG_VERSION exists in it. */
export const isInitialisedDataDir = (dataDir: string): boolean => existsSync(join(dataDir, 'PG_VERSION'));
