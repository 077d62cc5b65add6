import { execFileSync } from 'node:child_process';
import { type ProcessControl, processExists, signalQuietly } from './process-control.port';

// Written against the documented APIs, not run here (no macOS machine): ps(1) of macOS, and
// process groups as on Linux. Its unit tests check the arguments and the parsing of sample
// output; process-control.contract.int.test.ts runs the real contract on a Mac.

/**
 * `ps` arguments that list this user's processes with their environments: -E appends each
 * process's environment to its command (as it was at exec, read by ps through sysctl
 * KERN_PROCARGS2 — only for this user's processes unless run as root), -ww never cuts a line,
 * -U limits the list to this real user id.
 */
export const darwinPsEnvironmentArgs = (uid: number): string[] => ['-E', '-ww', '-U', String(uid), '-o', 'pid=,command='];

/**
 * The pids of `ps -E -o pid=,command=` lines whose text holds ` name=value` followed by a space
 * or the end of the line. ps joins arguments and variables with spaces, so a value with
 * spaces still matches whole; a longer value that starts with this one and a space would match
 * too (our values are UUIDs and job directories, which never end that way).
 */
export const parseDarwinPsEnvironment = (output: string, name: string, value: string, ownPid: number): number[] => {
  const needle = ` ${name}=${value}`;
  const pids: number[] = [];
  for (const line of output.split('\n')) {
    const match = /^\s*(\d+)\s(.*)$/.exec(line);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid <= 1 || pid === ownPid) continue;
    const text = ` ${match[2] ?? ''}`;
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
      const after = text[at + needle.length];
      if (after === undefined || after === ' ') {
        pids.push(pid);
        break;
      }
    }
  }
  return pids;
};

/** `ps -o stat= -p <pid>` prints the state letters first; Z is a zombie. */
export const darwinStatIsZombie = (stat: string): boolean => stat.trim().startsWith('Z');

const ps = (args: string[]): string | undefined => {
  try {
    return execFileSync('ps', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined; // ps exits 1 when no process matched
  }
};

/**
 * macOS: process groups work as on Linux (spawn `detached` calls setsid, kill(-pgid) reaches
 * the group); there is no /proc, so the environment comes from `ps -E` — one ps run per lookup.
 */
export const darwinProcessControl: ProcessControl = {
  platform: 'darwin',
  spawnOptions: { detached: true },
  track: () => undefined, // ps -E shows the environment it started with
  signalTree: (pid, signal) => void signalQuietly(-pid, signal),
  signal: (pid, signal) => void signalQuietly(pid, signal),
  findByEnvironment: (name, value) => parseDarwinPsEnvironment(ps(darwinPsEnvironmentArgs(process.getuid?.() ?? 0)) ?? '', name, value, process.pid),
  isAlive: (pid) => {
    if (!processExists(pid)) return false;
    const stat = ps(['-o', 'stat=', '-p', String(pid)]);
    return stat === undefined ? processExists(pid) : !darwinStatIsZombie(stat);
  },
};
