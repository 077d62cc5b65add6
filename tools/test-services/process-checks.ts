import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every file under a directory with its bytes' hash and mtime: proof that nothing in it changed. */
export const fingerprintDir = (dir: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const path = join(entry.parentPath, entry.name);
        return [path.slice(dir.length), `${createHash('sha256').update(readFileSync(path)).digest('hex')}:${statSync(path).mtimeMs}`];
      }),
  );
