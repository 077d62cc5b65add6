import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { fingerprintDir, type ServerProcess, runCli, startServerProcess } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { create as createTar, extract as extractTar, list as listTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVersionWithFiles, randomBlob } from '../test-support/sync-fixtures';
import { trainDetectorModel } from '../test-support/trained-model';
import { EXIT } from './exit-codes';

/** Every table of the schema is in a backup (one Prisma model, one table). */
const SCHEMA_TABLES = (readFileSync(fileURLToPath(new URL('../../../../prisma/schema.prisma', import.meta.url)), 'utf8').match(/^model \w+ \{/gm) ?? []).length;

const root = mkdtempSync(join(tmpdir(), 'trainyard-backup-'));
const original = join(root, 'original');
const env = (dataDir: string): Record<string, string> => ({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off' });
const trainyard = async (args: string[], dataDir: string) => {
  const run = runCli(args, env(dataDir));
  return { code: await run.exited, output: run.output() };
};
const stop = async (server: ServerProcess): Promise<void> => {
  server.child.kill('SIGTERM');
  await server.exited;
};
const clientOf = (server: ServerProcess): TrainyardClient => createTrainyardClient({ url: server.url, token: server.token });

/** Every page of a cursor-paged list. */
const listAll = async <T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> => {
  const items: T[] = [];
  for (let cursor: string | undefined; ;) {
    const next = await page(cursor);
    items.push(...next.items);
    if (!next.nextCursor) return items;
    cursor = next.nextCursor;
  }
};

const importPairs = async (server: ServerProcess, count: number, seed: number): Promise<void> => {
  const response = await fetch(`${server.url}/import/training-data`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/x-ndjson' },
    body: syntheticPairs(count, seed)
      .map((pair) => JSON.stringify(pair))
      .join('\n'),
  });
  if (response.status !== 200) throw new Error(`import answered ${response.status}`);
};

/** What a user sees of a data dir through the API: models, versions with artifacts, jobs, snapshots, pairs, blob bytes, metrics, logs. */
const observe = async (server: ServerProcess) => {
  const client = clientOf(server);
  const models = (await listAll((cursor) => client.models.list.query({ limit: 200, cursor }))).map((model) => model.name).sort();
  const versions = [];
  for (const model of models) {
    for (const version of await listAll((cursor) => client.models.listVersions.query({ model, limit: 200, cursor }))) {
      const artifacts = await listAll((cursor) => client.artifacts.list.query({ modelVersionId: version.id, limit: 200, cursor }));
      versions.push({
        model,
        version: version.version,
        metrics: version.metrics,
        artifacts: artifacts
          .map((artifact) => ({ name: artifact.name, sha256: artifact.sha256, size: artifact.size }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      });
    }
  }
  const jobs = (await listAll((cursor) => client.jobs.list.query({ limit: 200, cursor }))).map((job) => ({ id: job.id, name: job.name, status: job.status }));
  const jobDetails = [];
  for (const job of jobs) {
    jobDetails.push({
      id: job.id,
      metrics: await client.jobs.metrics.query({ jobId: job.id }),
      stdout: (await client.jobs.logs.query({ id: job.id, stream: 'stdout', offset: 0 })).text,
      events: (await client.jobs.logs.query({ id: job.id, stream: 'events', offset: 0 })).text,
    });
  }
  const snapshots = (await listAll((cursor) => client.datasets.list.query({ limit: 200, cursor }))).map((snapshot) => ({
    id: snapshot.id,
    name: snapshot.name,
    blobSha256: snapshot.blobSha256,
  }));
  const pairs = (await listAll((cursor) => client.trainingData.list.query({ limit: 200, cursor }))).sort((a, b) => a.id.localeCompare(b.id));
  const blobHashes = [
    ...new Set([...versions.flatMap((version) => version.artifacts.map((artifact) => artifact.sha256)), ...snapshots.map((s) => s.blobSha256)]),
  ];
  const blobBytes: Record<string, string> = {};
  for (const hash of blobHashes.sort()) {
    const response = await fetch(`${server.url}/blobs/sha256/${hash}`, { headers: { authorization: `Bearer ${server.token}` } });
    blobBytes[hash] = createHash('sha256')
      .update(Buffer.from(await response.arrayBuffer()))
      .digest('hex');
  }
  return { models, versions, jobs, jobDetails, snapshots, pairs, blobBytes };
};

const fingerprint = fingerprintDir;

const siblingsOf = (dir: string): string[] => readdirSync(join(dir, '..'));

/** A copy of a backup rebuilt after `change` edits its extracted files (same entry order). */
const rebuiltArchive = async (archive: string, name: string, change: (dir: string) => void): Promise<string> => {
  const dir = join(root, `${name}-extracted`);
  mkdirSync(dir, { recursive: true });
  await extractTar({ file: archive, cwd: dir });
  change(dir);
  const file = join(root, `${name}.tar`);
  await createTar({ file, cwd: dir, portable: true }, ['manifest.json', 'tables', 'blobs', 'files']);
  return file;
};

let server: ServerProcess;
let directArchive: string;
let modelBlobHash: string;
afterAll(async () => {
  if (server && server.child.exitCode === null) await stop(server);
  rmSync(root, { recursive: true, force: true });
});

describe('trainyard backup / restore', () => {
  beforeAll(async () => {
    // What a backup that crashed mid-way leaves; the next server start removes it.
    mkdirSync(join(original, '.backup-crashed', 'tables'), { recursive: true });
    server = await startServerProcess(env(original));
    expect(existsSync(join(original, '.backup-crashed'))).toBe(false);
    // A data dir as a user makes it: pairs, a snapshot, a trained job (metrics, logs, a model
    // version with the trainer's artifacts), and a version with a hand-registered blob.
    const trained = await trainDetectorModel({ url: server.url, token: server.token, client: clientOf(server) }, { model: 'detector', pairs: 300, seed: 11 });
    expect(trained.status).toBe('succeeded');
    const weights = randomBlob(3 * 1024 * 1024);
    modelBlobHash = createHash('sha256').update(weights).digest('hex');
    await createVersionWithFiles(server, clientOf(server), 'weights-model', [{ name: 'weights.bin', bytes: weights }]);
    // A remote's token lives in remotes.json: never in a backup.
    writeFileSync(join(original, 'remotes.json'), JSON.stringify({ team: 'tyd_secret-remote-token-for-the-test' }));
  }, 180_000);

  it('the help states what a backup holds, what it leaves out, and what restore refuses (each promise is tested below)', async () => {
    const backupHelp = (await trainyard(['backup', '--help'], original)).output.replace(/\s+/g, ' ');
    expect(backupHelp).toContain('refused if it exists, unless --force');
    expect(backupHelp).toContain('the database (every table, as CSV), the blobs it references (checked by SHA-256), metric series and job logs');
    expect(backupHelp).toContain('While a server runs on the data dir it makes the backup and keeps serving; otherwise the data dir is opened directly');
    expect(backupHelp).toContain('Not included: remote tokens (remotes.json) and the session token');
    const restoreHelp = (await trainyard(['restore', '--help'], original)).output.replace(/\s+/g, ' ');
    expect(restoreHelp).toContain('restore a backup into a new data dir (--data-dir, which must not exist or be empty)');
    expect(restoreHelp).toContain('every blob and table is checked against the backup’s manifest');
    expect(restoreHelp).toContain('the database is migrated to this version');
    expect(restoreHelp).toContain('a damaged backup, one from a newer Trainyard, or a non-empty target is refused and nothing is left behind');
  });

  it('backs up through the running server while it serves writes; the restore serves the same models, jobs, blobs and pairs', async () => {
    const before = await observe(server);
    const archive = join(root, 'live.tar');
    // Imports keep arriving while the backup runs: the server must go on serving them.
    let writing = true;
    let completedWrites = 0;
    const writer = (async () => {
      for (let seed = 1000; writing; seed += 1) {
        await importPairs(server, 50, seed);
        completedWrites += 1;
      }
    })();
    const startedWrites = completedWrites;
    const backup = await trainyard(['backup', archive], original);
    const writesDuringBackup = completedWrites - startedWrites;
    writing = false;
    await writer;
    expect(backup.code, backup.output).toBe(EXIT.OK);
    expect(backup.output).toMatch(
      new RegExp(
        String.raw`Backed up ${SCHEMA_TABLES} tables \(\d+ rows\), \d+ blobs \([\d.]+ (KiB|MiB)\) and \d+ files to .*live\.tar: [\d.]+ MiB in [\d.]+ s`,
      ),
    );
    expect(writesDuringBackup).toBeGreaterThan(0);
    const after = await observe(server);

    const entries: string[] = [];
    await listTar({ file: archive, onReadEntry: (entry) => entries.push(entry.path) });
    expect(entries[0]).toBe('manifest.json');
    expect(entries.filter((path) => path.startsWith('tables/') && path.endsWith('.csv'))).toHaveLength(SCHEMA_TABLES);
    expect(entries.some((path) => /^files\/metrics\/[0-9a-f-]{36}\//.test(path))).toBe(true);
    expect(entries.some((path) => /^files\/jobs\/[0-9a-f-]{36}\/logs\/stdout\.log$/.test(path))).toBe(true);
    expect(entries.filter((path) => /remotes|session|server\.lock|pglite/.test(path))).toEqual([]);
    expect(readFileSync(archive).includes('tyd_secret-remote-token-for-the-test')).toBe(false);

    const restoredDir = join(root, 'restored-live');
    const restore = await trainyard(['restore', archive], restoredDir);
    expect(restore.code, restore.output).toBe(EXIT.OK);
    expect(restore.output).toMatch(new RegExp(String.raw`Restored ${SCHEMA_TABLES} tables \(\d+ rows\), \d+ blobs .* into .*restored-live in [\d.]+ s`));
    expect(existsSync(join(restoredDir, 'remotes.json'))).toBe(false);
    const restoredServer = await startServerProcess(env(restoredDir));
    try {
      const restored = await observe(restoredServer);
      // Everything made before the backup is there, identical.
      const { pairs: pairsBefore, ...restBefore } = before;
      const { pairs: restoredPairs, ...restRestored } = restored;
      expect(restRestored).toEqual(restBefore);
      expect(restored.blobBytes[modelBlobHash]).toBe(modelBlobHash);
      // The pairs are one consistent moment between the start and the end of the backup, each one byte for byte.
      const afterById = new Map(after.pairs.map((pair) => [pair.id, pair]));
      expect(restoredPairs.length).toBeGreaterThanOrEqual(pairsBefore.length);
      expect(restoredPairs.length).toBeLessThanOrEqual(after.pairs.length);
      for (const pair of restoredPairs) expect(pair).toEqual(afterById.get(pair.id));
      for (const pair of pairsBefore) expect(restoredPairs.map((p) => p.id)).toContain(pair.id);
      // The restored server takes writes of its own.
      await importPairs(restoredServer, 20, 99_999);
    } finally {
      await stop(restoredServer);
    }
  }, 240_000);

  it('backs up a stopped data dir directly, refuses to overwrite a file unless --force, and refuses a corrupt blob in the store', async () => {
    await stop(server);
    directArchive = join(root, 'direct.tar');
    writeFileSync(directArchive, 'an older file');
    const refused = await trainyard(['backup', directArchive], original);
    expect(refused.code).toBe(EXIT.CONFLICT);
    expect(refused.output).toMatch(/direct\.tar exists; choose another file or pass --force/);
    expect(readFileSync(directArchive, 'utf8')).toBe('an older file');

    const backup = await trainyard(['backup', directArchive, '--force', '--json'], original);
    expect(backup.code, backup.output).toBe(EXIT.OK);
    const summary = JSON.parse(backup.output) as { bytes: number; seconds: number; rows: number; blobs: number; files: number };
    expect(summary.blobs).toBeGreaterThanOrEqual(3);
    expect(summary.bytes).toBe(statSync(directArchive).size);
    process.stdout.write(
      `backup of the test data dir: ${summary.bytes} bytes, ${summary.rows} rows, ${summary.blobs} blobs, ${summary.files} files, ${summary.seconds.toFixed(2)} s\n`,
    );

    const restoredDir = join(root, 'restored-direct');
    const restore = await trainyard(['restore', directArchive, '--json'], restoredDir);
    expect(restore.code, restore.output).toBe(EXIT.OK);
    const restored = JSON.parse(restore.output) as { seconds: number; rows: number };
    expect(restored.rows).toBe(summary.rows);
    process.stdout.write(`restore of the test data dir: ${restored.seconds.toFixed(2)} s\n`);
    expect(readFileSync(join(restoredDir, 'blobs', 'sha256', modelBlobHash.slice(0, 2), modelBlobHash))).toEqual(
      readFileSync(join(original, 'blobs', 'sha256', modelBlobHash.slice(0, 2), modelBlobHash)),
    );

    // A blob whose bytes no longer match its name is found while backing up, not at restore.
    const blobPath = join(original, 'blobs', 'sha256', modelBlobHash.slice(0, 2), modelBlobHash);
    const good = readFileSync(blobPath);
    const bad = Buffer.from(good);
    bad[1000] = (bad[1000] ?? 0) ^ 0xff;
    writeFileSync(blobPath, bad);
    try {
      const corrupt = await trainyard(['backup', join(root, 'corrupt-source.tar')], original);
      expect(corrupt.code).toBe(EXIT.CONFLICT);
      expect(corrupt.output).toMatch(new RegExp(`Blob ${modelBlobHash} in the store is corrupt .*the backup was not written`));
      expect(readdirSync(root).filter((name) => name.startsWith('corrupt-source'))).toEqual([]);
      expect(readdirSync(original).filter((name) => name.startsWith('.backup-'))).toEqual([]);
    } finally {
      writeFileSync(blobPath, good);
    }
  }, 180_000);

  it('saves nothing from a server that does not make backups (a shared server answers any GET with its web page)', async () => {
    const page = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Trainyard</title>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = page.address() as AddressInfo;
      const file = join(root, 'not-a-backup.tar');
      const result = await trainyard(['backup', file, '--url', `http://127.0.0.1:${port}`, '--token', 'any-token'], original);
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.output).toMatch(/does not make backups: only a local server does/);
      expect(readdirSync(root).filter((name) => name.startsWith('not-a-backup'))).toEqual([]);
    } finally {
      page.close();
    }
  });

  it('refuses a non-empty target, a truncated or corrupt archive and a backup from a newer Trainyard, leaving nothing behind', async () => {
    const occupied = join(root, 'occupied');
    mkdirSync(occupied);
    writeFileSync(join(occupied, 'notes.txt'), 'mine');
    const nonEmpty = await trainyard(['restore', directArchive], occupied);
    expect(nonEmpty.code).toBe(EXIT.CONFLICT);
    expect(nonEmpty.output).toMatch(/occupied is not empty; restore into a new, empty data dir \(nothing was changed\)/);
    expect(readdirSync(occupied)).toEqual(['notes.txt']);

    const truncated = join(root, 'truncated.tar');
    cpSync(directArchive, truncated);
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    const corruptBlob = await rebuiltArchive(directArchive, 'corrupt-blob', (dir) => {
      const path = join(dir, 'blobs', 'sha256', modelBlobHash.slice(0, 2), modelBlobHash);
      const bytes = readFileSync(path);
      bytes[7] = (bytes[7] ?? 0) ^ 0x01;
      writeFileSync(path, bytes);
    });
    const corruptTable = await rebuiltArchive(directArchive, 'corrupt-table', (dir) => {
      const path = join(dir, 'tables', 'TrainingDataPoint.csv');
      writeFileSync(path, readFileSync(path, 'utf8').replace(/[a-z]/, 'Z'));
    });
    const future = await rebuiltArchive(directArchive, 'future', (dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { migrations: string[]; trainyardVersion: string };
      manifest.migrations.push('29991231000000_from_the_future');
      manifest.trainyardVersion = '99.0.0';
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    });
    const withLink = await rebuiltArchive(directArchive, 'with-link', (dir) => {
      symlinkSync('/etc/passwd', join(dir, 'files', 'metrics', 'passwd'));
    });
    const cases = [
      { file: withLink, message: /damaged or incomplete: it holds entries a Trainyard backup never has \(files\/metrics\/passwd\)/ },
      // Cut inside an entry: tar reports the truncation; cut where an entry ends: the manifest names what is missing.
      { file: truncated, message: /The backup is damaged or incomplete: (.*Truncated input|blobs\/sha256\/.* is missing).*nothing was restored/ },
      {
        file: corruptBlob,
        message: new RegExp(`damaged or incomplete: blobs/sha256/${modelBlobHash.slice(0, 2)}/${modelBlobHash} does not match its manifest`),
      },
      { file: corruptTable, message: /damaged or incomplete: tables\/TrainingDataPoint\.csv does not match its manifest/ },
      {
        file: future,
        message:
          /The backup was made by a newer Trainyard \(99\.0\.0\): its database has migration\(s\) this version does not know \(29991231000000_from_the_future\)/,
      },
    ];
    for (const [index, { file, message }] of cases.entries()) {
      const target = join(root, `refused-${index}`);
      const result = await trainyard(['restore', file], target);
      expect(result.code, result.output).toBe(EXIT.CONFLICT);
      expect(result.output).toMatch(message);
      expect(existsSync(target)).toBe(false);
      expect(siblingsOf(target).filter((name) => name.includes('.restoring-'))).toEqual([]);
    }
  }, 180_000);

  it('a data dir from another PostgreSQL major is refused by serve and backup, named with both majors and the way across, and left untouched', async () => {
    const bundled = readFileSync(join(original, 'pglite', 'PG_VERSION'), 'utf8').trim();
    const older = String(Number(bundled) - 1);
    const moved = join(root, 'older-major');
    cpSync(original, moved, { recursive: true });
    writeFileSync(join(moved, 'pglite', 'PG_VERSION'), `${older}\n`);
    const before = fingerprint(moved);
    const expected = new RegExp(
      `was written by PostgreSQL ${older}, but this Trainyard's PGlite is PostgreSQL ${bundled}; it was not opened and nothing in it was changed\\. .*trainyard backup <file> --data-dir <its data dir>.*trainyard restore <file> --data-dir <a new, empty dir>`,
    );
    const serve = runCli(['serve'], { ...env(moved), PORT: '0' });
    expect(await serve.exited).not.toBe(0);
    expect(serve.output()).toMatch(expected);
    const backup = await trainyard(['backup', join(root, 'older.tar')], moved);
    expect(backup.code).toBe(EXIT.CONFLICT);
    expect(backup.output).toMatch(expected);
    expect(fingerprint(moved)).toEqual(before);
  }, 120_000);
});
