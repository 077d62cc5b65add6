/** The two signals a trainer is ever sent: a request to stop, then the end. */
export type StopSignal = 'SIGTERM' | 'SIGKILL';

/**
 * Everything the local executor and crash recovery do with operating-system processes, named
 * for what they need. One implementation per platform (process-control.ts picks it):
 * linux-process-control.ts (tested here), darwin-process-control.ts and
 * windows-process-control.ts (written against their documented APIs, not run here). Every
 * method is quiet about a process that is already gone: it raced to the end on its own.
 */
export interface ProcessControl {
  readonly platform: NodeJS.Platform;
  /** spawn() options that start the child as the root of a tree `signalTree` reaches (POSIX: a new process group). */
  readonly spawnOptions: Readonly<{ detached: boolean; windowsHide?: boolean }>;
  /**
   * Called right after a spawn with the variables that name the child in its environment
   * (TRAINYARD_JOB_DIR, TRAINYARD_RUN_ID). Where the environment of another process can be read
   * this does nothing; elsewhere it is how `findByEnvironment` finds the child and its descendants.
   */
  track(pid: number, markers: Readonly<Record<string, string>>): void;
  /** Sends `signal` to the tree `pid` is the root of: its process group (POSIX), its descendants (Windows). */
  signalTree(pid: number, signal: StopSignal): void;
  /** Sends `signal` to one process. */
  signal(pid: number, signal: StopSignal): void;
  /**
   * This user's processes, other than this one, whose environment holds `name=value` exactly —
   * including descendants that left the tree (a setsid grandchild) and trainers a crashed
   * server left behind.
   */
  findByEnvironment(name: string, value: string): number[];
  /** Runs and is not a zombie; a process of another user counts as alive. */
  isAlive(pid: number): boolean;
}

/** process.kill that ignores ESRCH (and EPERM: never ours to signal). */
export const signalQuietly = (pid: number, signal: StopSignal | 0): boolean => {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
};

/** process.kill(pid, 0): false when no such process exists; EPERM means it exists under another user. */
export const processExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};
