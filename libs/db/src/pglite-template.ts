import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { installPath, sha256Hex } from '@trainyard/core';
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
export const defaultTemplateCacheDir = installPath('node_modules', '.cache', 'trainyard', 'pglite');

// The package does not export its package.json, so find it from the resolved entry point.
export const pgliteVersion = (): string => {
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

const TEMPLATES_KEPT = 3;

/** Templates of older migration histories are dead weight (40 MB each): keep the most recent few. */
const pruneOldTemplates = async (cacheDir: string): Promise<void> => {
  const names = (await readdir(cacheDir).catch(() => [] as string[])).filter((name) => /^[0-9a-f]{32}$/.test(name));
  const dated = await Promise.all(names.map(async (name) => ({ name, mtime: (await stat(join(cacheDir, name))).mtimeMs })));
  for (const { name } of dated.sort((a, b) => b.mtime - a.mtime).slice(TEMPLATES_KEPT)) {
    await rm(join(cacheDir, name), { recursive: true, force: true });
    await rm(join(cacheDir, `${name}.tar`), { force: true });
  }
};

const memo = new Map<string, Promise<TemplatePaths>>();

/** The template for these migrations, built now if it is not cached yet. */
export const ensurePgliteTemplate = (migrations: readonly Migration[], cacheDir = defaultTemplateCacheDir): Promise<TemplatePaths> => {
  const key = templateKey(migrations);
  let pending = memo.get(key);
  if (!pending) {
    const paths = { dir: join(cacheDir, key), tarball: join(cacheDir, `${key}.tar`) };
    pending =
      existsSync(paths.dir) && existsSync(paths.tarball)
        ? Promise.resolve(paths)
        : build(paths, migrations).then(async () => {
            await pruneOldTemplates(cacheDir);
            return paths;
          });
    memo.set(key, pending);
    pending.catch(() => memo.delete(key));
  }
  return pending;
};

/** The template as a tarball, for `PGlite.create({ loadDataDir })`. */
export const pgliteTemplate = async (migrations: readonly Migration[], cacheDir?: string): Promise<Buffer> =>
  readFile((await ensurePgliteTemplate(migrations, cacheDir)).tarball);

const COPY_CONCURRENCY = 32;

/**
 * Initialises an empty data directory as a copy of the template: ~1 000 small files, copied in
 * parallel (fs.cp copies one at a time), cloned copy-on-write where the file system can.
 */
export const copyPgliteTemplate = async (migrations: readonly Migration[], dataDir: string, cacheDir?: string): Promise<void> => {
  const { dir } = await ensurePgliteTemplate(migrations, cacheDir);
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const relative = (entry: { parentPath: string; name: string }): string => join(entry.parentPath, entry.name).slice(dir.length + 1);
  await mkdir(dataDir, { recursive: true });
  for (const entry of entries) if (entry.isDirectory()) await mkdir(join(dataDir, relative(entry)), { recursive: true });
  const files = entries.filter((entry) => entry.isFile()).map(relative);
  for (let i = 0; i < files.length; i += COPY_CONCURRENCY) {
    await Promise.all(files.slice(i, i + COPY_CONCURRENCY).map((file) => copyFile(join(dir, file), join(dataDir, file), constants.COPYFILE_FICLONE)));
  }
};

/** A PostgreSQL data directory is initialised once PG_VERSION exists in it. */
export const isInitialisedDataDir = (dataDir: string): boolean => existsSync(join(dataDir, 'PG_VERSION'));
