import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DomainError } from '@trainyard/core';
import { copyPgliteTemplate, loadDatabase, loadMigrations, openDatabase } from '@trainyard/db';
import { extract as extractTar } from 'tar';
import { ARCHIVE_PATHS, BACKUP_FORMAT_VERSION, type BackupManifest, backupManifestSchema, isArchivePath } from './backup-manifest';
import { hashFile } from './file-hash';

export interface RestoreReport {
  manifest: BackupManifest;
  /** Migrations applied after loading: those this Trainyard has that the backup's did not. */
  migrated: string[];
}

const refuse = (message: string, details: Record<string, unknown> = {}): DomainError => new DomainError('FAILED_PRECONDITION', message, details);
const corrupt = (message: string, details: Record<string, unknown> = {}): DomainError =>
  new DomainError('INTEGRITY', `The backup is damaged or incomplete: ${message}; nothing was restored`, details);

/** The target must be new: absent, or an empty directory. */
const assertEmptyTarget = async (target: string): Promise<boolean> => {
  const info = await stat(target).catch(() => undefined);
  if (!info) return false;
  if (!info.isDirectory()) throw refuse(`${target} exists and is not a directory; restore into a new, empty data dir`, { target });
  if ((await readdir(target)).length > 0) throw refuse(`${target} is not empty; restore into a new, empty data dir (nothing was changed)`, { target });
  return true;
};

/** Extracts only the kinds of entries a backup has (regular files at the paths it uses); anything else is a damaged or foreign archive. */
const extractArchive = async (file: string, into: string): Promise<void> => {
  const unexpected: string[] = [];
  await mkdir(into, { recursive: true });
  try {
    await extractTar({
      file,
      cwd: into,
      strict: true,
      preserveOwner: false,
      filter: (path, entry) => {
        const type = 'type' in entry ? entry.type : undefined;
        if (type === 'Directory') return true;
        if (type === 'File' && isArchivePath(path)) return true;
        unexpected.push(path);
        return false;
      },
    });
  } catch (error) {
    throw corrupt(`it could not be read as a tar archive (${error instanceof Error ? error.message : String(error)})`);
  }
  if (unexpected.length > 0) throw corrupt(`it holds entries a Trainyard backup never has (${unexpected.slice(0, 3).join(', ')})`);
};

const readManifest = async (archiveDir: string): Promise<BackupManifest> => {
  const text = await readFile(join(archiveDir, ARCHIVE_PATHS.manifest), 'utf8').catch(() => undefined);
  if (text === undefined) throw corrupt('it has no manifest.json (not a Trainyard backup, or cut off)');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt('its manifest.json is not JSON');
  }
  const format = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof format === 'number' && format > BACKUP_FORMAT_VERSION) {
    throw refuse(`The backup has format ${format}, newer than this Trainyard reads (${BACKUP_FORMAT_VERSION}); restore it with a newer Trainyard`);
  }
  const parsed = backupManifestSchema.safeParse(json);
  if (!parsed.success) throw corrupt(`its manifest.json is not a valid backup manifest (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
};

/** Every entry the manifest lists is there with its size and SHA-256, and nothing else is. */
const verifyEntries = async (archiveDir: string, manifest: BackupManifest): Promise<void> => {
  const expected = new Map<string, { size: number; sha256: string }>([
    ...manifest.tables.map((table) => [ARCHIVE_PATHS.table(table.name), table] as const),
    ...manifest.blobs.map((blob) => [ARCHIVE_PATHS.blob(blob.sha256), blob] as const),
    ...manifest.files.map((file) => [ARCHIVE_PATHS.file(file.path), file] as const),
  ]);
  const present = (await readdir(archiveDir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(archiveDir.length + 1))
    .filter((path) => path !== ARCHIVE_PATHS.manifest);
  const extra = present.filter((path) => !expected.has(path));
  if (extra.length > 0) throw corrupt(`it holds files its manifest does not list (${extra.slice(0, 3).join(', ')})`);
  for (const [path, want] of expected) {
    const actual = await hashFile(join(archiveDir, path)).catch(() => undefined);
    if (!actual) throw corrupt(`${path} is missing`, { path });
    if (actual.size !== want.size || actual.sha256 !== want.sha256) {
      throw corrupt(`${path} does not match its manifest (${actual.size} bytes, SHA-256 ${actual.sha256}; expected ${want.size} bytes, ${want.sha256})`, {
        path,
      });
    }
  }
};

/** The migrations to build the new database to before loading: exactly the backup's, all of which this Trainyard must know. */
const migrationsOfBackup = async (manifest: BackupManifest) => {
  const known = await loadMigrations();
  const knownNames = new Set(known.map((migration) => migration.name));
  const unknown = manifest.migrations.filter((name) => !knownNames.has(name));
  if (unknown.length > 0) {
    throw refuse(
      `The backup was made by a newer Trainyard (${manifest.trainyardVersion}): its database has migration(s) this version does not know (${unknown.join(', ')}). Restore it with that version or a newer one.`,
      { unknown },
    );
  }
  const applied = new Set(manifest.migrations);
  return known.filter((migration) => applied.has(migration.name));
};

/** A file's consecutive slices of the given lengths (a table's CSV, one COPY each). */
async function* readChunks(path: string, lengths: readonly number[]): AsyncIterable<Uint8Array<ArrayBuffer>> {
  const handle = await open(path, 'r');
  try {
    let position = 0;
    for (const length of lengths) {
      const chunk = new Uint8Array(length);
      const { bytesRead } = await handle.read(chunk, 0, length, position);
      if (bytesRead !== length) throw corrupt(`${basename(path)} is shorter than its manifest says`);
      position += length;
      yield chunk;
    }
  } finally {
    await handle.close();
  }
}

const moveIfPresent = async (from: string, to: string): Promise<void> => {
  const present = await stat(from).then(
    () => true,
    () => false,
  );
  if (present) await rename(from, to);
};

/**
 * Restores a backup into a new data dir. Everything is built in a hidden sibling directory and
 * renamed into place only once the database is loaded and every count and hash checked, so a
 * damaged archive, a refused backup or a crash never leaves something that looks like a data dir.
 * The new database is migrated to exactly the backup's migrations, loaded, then migrated on to
 * this Trainyard's latest: a backup from an older Trainyard (or an older PostgreSQL) comes up current.
 */
export const restoreBackup = async (archiveFile: string, targetDir: string): Promise<RestoreReport> => {
  const target = resolve(targetDir);
  const existedEmpty = await assertEmptyTarget(target);
  const archiveInfo = await stat(archiveFile).catch(() => undefined);
  if (!archiveInfo?.isFile()) throw refuse(`Cannot read the backup ${archiveFile}: no such file`, { file: archiveFile });
  await mkdir(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.${basename(target)}.restoring-${randomUUID()}`);
  const archiveDir = join(staging, '.archive');
  try {
    await extractArchive(archiveFile, archiveDir);
    const manifest = await readManifest(archiveDir);
    const migrations = await migrationsOfBackup(manifest);
    await verifyEntries(archiveDir, manifest);

    await mkdir(join(staging, 'blobs'), { recursive: true });
    await moveIfPresent(join(archiveDir, 'blobs', 'sha256'), join(staging, 'blobs', 'sha256'));
    await moveIfPresent(join(archiveDir, 'files', 'metrics'), join(staging, 'metrics'));
    await moveIfPresent(join(archiveDir, 'files', 'jobs'), join(staging, 'jobs'));

    const pgliteDir = join(staging, 'pglite');
    await copyPgliteTemplate(migrations, pgliteDir);
    const database = await openDatabase({ kind: 'pglite', dataDir: pgliteDir });
    let migrated: string[];
    try {
      await loadDatabase(
        database,
        manifest.tables.map((table) => ({ ...table, chunks: () => readChunks(join(archiveDir, ARCHIVE_PATHS.table(table.name)), table.chunks) })),
      );
      migrated = (await database.migrate()).applied;
    } finally {
      await database.close();
    }
    await rm(archiveDir, { recursive: true, force: true });
    if (existedEmpty) await rmdir(target);
    await rename(staging, target);
    return { manifest, migrated };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
};
