import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sha256Hex } from '@trainyard/core';
import type { Migration } from './migration-source';
import { applyMigrations } from './migration-runner';
import { pgliteExecutor } from './pglite-executor';

/**
 * PGlite runs initdb inside WASM on every fresh database, which costs 2.5–5 s on a 2-core
 * machine. The resulting cluster is deterministic, so we build it once per (PGlite version,
 * migration history), keep it as a tarball and load it into every fresh database: a fresh
 * data dir or in-memory test database then opens in well under a second. A template that is
 * missing or stale is simply rebuilt.
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

const buildTemplate = async (migrations: readonly Migration[]): Promise<Buffer> => {
  const scratch = await PGlite.create();
  try {
    await applyMigrations(pgliteExecutor(scratch), migrations);
    const tarball = await scratch.dumpDataDir('none');
    return Buffer.from(await tarball.arrayBuffer());
  } finally {
    await scratch.close();
  }
};

const memo = new Map<string, Promise<Buffer>>();

/** The template tarball for these migrations, from memory, the cache dir, or built now. */
export const pgliteTemplate = (migrations: readonly Migration[], cacheDir = defaultTemplateCacheDir): Promise<Buffer> => {
  const key = templateKey(migrations);
  let pending = memo.get(key);
  if (!pending) {
    pending = loadOrBuild(key, migrations, cacheDir);
    memo.set(key, pending);
    pending.catch(() => memo.delete(key));
  }
  return pending;
};

const loadOrBuild = async (key: string, migrations: readonly Migration[], cacheDir: string): Promise<Buffer> => {
  const file = join(cacheDir, `${key}.tar`);
  if (existsSync(file)) return readFile(file);
  const tarball = await buildTemplate(migrations);
  // Written beside its final name and renamed, so a concurrent reader never sees half a file.
  await mkdir(cacheDir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, tarball);
  await rename(temp, file);
  return tarball;
};

/** A PostgreSQL data directory is initialised once PG_VERSION exists in it. */
export const isInitialisedDataDir = (dataDir: string): boolean => existsSync(join(dataDir, 'PG_VERSION'));
