import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants, renameSync, writeFile as writeFileCallback } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rm, unlink } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { pipeline as pipelineCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DomainError, sha256Hex } from '@trainyard/core';
import pLimit from 'p-limit';
import { assertSha256, blobRelativeKey } from './blob-key';
import type { BlobInfo, BlobSource, BlobStore, BlobStoreWriteBatch, ByteRange, PutResult } from './blob-store.port';
import { HashingStream, hashMismatch, VerifyingStream } from './hashing-stream';

const fsyncPath = async (path: string): Promise<void> => {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * A read stream allocates a buffer of its highWaterMark for every read: 1 MiB for a 10 KB blob
 * made a push of 1 000 small blobs allocate 1 GiB and spend its time in the allocator and the
 * garbage collector (issue #24). Never more than the bytes there are to read (+1 to see the end).
 */
const readBufferBytes = (bytes: number): number => Math.min(1024 * 1024, Math.max(bytes + 1, 1024));

/**
 * Creates `path` with `bytes`, not yet durable (a batch makes its files durable at `commit`).
 * The callback API, not a `FileHandle`: per 10 KB blob a handle and its promises cost the event
 * loop more than the write.
 */
const createWithBytes = promisify((path: string, bytes: Buffer, done: (error: NodeJS.ErrnoException | null) => void) =>
  writeFileCallback(path, bytes, { flag: 'wx', mode: 0o644 }, done),
);

/** fsync of a file already there (never through a symlink). */
const fsyncFile = async (path: string): Promise<void> => {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * Makes everything written to the file system that holds `path` durable in one call: true once
 * done, false where it cannot be done so (the caller then syncs file by file), a rejection when
 * it was tried and failed. A port so tests can take the file-by-file way.
 */
export type FileSystemSync = (path: string) => Promise<boolean>;

/** syncfs(2) reports every write-back error, the file system's own included, from Linux 5.17. */
export const syncfsReportsErrors = (): boolean => {
  const [major = 0, minor = 0] = release().split('.').map(Number);
  return process.platform === 'linux' && major * 1_000 + minor >= 5_017;
};

/**
 * Linux's syncfs(2), through GNU coreutils' `sync -f` (since 8.24, 2015; Node has no binding):
 * one call for a batch's thousand files instead of a thousand fsyncs, each its own journal
 * commit (issue #24). A write-back error nobody was told of yet makes it fail; one that another
 * process's syncfs was told of first it does not see (fsync has the same blind spot) — such
 * bytes still fail their hash check whenever they are read, and are known corrupt then.
 */
export const syncFileSystem: FileSystemSync = (path) =>
  new Promise((resolve, reject) => {
    if (!syncfsReportsErrors()) return resolve(false);
    execFile('/usr/bin/env', ['sync', '-f', '--', path], (error, _stdout, stderr) => {
      if (!error) return resolve(true);
      // No `env` or no `sync` (ENOENT, 127), or a `sync` without -f: file by file.
      if (error.code === 'ENOENT' || error.code === 127 || /invalid option|unrecognized option/i.test(stderr)) return resolve(false);
      reject(new Error(`Making the written blobs durable failed (sync -f ${path}): ${stderr.trim() || error.message}`));
    });
  });

/** Renames done between two turns of the event loop. */
const RENAMES_PER_TURN = 64;

/**
 * Renames in a loop, RENAMES_PER_TURN between turns of the event loop: a pull's 1 000 took
 * 10–30 ms so, against 50–110 ms through the thread pool, where each waited for a turn of a loop
 * the pull keeps busy with its database writes (issue #24).
 */
const renameAll = async (moves: ReadonlyArray<{ temp: string; target: string }>): Promise<void> => {
  for (let start = 0; start < moves.length; start += RENAMES_PER_TURN) {
    for (const move of moves.slice(start, start + RENAMES_PER_TURN)) renameSync(move.temp, move.target);
    await setImmediate();
  }
};

/** `00` … `ff`: a blob's directory is named by its hash's first two hex digits. */
const PREFIXES = Array.from({ length: 256 }, (_unused, index) => index.toString(16).padStart(2, '0'));

/**
 * `sha256/` and every prefix directory in it, their names made durable by one fsync of
 * `sha256/` (also when another process made them): a fresh store's first pull otherwise made
 * up to 256 of them one at a time, each with its own fsync of `sha256/` (issue #24). Nothing
 * removes them; one removed by hand is made again, durably, by the write that needs it.
 */
const mkdirAllPrefixes = async (base: string): Promise<void> => {
  await mkdir(base, { recursive: true });
  const present = new Set(await readdir(base));
  const limit = pLimit(8);
  await Promise.all(PREFIXES.filter((prefix) => !present.has(prefix)).map((prefix) => limit(() => mkdir(join(base, prefix), { recursive: true }))));
  await fsyncPath(base);
};

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * A batch's temp files go in `tmp/batch/<prefix>/`, by their hash's first two hex digits:
 * creating a file takes its directory's lock, so a pull's thousand creates in one `tmp/`
 * waited on each other; spread over the prefixes they took about half the time (issue #24).
 */
const BATCH_TEMP = 'batch';

/** Removes the files under `directory` (and its subdirectories, which stay) last changed `olderThanMs` ago or more; returns how many. */
const sweepTempFiles = async (directory: string, olderThanMs: number): Promise<number> => {
  let removed = 0;
  const entries = await readdir(directory, { withFileTypes: true }).catch((error: unknown) => (isMissing(error) ? [] : Promise.reject(error)));
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      removed += await sweepTempFiles(path, olderThanMs);
      continue;
    }
    const info = await lstat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs >= olderThanMs) {
      await rm(path, { force: true });
      removed += 1;
    }
  }
  return removed;
};

const storageError = (error: unknown): unknown => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DomainError('UNAVAILABLE', 'The artifact store is out of disk space; the upload was discarded', { reason: 'disk_full' });
  }
  return error;
};

/**
 * Blobs under `<root>/sha256/ab/<hash>`. Writes stream into `<root>/tmp` (same file system),
 * are fsynced, then hard-linked to their final name — link fails if the name exists, so
 * concurrent identical uploads are safe and exactly one reports `created` — and the directory
 * is fsynced. A crash leaves only a temp file, which the startup sweep removes. Batches
 * (`writeBatch`) make their files durable at commit, with `options.syncFileSystem`.
 */
export const createFsBlobStore = async (root: string, options: { syncFileSystem?: FileSystemSync } = {}): Promise<BlobStore> => {
  const syncAll = options.syncFileSystem ?? syncFileSystem;
  await mkdir(join(root, 'tmp'), { recursive: true });
  await mkdirAllPrefixes(join(root, 'sha256'));
  const realRoot = await realpath(root);

  // A symlink planted anywhere inside the store must not lead reads or writes outside it.
  const assertInside = async (path: string): Promise<void> => {
    const resolved = await realpath(path);
    if (!resolved.startsWith(realRoot + sep)) {
      throw new DomainError('INTEGRITY', 'Blob path escapes the artifact store (symlink inside the store)', {});
    }
  };

  const finalPath = (sha256: string): string => join(root, ...blobRelativeKey(sha256).split('/'));

  /** Creates a blob's prefix directory (`sha256/ab`) if it is new, and makes its name durable in `sha256/`. */
  const prefixDirectory = async (directory: string): Promise<void> => {
    if (await mkdir(directory, { recursive: true })) await fsyncPath(dirname(directory));
  };

  const regularFile = async (sha256: string): Promise<{ path: string; size: number; modifiedAt: Date } | undefined> => {
    const path = finalPath(sha256);
    const info = await lstat(path).catch((error: unknown) => (isMissing(error) ? undefined : Promise.reject(error)));
    if (!info) return undefined;
    if (!info.isFile()) throw new DomainError('INTEGRITY', `Blob ${sha256} is not a regular file in the store`, { sha256 });
    await assertInside(path);
    return { path, size: info.size, modifiedAt: info.mtime };
  };

  /**
   * The pull of many small blobs (issue #24): a stream pipeline per 10 KB blob, a hard link, a
   * temp-file removal and an fsync per blob each cost more than the bytes. Here a blob already
   * in memory is hashed at once and written to a temp file in one call, and nothing is synced
   * until `commit`, which makes them all durable at once (one syncfs where there is one, else
   * an fsync each), only then renames each to its name — replacing a file there is harmless,
   * the name is the hash of the verified bytes (and repairs a corrupt copy) — and makes the
   * names durable (syncfs again, else an fsync of each directory that gained names). The caller
   * records the blobs after that. A crash before it leaves only temp files, which the startup
   * sweep removes; a name never points at bytes that were not on disk first.
   */
  const writeBatch = (): BlobStoreWriteBatch => {
    const checkedDirectories = new Map<string, Promise<void>>();
    const staged: Array<{ temp: string; target: string }> = [];
    let failed: { error: unknown } | undefined;
    /** The blob's prefix directory and its temp directory, made and checked once per batch. */
    const directoriesReady = (prefix: string): Promise<void> => {
      let ready = checkedDirectories.get(prefix);
      if (!ready) {
        const directory = join(root, 'sha256', prefix);
        const tempDirectory = join(root, 'tmp', BATCH_TEMP, prefix);
        ready = Promise.all([
          prefixDirectory(directory).then(() => assertInside(directory)),
          mkdir(tempDirectory, { recursive: true }).then(() => assertInside(tempDirectory)),
        ]).then(() => undefined);
        checkedDirectories.set(prefix, ready);
      }
      return ready;
    };
    /** One syncfs of the store's file system, else an fsync of each path. */
    const durable = async (paths: readonly string[], sync: (path: string) => Promise<void>): Promise<void> => {
      if (await syncAll(root)) return;
      const limit = pLimit(4);
      await Promise.all(paths.map((path) => limit(() => sync(path))));
    };
    return {
      async put(bytes, expectedSha256) {
        if (failed) throw failed.error;
        assertSha256(expectedSha256);
        const actual = sha256Hex(bytes);
        if (actual !== expectedSha256) throw hashMismatch(expectedSha256, actual);
        const prefix = expectedSha256.slice(0, 2);
        const temp = join(root, 'tmp', BATCH_TEMP, prefix, `${randomUUID()}.part`);
        const target = finalPath(expectedSha256);
        try {
          await directoriesReady(prefix);
          await createWithBytes(temp, bytes);
          staged.push({ temp, target });
        } catch (error) {
          await rm(temp, { force: true });
          throw storageError(error);
        }
      },
      async commit() {
        if (failed) throw failed.error;
        const moves = staged.splice(0);
        if (moves.length === 0) return;
        try {
          await durable(
            moves.map((move) => move.temp),
            fsyncFile,
          );
          await renameAll(moves);
          await durable([...new Set(moves.map((move) => dirname(move.target)))], fsyncPath);
        } catch (error) {
          // Nothing of this batch is recorded, and it takes no more blobs: a later commit could
          // not tell which of these names are durable. Temp files not renamed go now.
          failed = { error: storageError(error) };
          await Promise.all(moves.map((move) => rm(move.temp, { force: true })));
          throw failed.error;
        }
      },
    };
  };

  return {
    kind: 'filesystem',
    writeBatch,

    async put(source: BlobSource, options = {}): Promise<PutResult> {
      if (options.expectedSha256) assertSha256(options.expectedSha256);
      const temp = join(root, 'tmp', `${randomUUID()}.part`);
      const hasher = new HashingStream(options.expectedSha256);
      try {
        const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
        await pipeline(source, hasher, handle.createWriteStream({ flush: true }));
        const sha256 = hasher.sha256;
        const target = finalPath(sha256);
        await prefixDirectory(dirname(target));
        await assertInside(dirname(target));
        const created = await link(temp, target).then(
          () => true,
          (error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? false : Promise.reject(error)),
        );
        // Also when the name was there: it may be another writer's, linked or renamed but not yet made durable.
        await fsyncPath(dirname(target));
        return { sha256, size: hasher.byteCount, created };
      } catch (error) {
        throw storageError(error);
      } finally {
        await rm(temp, { force: true });
      }
    },

    async stat(sha256: string): Promise<BlobInfo | undefined> {
      const file = await regularFile(assertSha256(sha256));
      return file && { sha256, size: file.size, modifiedAt: file.modifiedAt };
    },

    async read(sha256: string, range?: ByteRange): Promise<Readable> {
      const file = await regularFile(assertSha256(sha256));
      if (!file) throw new DomainError('NOT_FOUND', `Blob ${sha256} not found`, { sha256 });
      // O_NOFOLLOW: if the name was swapped for a symlink since the check, the open fails.
      const handle = await open(file.path, constants.O_RDONLY | constants.O_NOFOLLOW);
      const verifier = new VerifyingStream(sha256, range);
      // pipeline, not pipe: a reader that stops early (a client gone) closes the file too,
      // and a read error fails the verifier. Errors reach the caller through `verifier`.
      pipelineCallback(handle.createReadStream({ highWaterMark: readBufferBytes(file.size) }), verifier, () => undefined);
      return verifier;
    },

    async readRangeUnverified(sha256: string, range: ByteRange): Promise<Readable> {
      const file = await regularFile(assertSha256(sha256));
      if (!file) throw new DomainError('NOT_FOUND', `Blob ${sha256} not found`, { sha256 });
      const handle = await open(file.path, constants.O_RDONLY | constants.O_NOFOLLOW);
      return handle.createReadStream({ start: range.start, end: range.end, highWaterMark: readBufferBytes(range.end - range.start + 1) });
    },

    async delete(sha256: string): Promise<void> {
      await unlink(finalPath(assertSha256(sha256))).catch((error: unknown) => (isMissing(error) ? undefined : Promise.reject(error)));
    },

    async *list(): AsyncIterable<BlobInfo> {
      const base = join(root, 'sha256');
      for (const prefix of await readdir(base)) {
        if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
        for (const name of await readdir(join(base, prefix))) {
          if (!/^[0-9a-f]{64}$/.test(name) || !name.startsWith(prefix)) continue;
          const info = await lstat(join(base, prefix, name)).catch(() => undefined);
          if (info?.isFile()) yield { sha256: name, size: info.size, modifiedAt: info.mtime };
        }
      }
    },

    sweepIncomplete: (olderThanMs: number): Promise<number> => sweepTempFiles(join(root, 'tmp'), olderThanMs),
  };
};
