import { z } from 'zod';

/** Bumped when the archive's layout changes; a restore refuses a format it does not know. */
export const BACKUP_FORMAT_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const fileName = '[A-Za-z0-9][A-Za-z0-9._-]{0,200}';

/** Where each kind of entry lives in the archive. Nothing else is extracted; every name is checked against these. */
export const ARCHIVE_PATHS = {
  manifest: 'manifest.json',
  table: (name: string): string => `tables/${name}.csv`,
  blob: (hash: string): string => `blobs/sha256/${hash.slice(0, 2)}/${hash}`,
  /** Data-dir files kept as they are, under `files/` + their path in the data dir. */
  file: (dataDirPath: string): string => `files/${dataDirPath}`,
};

/** Data-dir files a backup keeps: metric series and job logs (job ids are UUIDs, file names plain). */
export const DATA_DIR_FILE = new RegExp(`^(metrics/${uuid}/${fileName}|jobs/${uuid}/logs/${fileName})$`);
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Every path a well-formed archive may contain (directories are implied by them). */
export const isArchivePath = (path: string): boolean =>
  path === ARCHIVE_PATHS.manifest ||
  /^tables\/[A-Za-z_][A-Za-z0-9_]{0,62}\.csv$/.test(path) ||
  /^blobs\/sha256\/([0-9a-f]{2})\/\1[0-9a-f]{62}$/.test(path) ||
  (path.startsWith('files/') && DATA_DIR_FILE.test(path.slice('files/'.length)));

const entry = { size: z.number().int().min(0), sha256 };

export const backupManifestSchema = z.strictObject({
  format: z.literal('trainyard-backup'),
  formatVersion: z.number().int().min(1),
  createdAt: z.iso.datetime(),
  trainyardVersion: z.string().max(100),
  postgresVersion: z.string().max(100),
  /** Migrations the dumped database had applied, in order; a restore migrates a new database to exactly these first. */
  migrations: z.array(z.string().regex(/^[0-9A-Za-z_]{1,255}$/)).max(10_000),
  tables: z
    .array(
      z
        .strictObject({
          name: z.string().regex(TABLE_NAME),
          columns: z
            .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/))
            .min(1)
            .max(1_600),
          rows: z.number().int().min(0),
          /** Byte lengths of the CSV's slices, each whole rows: a restore COPYs them one at a time. */
          chunks: z.array(z.number().int().min(1)).max(1_000_000),
          ...entry,
        })
        .refine((table) => table.chunks.reduce((sum, length) => sum + length, 0) === table.size, 'chunks must add up to the size'),
    )
    .max(1_000),
  /** Content-addressed: `sha256` is both the name and the hash the bytes must have. */
  blobs: z.array(z.strictObject(entry)).max(10_000_000),
  /** Blobs the database refers to that were already missing from the store when the backup was made. */
  missingBlobs: z.array(sha256).max(10_000_000),
  files: z.array(z.strictObject({ path: z.string().regex(DATA_DIR_FILE), ...entry })).max(10_000_000),
});

export type BackupManifest = z.infer<typeof backupManifestSchema>;

/** The one-line account of a backup both the CLI and the server's response header give. */
export const backupSummary = (manifest: BackupManifest) => ({
  tables: manifest.tables.length,
  rows: manifest.tables.reduce((sum, table) => sum + table.rows, 0),
  blobs: manifest.blobs.length,
  blobBytes: manifest.blobs.reduce((sum, blob) => sum + blob.size, 0),
  files: manifest.files.length,
  missingBlobs: manifest.missingBlobs.length,
});
export type BackupSummary = ReturnType<typeof backupSummary>;
