import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { isDomainError, sha256Hex } from '@trainyard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { collectGarbage } from './blob-garbage-collector';
import { createFsBlobStore, syncFileSystem, syncfsReportsErrors } from './fs-blob-store';

const scratch = mkdtempSync(join(tmpdir(), 'trainyard-fs-faults-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const newRoot = (): string => mkdtempSync(join(scratch, 'store-'));
const blobPath = (root: string, hash: string): string => join(root, 'sha256', hash.slice(0, 2), hash);
/** Every name under the store's prefix directories (which are all there from the start). */
const blobNames = (root: string): string[] => readdirSync(join(root, 'sha256')).flatMap((prefix) => readdirSync(join(root, 'sha256', prefix)));
/** Every file under the store's `tmp/` (a batch's are in subdirectories), relative to it. */
const tempFiles = (root: string): string[] =>
  readdirSync(join(root, 'tmp'), { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(join(root, 'tmp'), join(entry.parentPath, entry.name)));
const errorCode = (error: unknown): string | undefined => (isDomainError(error) ? error.code : undefined);

describe('filesystem blob store under faults', () => {
  it('fails a read loudly when a stored bit was flipped, whole or ranged', async () => {
    const root = newRoot();
    const store = await createFsBlobStore(root);
    const data = randomBytes(3 * 1024 * 1024);
    const { sha256 } = await store.put(Readable.from([data]));
    const onDisk = readFileSync(blobPath(root, sha256));
    onDisk[onDisk.length - 1] = (onDisk[onDisk.length - 1] ?? 0) ^ 0x01;
    writeFileSync(blobPath(root, sha256), onDisk);
    expect(errorCode(await buffer(await store.read(sha256)).catch((e: unknown) => e))).toBe('INTEGRITY');
    // The flipped bit lies outside the requested range: still refused.
    expect(errorCode(await buffer(await store.read(sha256, { start: 0, end: 99 })).catch((e: unknown) => e))).toBe('INTEGRITY');
  });

  it('never follows a symlink planted inside the store', async () => {
    const root = newRoot();
    const store = await createFsBlobStore(root);
    const secret = join(scratch, 'secret.txt');
    writeFileSync(secret, 'outside the store');
    const hash = sha256Hex(Buffer.from('outside the store'));
    mkdirSync(join(root, 'sha256', hash.slice(0, 2)), { recursive: true });
    symlinkSync(secret, blobPath(root, hash));
    expect(errorCode(await store.stat(hash).catch((e: unknown) => e))).toBe('INTEGRITY');
    expect(errorCode(await store.read(hash).catch((e: unknown) => e))).toBe('INTEGRITY');

    // A whole prefix directory replaced by a link to somewhere else: writes refuse to land there.
    const elsewhere = mkdtempSync(join(scratch, 'elsewhere-'));
    const data = Buffer.from('redirected?');
    rmSync(join(root, 'sha256', sha256Hex(data).slice(0, 2)), { recursive: true, force: true });
    symlinkSync(elsewhere, join(root, 'sha256', sha256Hex(data).slice(0, 2)));
    expect(errorCode(await store.put(Readable.from([data])).catch((e: unknown) => e))).toBe('INTEGRITY');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('lets concurrent identical uploads succeed, with exactly one reported as created', async () => {
    const store = await createFsBlobStore(newRoot());
    const data = randomBytes(1024 * 1024);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.put(Readable.from([data]), { expectedSha256: sha256Hex(data) })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.sha256))).toEqual(new Set([sha256Hex(data)]));
  });

  it('leaves no temp file behind after a rejected or interrupted write', async () => {
    const root = newRoot();
    const store = await createFsBlobStore(root);
    await store.put(Readable.from([Buffer.from('abc')]), { expectedSha256: sha256Hex(Buffer.from('xyz')) }).catch(() => undefined);
    const failing = Readable.from(
      (async function* () {
        yield randomBytes(1024);
        throw new Error('client disconnected');
      })(),
    );
    await store.put(failing).catch(() => undefined);
    expect(tempFiles(root)).toEqual([]);
    expect(blobNames(root)).toEqual([]);
  });

  it('after SIGKILL mid-write, no partial blob exists under its final name and start-up sweeps the temp file', async () => {
    const root = newRoot();
    const writer = fileURLToPath(new URL('./test-fixtures/slow-blob-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', writer, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve())); // it has started writing
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(tempFiles(root).length).toBe(1);
    expect(blobNames(root)).toEqual([]);
    const reopened = await createFsBlobStore(root);
    expect(await reopened.sweepIncomplete(0)).toBe(1);
    expect(tempFiles(root)).toEqual([]);
  });

  it('reports a full disk clearly and keeps the blobs stored before it', async (context) => {
    if (process.getuid?.() !== 0) return context.skip('mounting a small tmpfs needs root');
    const mountPoint = mkdtempSync(join(scratch, 'tiny-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
    } catch {
      return context.skip('tmpfs mount not permitted here');
    }
    try {
      const store = await createFsBlobStore(mountPoint);
      const early = randomBytes(512 * 1024);
      await store.put(Readable.from([early]));
      const failure = await store.put(Readable.from([randomBytes(4 * 1024 * 1024)])).catch((e: unknown) => e);
      expect(errorCode(failure)).toBe('UNAVAILABLE');
      expect((failure as Error).message).toMatch(/out of disk space/);
      expect(tempFiles(mountPoint)).toEqual([]);
      // The same through the batch writer (a pull's small blobs): a clear error, no partial temp file.
      const batch = store.writeBatch?.();
      if (!batch) throw new Error('the filesystem store writes batches');
      const large = randomBytes(4 * 1024 * 1024);
      const batchFailure = await batch.put(large, sha256Hex(large)).catch((e: unknown) => e);
      expect(errorCode(batchFailure)).toBe('UNAVAILABLE');
      await batch.commit();
      expect(tempFiles(mountPoint)).toEqual([]);
      expect(await store.stat(sha256Hex(large))).toBeUndefined();
      expect((await buffer(await store.read(sha256Hex(early)))).equals(early)).toBe(true);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('writes a batch of in-memory blobs verified: a mismatch keeps nothing, a corrupt copy is replaced, a symlinked directory is refused', async () => {
    const root = newRoot();
    const store = await createFsBlobStore(root);
    const batch = store.writeBatch?.();
    if (!batch) throw new Error('the filesystem store writes batches');
    const good = Array.from({ length: 20 }, () => randomBytes(10 * 1024));
    await Promise.all(good.map((bytes) => batch.put(bytes, sha256Hex(bytes))));
    const wrong = randomBytes(1024);
    const claimed = sha256Hex(randomBytes(1024));
    expect(errorCode(await batch.put(wrong, claimed).catch((e: unknown) => e))).toBe('INTEGRITY');
    await batch.commit();
    for (const bytes of good) expect((await buffer(await store.read(sha256Hex(bytes)))).equals(bytes)).toBe(true);
    expect(existsSync(blobPath(root, claimed))).toBe(false);
    expect(tempFiles(root)).toEqual([]);

    // A copy whose bytes rotted on disk: the batch's verified bytes take its place.
    const rotted = good[0] as Buffer;
    writeFileSync(blobPath(root, sha256Hex(rotted)), randomBytes(rotted.length));
    const repair = store.writeBatch?.();
    await repair?.put(rotted, sha256Hex(rotted));
    await repair?.commit();
    expect((await buffer(await store.read(sha256Hex(rotted)))).equals(rotted)).toBe(true);

    // A prefix directory replaced by a link to somewhere else: nothing lands there.
    const elsewhere = mkdtempSync(join(scratch, 'elsewhere-'));
    const redirected = Buffer.from('redirected in a batch?');
    rmSync(join(root, 'sha256', sha256Hex(redirected).slice(0, 2)), { recursive: true, force: true });
    symlinkSync(elsewhere, join(root, 'sha256', sha256Hex(redirected).slice(0, 2)));
    expect(
      errorCode(
        await store
          .writeBatch?.()
          .put(redirected, sha256Hex(redirected))
          .catch((e: unknown) => e),
      ),
    ).toBe('INTEGRITY');
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(tempFiles(root)).toEqual([]);
  });

  it('makes a batch durable at commit: its bytes before any name (one syncfs, else an fsync each), then the names', async () => {
    const calls: string[] = [];
    const root = newRoot();
    const store = await createFsBlobStore(root, { syncFileSystem: async (path) => (calls.push(path), true) });
    // Every prefix directory is there from the start: none is made (and synced) per blob.
    expect(readdirSync(join(root, 'sha256'))).toHaveLength(256);
    const batch = store.writeBatch?.();
    if (!batch) throw new Error('the filesystem store writes batches');
    const blobs = Array.from({ length: 5 }, () => randomBytes(4 * 1024));
    await Promise.all(blobs.map((bytes) => batch.put(bytes, sha256Hex(bytes))));
    // Until commit no name points at bytes that may not be on disk yet.
    for (const bytes of blobs) expect(existsSync(blobPath(root, sha256Hex(bytes)))).toBe(false);
    expect(tempFiles(root)).toHaveLength(5);
    expect(calls).toEqual([]);
    await batch.commit();
    expect(calls).toEqual([root, root]);
    for (const bytes of blobs) expect((await buffer(await store.read(sha256Hex(bytes)))).equals(bytes)).toBe(true);
    expect(tempFiles(root)).toEqual([]);
    await batch.commit();
    expect(calls).toEqual([root, root]);
  });

  it('spreads the temp files of a batch over directories by hash prefix; a batch cut off before its commit names nothing, and start-up sweeps them', async () => {
    const root = newRoot();
    const store = await createFsBlobStore(root, { syncFileSystem: async () => true });
    const batch = store.writeBatch?.();
    if (!batch) throw new Error('the filesystem store writes batches');
    const blobs = Array.from({ length: 6 }, () => randomBytes(1024));
    await Promise.all(blobs.map((bytes) => batch.put(bytes, sha256Hex(bytes))));
    const temps = tempFiles(root);
    expect(temps.map((path) => path.split(sep).slice(0, 2).join('/')).sort()).toEqual(blobs.map((bytes) => `batch/${sha256Hex(bytes).slice(0, 2)}`).sort());
    expect(blobNames(root)).toEqual([]);
    // The process dies here; the next start sweeps what it left.
    const reopened = await createFsBlobStore(root);
    expect(await reopened.sweepIncomplete(60_000)).toBe(0);
    expect(await reopened.sweepIncomplete(0)).toBe(6);
    expect(tempFiles(root)).toEqual([]);
    expect(blobNames(root)).toEqual([]);
  });

  it('without a file-system sync, opens and syncs each written file at commit; a failed commit names nothing and the batch takes no more', async () => {
    const root = newRoot();
    const store = await createFsBlobStore(root, { syncFileSystem: async () => false });
    const batch = store.writeBatch?.();
    if (!batch) throw new Error('the filesystem store writes batches');
    const blobs = Array.from({ length: 3 }, () => randomBytes(2048));
    await Promise.all(blobs.map((bytes) => batch.put(bytes, sha256Hex(bytes))));
    await batch.commit();
    for (const bytes of blobs) expect((await buffer(await store.read(sha256Hex(bytes)))).equals(bytes)).toBe(true);

    // A temp file swapped for a symlink: the commit's fsync of it (never through a link) fails.
    const more = Array.from({ length: 3 }, () => randomBytes(2048));
    await Promise.all(more.map((bytes) => batch.put(bytes, sha256Hex(bytes))));
    const [swapped] = tempFiles(root);
    rmSync(join(root, 'tmp', swapped as string));
    symlinkSync(blobPath(root, sha256Hex(blobs[0] as Buffer)), join(root, 'tmp', swapped as string));
    await expect(batch.commit()).rejects.toThrow(/ELOOP/);
    for (const bytes of more) expect(existsSync(blobPath(root, sha256Hex(bytes)))).toBe(false);
    expect(tempFiles(root)).toEqual([]);
    const late = randomBytes(100);
    await expect(batch.put(late, sha256Hex(late))).rejects.toThrow(/ELOOP/);
    await expect(batch.commit()).rejects.toThrow(/ELOOP/);
  });

  it('fails the commit when the file-system sync ran and failed: nothing named, temp files gone', async () => {
    const root = newRoot();
    const store = await createFsBlobStore(root, {
      syncFileSystem: async () => {
        throw new Error('Making the written blobs durable failed (sync -f): Input/output error');
      },
    });
    const batch = store.writeBatch?.();
    const bytes = randomBytes(2048);
    await batch?.put(bytes, sha256Hex(bytes));
    await expect(batch?.commit()).rejects.toThrow(/Input\/output error/);
    expect(existsSync(blobPath(root, sha256Hex(bytes)))).toBe(false);
    expect(tempFiles(root)).toEqual([]);
  });

  it('syncs a whole file system with `sync -f` on Linux 5.17 or later, and says so when that fails', async (context) => {
    if (!syncfsReportsErrors()) return context.skip('syncfs reports every write-back error from Linux 5.17');
    expect(await syncFileSystem(newRoot())).toBe(true);
    await expect(syncFileSystem(join(scratch, 'no-such-directory'))).rejects.toThrow(/durable failed.*no-such-directory/);
  });

  it('collects only unreferenced blobs older than the grace period, and a dry run deletes nothing', async () => {
    const root = newRoot();
    const store = await createFsBlobStore(root);
    const [kept, orphan] = [Buffer.from('referenced'), Buffer.from('orphan')];
    await store.put(Readable.from([kept]));
    await store.put(Readable.from([orphan]));
    const references = [{ referencedHashes: async () => new Set([sha256Hex(kept)]) }];
    const later = new Date(Date.now() + 2 * 3_600_000);

    const young = await collectGarbage(store, references, { dryRun: false, graceMs: 3_600_000 });
    expect(young).toMatchObject({ scanned: 2, unreferenced: [], keptYoung: 1 });

    const dry = await collectGarbage(store, references, { dryRun: true, graceMs: 3_600_000, now: later });
    expect(dry.unreferenced).toEqual([{ sha256: sha256Hex(orphan), size: orphan.length }]);
    expect(existsSync(blobPath(root, sha256Hex(orphan)))).toBe(true);

    await collectGarbage(store, references, { dryRun: false, graceMs: 3_600_000, now: later });
    expect(existsSync(blobPath(root, sha256Hex(orphan)))).toBe(false);
    expect(existsSync(blobPath(root, sha256Hex(kept)))).toBe(true);
    unlinkSync(blobPath(root, sha256Hex(kept)));
  });
});
