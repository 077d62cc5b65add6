import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessControl } from '../process-control.port';

const MARKER = 'TRAINYARD_CONTRACT_RUN';

const until = async (check: () => boolean, ms = 5_000): Promise<boolean> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
};

/**
 * What every ProcessControl must do, with real processes: a tree started with its spawn options
 * (a root, a child in its tree, a grandchild that left it) is found by a variable in its
 * environment, its tree is killed by the root's pid, what left it is killed one by one, and then
 * nothing of it is alive. `runsHere` is false where the implementation's platform is not this
 * one: the contract is skipped, and `name` says so.
 */
export const describeProcessControlContract = (name: string, make: () => ProcessControl, runsHere: boolean): void => {
  describe.skipIf(!runsHere)(`process control contract: ${name}`, () => {
    const value = randomUUID();
    let processes: ProcessControl;
    let root: ChildProcess;
    let pids: { root: number; child: number; escaped: number };

    beforeAll(async () => {
      processes = make();
      root = spawn(process.execPath, [join(import.meta.dirname, 'process-tree.mjs')], {
        ...processes.spawnOptions,
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, [MARKER]: value },
      });
      processes.track(root.pid ?? 0, { [MARKER]: value });
      if (!root.stdout) throw new Error('the tree was started without a stdout pipe');
      const [line] = (await once(createInterface({ input: root.stdout }), 'line')) as [string];
      pids = JSON.parse(line) as typeof pids;
    });
    afterAll(() => {
      for (const pid of Object.values(pids ?? {})) processes.signal(pid, 'SIGKILL');
    });

    it('finds every process of the tree, the one that left it too, by the variable in its environment', () => {
      expect(processes.findByEnvironment(MARKER, value).sort()).toEqual([pids.root, pids.child, pids.escaped].sort());
      expect(processes.findByEnvironment(MARKER, randomUUID())).toEqual([]);
      expect(processes.findByEnvironment(MARKER, value.slice(0, -1))).toEqual([]); // exactly the value, not a prefix
    });

    it('tells running processes (this one too) from ones that exited', async () => {
      for (const pid of [pids.root, pids.child, pids.escaped, process.pid]) expect(processes.isAlive(pid)).toBe(true);
      const exited = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      await once(exited, 'exit');
      expect(processes.isAlive(exited.pid ?? 0)).toBe(false);
    });

    it("ends the root's tree by the root's pid", async () => {
      processes.signalTree(pids.root, 'SIGKILL');
      expect(await until(() => !processes.isAlive(pids.root) && !processes.isAlive(pids.child))).toBe(true);
    });

    it('ends what left the tree one by one, found again by its environment', async () => {
      for (const pid of processes.findByEnvironment(MARKER, value)) processes.signal(pid, 'SIGKILL');
      expect(await until(() => !processes.isAlive(pids.escaped))).toBe(true);
      expect(await until(() => processes.findByEnvironment(MARKER, value).every((pid) => !processes.isAlive(pid)))).toBe(true);
    });

    it('ends one process with SIGTERM', async () => {
      const plain = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      expect(processes.isAlive(plain.pid ?? 0)).toBe(true);
      processes.signal(plain.pid ?? 0, 'SIGTERM');
      await once(plain, 'exit');
      expect(processes.isAlive(plain.pid ?? 0)).toBe(false);
    });
  });
};
