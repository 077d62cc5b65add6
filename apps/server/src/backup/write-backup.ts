import { createHash, type Hash, randomUUID } from 'node:crypto';
import { copyFile, type FileHandle, link, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { blobInventory, blobRelativeKey } from '@trainyard/artifacts';
import { DomainError } from '@trainyard/core';
import { type Database, dumpDatabase } from '@trainyard/db';
import { snapshotBlobInventory } from '@trainyard/datasets';
import { create as createTar } from 'tar';
import { TRAINYARD_VERSION } from '../version';
import { ARCHIVE_PATHS, BACKUP_FORMAT_VERSION, type BackupManifest, DATA_DIR_FILE } from './backup-manifest';
import { hashFile } from './file-hash';

export interface BackupSource {
  database: Database;
  /** The filesystem blob store's root (`<dataDir>/blobs` unless MODEL_ARTIFACTS_PATH moved it). */
  blobRoot: string;
  dataDir: string;
}

export interface PreparedBackup {
  manifest: BackupManifest;
  /** The archive, streamed from the staging directory; the staging directory is removed when it ends or is destroyed. */
  archive: Readable;
}

/** A staging directory inside the data dir (same file system as the blobs, so they can be hard-linked). */
export const STAGING_PREFIX = '.backup-';

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/**
 * A blob, as a hard link: blobs are immutable, so the link is a consistent copy of no bytes that
 * stays valid even if garbage collection removes the original while the archive is streamed.
 */
const stageBlob = async (from: string, to: string): Promise<boolean> => {
  await mkdir(dirname(to), { recursive: true });
  try {
    await link(from, to);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    if (errnoOf(error) !== 'EXDEV' && errnoOf(error) !== 'EPERM') throw error;
    await copyFile(from, to); // blobs on another file system
  }
  return true;
};

/** Data-dir files worth keeping that the database does not hold: metric series and job logs. */
const dataDirFiles = async (dataDir: string): Promise<string[]> => {
  const listed = async (dir: string): Promise<string[]> => readdir(join(dataDir, dir)).catch(() => []);
  const paths: string[] = [];
  for (const job of await listed('metrics')) for (const name of await listed(`metrics/${job}`)) paths.push(`metrics/${job}/${name}`);
  for (const job of await listed('jobs')) for (const name of await listed(`jobs/${job}/logs`)) paths.push(`jobs/${job}/logs/${name}`);
  return paths.filter((path) => DATA_DIR_FILE.test(path)).sort();
};

/**
 * Builds a backup of a local data dir and streams it as one tar archive: `manifest.json` first,
 * then each table as CSV, the blobs the dumped rows reference (content-addressed, hashed again
 * here so a corrupt blob is found now rather than at restore), and the metric and log files.
 * The database is read in one transaction, so the archive is one consistent moment of the
 * database however busy the server is; blobs are immutable, so those the moment references are
 * consistent with it. Metric and log files are copied as they are at the time of the copy.
 */
export const prepareBackup = async (source: BackupSource): Promise<PreparedBackup> => {
  const staging = join(source.dataDir, `${STAGING_PREFIX}${randomUUID()}`);
  try {
    await mkdir(join(staging, 'tables'), { recursive: true });
    await mkdir(join(staging, 'blobs'), { recursive: true });
    await mkdir(join(staging, 'files'), { recursive: true });
    // The blobs are linked inside the dump's transaction: on PGlite it holds the one connection,
    // so nothing can drop an index row and delete its blob between the rows read and the link.
    const blobRoot = source.blobRoot;
    const tableFiles = new Map<string, { handle: FileHandle; hash: Hash }>();
    const dump = await dumpDatabase(source.database, {
      async writeCsv(table, chunk) {
        let file = tableFiles.get(table);
        if (!file) {
          file = { handle: await open(join(staging, ARCHIVE_PATHS.table(table)), 'wx'), hash: createHash('sha256') };
          tableFiles.set(table, file);
        }
        file.hash.update(chunk);
        await file.handle.writeFile(chunk); // the whole chunk, at the current position
      },
      async alongside(tx) {
        const known = new Map([...(await blobInventory(tx)), ...(await snapshotBlobInventory(tx))].map((blob) => [blob.sha256, blob.size]));
        const linked: string[] = [];
        const missing: string[] = [];
        for (const sha256 of [...known.keys()].sort()) {
          const staged = await stageBlob(join(blobRoot, ...blobRelativeKey(sha256).split('/')), join(staging, ARCHIVE_PATHS.blob(sha256)));
          (staged ? linked : missing).push(sha256);
        }
        return { linked, missing };
      },
    }).finally(async () => {
      for (const { handle } of tableFiles.values()) await handle.close();
    });
    const tables: BackupManifest['tables'] = [];
    for (const table of dump.tables) {
      const file = tableFiles.get(table.name);
      if (!file) await writeFile(join(staging, ARCHIVE_PATHS.table(table.name)), '');
      const size = table.chunks.reduce((sum, length) => sum + length, 0);
      const sha256 = (file?.hash ?? createHash('sha256')).digest('hex');
      tables.push({ name: table.name, columns: table.columns, rows: table.rows, chunks: table.chunks, size, sha256 });
    }
    const blobs: BackupManifest['blobs'] = [];
    for (const sha256 of dump.extra.linked) {
      const actual = await hashFile(join(staging, ARCHIVE_PATHS.blob(sha256)));
      if (actual.sha256 !== sha256) {
        throw new DomainError('INTEGRITY', `Blob ${sha256} in the store is corrupt (its bytes hash to ${actual.sha256}); the backup was not written`, {
          sha256,
        });
      }
      blobs.push({ sha256, size: actual.size });
    }
    const missingBlobs = dump.extra.missing;
    const files: BackupManifest['files'] = [];
    for (const path of await dataDirFiles(source.dataDir)) {
      const staged = join(staging, ARCHIVE_PATHS.file(path));
      await mkdir(dirname(staged), { recursive: true });
      const copied = await copyFile(join(source.dataDir, path), staged).then(
        () => true,
        (error: unknown) => (errnoOf(error) === 'ENOENT' ? false : Promise.reject(error)), // a job deleted meanwhile
      );
      if (copied) files.push({ path, ...(await hashFile(staged)) });
    }
    const manifest: BackupManifest = {
      format: 'trainyard-backup',
      formatVersion: BACKUP_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      trainyardVersion: TRAINYARD_VERSION,
      postgresVersion: dump.postgresVersion,
      migrations: dump.migrations,
      tables,
      blobs,
      missingBlobs,
      files,
    };
    await writeFile(join(staging, ARCHIVE_PATHS.manifest), JSON.stringify(manifest));
    // The manifest first: a restore learns what to expect (and whether it can) before the bulk.
    const archive = Readable.from(createTar({ cwd: staging, portable: true }, [ARCHIVE_PATHS.manifest, 'tables', 'blobs', 'files']));
    archive.once('close', () => void rm(staging, { recursive: true, force: true }));
    return { manifest, archive };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
};

/** Staging directories a crashed backup left behind (none is in use when a server starts). */
export const removeStaleBackupStaging = async (dataDir: string): Promise<void> => {
  for (const name of await readdir(dataDir).catch(() => [] as string[])) {
    if (name.startsWith(STAGING_PREFIX)) await rm(join(dataDir, name), { recursive: true, force: true });
  }
};
