import { createWriteStream, existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isDomainError } from '@trainyard/core';
import { openDatabase } from '@trainyard/db';
import type { Command } from 'commander';
import { type BackupSummary, backupSummary } from '../backup/backup-manifest';
import { restoreBackup } from '../backup/restore-backup';
import { prepareBackup } from '../backup/write-backup';
import { loadConfigForDataDir } from '../config';
import { BACKUP_SUMMARY_HEADER } from '../http/backup-route';
import { acquireDataDirLock, DataDirInUseError } from '../runtime/data-dir-lock';
import { CliError, EXIT_FOR_CODE, explainError, httpError } from './cli-error';
import { connect, dataDirOf, type GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { formatBytes, printJson, printLine } from './output';

/** Writes `source` to `file` through a temporary name, renamed only once complete: a failed backup leaves no file that looks like one. */
const writeAtomically = async (file: string, source: Readable): Promise<number> => {
  const partial = `${file}.partial-${process.pid}`;
  try {
    await pipeline(source, createWriteStream(partial, { flags: 'wx', flush: true }));
    await rename(partial, file);
    return (await stat(file)).size;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
};

/** While a server runs on the data dir (it holds the lock), it makes the backup: GET /backup, streamed to the file. */
const backupThroughServer = async (options: GlobalOptions, file: string): Promise<BackupSummary> => {
  const connection = await connect(options);
  const response = await connection.fetch('/backup');
  if (!response.ok || !response.body) throw await httpError(response, connection.url);
  const summaryHeader = response.headers.get(BACKUP_SUMMARY_HEADER);
  if (response.headers.get('content-type') !== 'application/x-tar' || !summaryHeader) {
    // A shared server's web UI answers any unclaimed GET with its page: never save that as a backup.
    await response.body.cancel();
    throw new CliError(
      `The server at ${connection.url} does not make backups: only a local server does (a shared server's PostgreSQL and S3 are backed up with their own tools).`,
      EXIT.USAGE,
    );
  }
  const summary = JSON.parse(summaryHeader) as BackupSummary;
  await writeAtomically(file, Readable.fromWeb(response.body as WebReadableStream<Uint8Array>));
  return summary;
};

/** No server running: the data dir is opened here, under its lock, so no server starts on it meanwhile. */
const backupDirectly = async (dataDir: string, file: string): Promise<BackupSummary | undefined> => {
  const config = loadConfigForDataDir(dataDir);
  if (config.database.kind !== 'pglite' || config.artifactStore.kind !== 'filesystem') {
    throw new CliError('trainyard backup covers a local data dir (PGlite and filesystem blobs); back up PostgreSQL and S3 with their own tools.', EXIT.USAGE);
  }
  let lock;
  try {
    lock = await acquireDataDirLock(dataDir);
  } catch (error) {
    if (error instanceof DataDirInUseError) return undefined;
    throw error;
  }
  try {
    const database = await openDatabase(config.database);
    try {
      const { manifest, archive } = await prepareBackup({ database, blobRoot: config.artifactStore.root, dataDir });
      await writeAtomically(file, archive);
      return backupSummary(manifest);
    } finally {
      await database.close();
    }
  } finally {
    await lock.release();
  }
};

const cliFailure = (error: unknown): CliError =>
  isDomainError(error) ? new CliError(error.message, EXIT_FOR_CODE[error.code] ?? EXIT.FAILURE) : explainError(error, undefined);

const run = async (command: Command, work: (options: GlobalOptions & { json?: boolean; force?: boolean }) => Promise<void>): Promise<void> => {
  const options = command.optsWithGlobals<GlobalOptions & { json?: boolean; force?: boolean }>();
  try {
    await work(options);
    process.exitCode = EXIT.OK;
  } catch (error) {
    const failure = cliFailure(error);
    process.stderr.write(`Error: ${failure.message}\n`);
    if (options.debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = failure.exitCode;
  }
};

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

export const registerBackupCommands = (program: Command): void => {
  program
    .command('backup')
    .argument('<file>', 'the archive to write (a tar file; refused if it exists, unless --force)')
    .option('--force', 'overwrite <file> if it exists')
    .option('--json', 'print JSON')
    .description(
      'back up the data dir to one file: the database (every table, as CSV), the blobs it references (checked by SHA-256), metric series and job logs. ' +
        'While a server runs on the data dir it makes the backup and keeps serving; otherwise the data dir is opened directly. ' +
        'Not included: remote tokens (remotes.json) and the session token.',
    )
    .action(async (file: string, _options: unknown, command: Command) =>
      run(command, async (options) => {
        const target = resolve(file);
        if (existsSync(target) && !options.force) throw new CliError(`${file} exists; choose another file or pass --force`, EXIT.CONFLICT);
        const started = performance.now();
        const dataDir = dataDirOf(options);
        let summary: BackupSummary | undefined;
        if (!options.url) {
          if (!existsSync(join(dataDir, 'pglite', 'PG_VERSION'))) throw new CliError(`No Trainyard data dir at ${dataDir} (no database in it)`, EXIT.USAGE);
          summary = await backupDirectly(dataDir, target);
        }
        summary ??= await backupThroughServer(options, target);
        const size = (await stat(target)).size;
        if (options.json) return printJson({ file: target, bytes: size, seconds: (performance.now() - started) / 1000, ...summary });
        printLine(
          `Backed up ${summary.tables} tables (${summary.rows} rows), ${summary.blobs} blobs (${formatBytes(summary.blobBytes)}) and ${summary.files} files to ${target}: ${formatBytes(size)} in ${seconds(started)}`,
        );
        if (summary.missingBlobs > 0) printLine(`Warning: ${summary.missingBlobs} blob(s) the database refers to were already missing from the store`);
      }),
    );

  program
    .command('restore')
    .argument('<file>', 'a backup written by `trainyard backup`')
    .option('--json', 'print JSON')
    .description(
      'restore a backup into a new data dir (--data-dir, which must not exist or be empty): every blob and table is checked against the backup’s manifest, ' +
        'the database is migrated to this version; a damaged backup, one from a newer Trainyard, or a non-empty target is refused and nothing is left behind.',
    )
    .action(async (file: string, _options: unknown, command: Command) =>
      run(command, async (options) => {
        const started = performance.now();
        const dataDir = dataDirOf(options);
        const { manifest, migrated } = await restoreBackup(resolve(file), dataDir);
        const summary = backupSummary(manifest);
        if (options.json) return printJson({ dataDir, seconds: (performance.now() - started) / 1000, migrated, ...summary });
        printLine(
          `Restored ${summary.tables} tables (${summary.rows} rows), ${summary.blobs} blobs (${formatBytes(summary.blobBytes)}) and ${summary.files} files into ${dataDir} in ${seconds(started)}`,
        );
        if (migrated.length > 0) printLine(`Migrated the restored database on by ${migrated.length} migration(s): ${migrated.join(', ')}`);
        printLine(`Start a server on it: TRAINYARD_DATA_DIR=${dataDir} npx trainyard serve`);
      }),
    );
};
