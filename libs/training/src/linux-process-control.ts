import { readdirSync, readFileSync } from 'node:fs';
import { type ProcessControl, processExists, signalQuietly } from './process-control.port';

/** The state letter of a /proc/<pid>/stat line (after the command name, which may hold spaces and parentheses). */
export const procStatState = (stat: string): string => stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);

/**
 * Linux: process groups (spawn `detached` calls setsid; kill(-pgid) reaches the group) and
 * /proc: /proc/<pid>/environ is the environment a process started with, NUL-separated, readable
 * for this user's processes only; /proc/<pid>/stat tells a zombie apart.
 */
export const linuxProcessControl: ProcessControl = {
  platform: 'linux',
  spawnOptions: { detached: true },
  track: () => undefined, // /proc/<pid>/environ names it already
  signalTree: (pid, signal) => void signalQuietly(-pid, signal),
  signal: (pid, signal) => void signalQuietly(pid, signal),
  findByEnvironment: (name, value) => {
    const first = Buffer.from(`${name}=${value}\u0000`);
    const inside = Buffer.from(`\u0000${name}=${value}\u0000`);
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return [];
    }
    const pids: number[] = [];
    for (const entry of entries) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
      try {
        const environ = readFileSync(`/proc/${pid}/environ`);
        if (environ.subarray(0, first.length).equals(first) || environ.includes(inside)) pids.push(pid);
      } catch {
        // Gone, or another user's process: not ours to kill.
      }
    }
    return pids;
  },
  isAlive: (pid) => {
    if (!processExists(pid)) return false;
    try {
      return procStatState(readFileSync(`/proc/${pid}/stat`, 'utf8')) !== 'Z';
    } catch {
      return true;
    }
  },
};
