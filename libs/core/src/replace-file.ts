import { randomUUID } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * Writes a small file so that a reader — or a server restarted after a SIGKILL — finds either
 * the old content or the new, never an empty or half-written file: the bytes go to a temp file
 * beside it, which is then renamed over it (atomic on one file system).
 */
export const replaceFile = async (path: string, data: string): Promise<void> => {
  const temp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
};
