import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirInUseError } from './data-dir-lock';

const contender = fileURLToPath(new URL('../test-support/lock-contender.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'trainyard-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The pid of a process that has exited: a lock holding it is stale. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
};

const runContenders = async (dataDir: string, count: number): Promise<string[]> => {
  const report = join(dataDir, '..', `${Date.now()}-report.txt`);
  writeFileSync(report, '');
  // Start instant far enough ahead for every process to have loaded tsx.
  const startAt = String(Date.now() + 2_500);
  const children = Array.from({ length: count }, () => spawn(process.execPath, ['--import', 'tsx', contender, dataDir, startAt, report], { stdio: 'inherit' }));
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  return readFileSync(report, 'utf8').trim().split('\n');
};

describe('data directory lock', () => {
  it('is taken over from a dead owner by exactly one of several processes racing for it', async () => {
    for (let round = 0; round < 4; round += 1) {
      const dataDir = join(root, `race-${round}`);
      await acquireDataDirLock(dataDir); // creates the directory; the lock is replaced next
      writeFileSync(join(dataDir, 'server.lock'), `${deadPid()}\n`);
      const outcomes = await runContenders(dataDir, 5);
      expect(outcomes, `round ${round}`).toHaveLength(5);
      expect(
        outcomes.filter((line) => line.startsWith('acquired')),
        `round ${round}: ${outcomes.join(', ')}`,
      ).toHaveLength(1);
      expect(outcomes.filter((line) => line.startsWith('DataDirInUseError'))).toHaveLength(4);
      // The winner released its lock and nobody left a temporary file behind.
      expect(readdirSync(dataDir)).toEqual([]);
    }
  }, 120_000);

  it('refuses a live owner and leaves its lock in place; release removes only its own lock', async () => {
    const dataDir = join(root, 'live');
    const lock = await acquireDataDirLock(dataDir);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(join(dataDir, 'server.lock'), `${holder.pid}\n`); // as if another server held it now
      await expect(acquireDataDirLock(dataDir)).rejects.toBeInstanceOf(DataDirInUseError);
      await lock.release(); // not ours any more: must stay
      expect(readFileSync(join(dataDir, 'server.lock'), 'utf8')).toBe(`${holder.pid}\n`);
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((resolve) => holder.once('exit', resolve));
    const again = await acquireDataDirLock(dataDir); // its owner is dead now
    await again.release();
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
  });
});
