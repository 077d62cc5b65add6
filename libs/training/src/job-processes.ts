import { readdirSync, readFileSync } from 'node:fs';

/**
 * Processes whose environment holds `name=value` exactly. Every trainer starts with
 * TRAINYARD_JOB_DIR (its job) and TRAINYARD_RUN_ID (this run of it), and its descendants
 * inherit them, so this finds what a process-group kill misses — a grandchild that called
 * setsid — and trainers a crashed server left behind. Linux (/proc); elsewhere it finds
 * nothing. Only this user's processes are readable, and this server itself is never included.
 */
export const processesWithEnv = (name: string, value: string): number[] => {
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
};

/** Sends `signal` to every process whose environment holds `name=value`; returns the pids signalled. */
export const killProcessesWithEnv = (name: string, value: string, signal: NodeJS.Signals = 'SIGKILL'): number[] => {
  const pids = processesWithEnv(name, value);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
};

/** Alive and not a zombie; EPERM means it exists under another user. */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
};
