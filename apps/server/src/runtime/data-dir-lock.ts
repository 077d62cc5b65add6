import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;
const unlinkQuietly = (path: string): Promise<void> => unlink(path).catch(() => undefined);

export interface DataDirLock {
  release(): Promise<void>;
}

/** The lock file as it is now: its owner's pid and the file's identity (inode). */
const readLock = async (path: string): Promise<{ pid: number; inode: number } | undefined> => {
  try {
    const [content, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { pid: Number.parseInt(content, 10), inode: info.ino };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
};

const isStale = (pid: number): boolean => !Number.isInteger(pid) || pid <= 0 || pid === process.pid || !isAlive(pid);
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Removes `path` if its owner is dead — but only while holding `<path>.takeover`, made like the
 * lock itself (a finished file hard-linked into place). Without it, two processes that both saw
 * the same stale lock could each remove it, the second one removing the first one's fresh lock.
 * Under the marker nobody else can remove the lock and nobody can replace it (linking fails while
 * it exists), so the owner checked is the owner removed. A marker left by a process that died
 * holding it is removed the same way, one level up.
 */
const removeIfStale = async (path: string, ownPidFile: string, depth = 0): Promise<void> => {
  const marker = `${path}.takeover`;
  try {
    await link(ownPidFile, marker);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    const holder = await readLock(marker);
    if (holder && isStale(holder.pid) && depth < 3) await removeIfStale(marker, ownPidFile, depth + 1);
    else await pause(20); // someone else is taking over right now
    return;
  }
  try {
    const current = await readLock(path);
    if (current && isStale(current.pid)) await unlinkQuietly(path);
  } finally {
    await unlinkQuietly(marker);
  }
};

export const acquireDataDirLock = async (dataDir: string): Promise<DataDirLock> => {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, 'server.lock');
  const mine = `${path}.${process.pid}-${randomBytes(6).toString('hex')}`;
  await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        await link(mine, path);
        const inode = (await stat(mine)).ino;
        return {
          release: async () => {
            // Only ever remove our own lock.
            const current = await readLock(path);
            if (current?.inode === inode && current.pid === process.pid) await unlinkQuietly(path);
          },
        };
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      const current = await readLock(path);
      if (!current) continue;
      if (!isStale(current.pid)) {
        throw new DataDirInUseError(
          `The data directory ${dataDir} is in use by another Trainyard server (pid ${current.pid}). Stop it first, or use another TRAINYARD_DATA_DIR.`,
        );
      }
      await removeIfStale(path, mine);
    }
    throw new DataDirInUseError(`Could not lock the data directory ${dataDir}; another server keeps taking it.`);
  } finally {
    await unlinkQuietly(mine);
  }
};
