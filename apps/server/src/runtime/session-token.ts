import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The local server's session token lives in `<dataDir>/session-token` (mode 0600) and survives
 * restarts, so a signed-in browser stays signed in — the file is the secret, as a connection
 * token file is for an editor's server. `trainyard session rotate` replaces it.
 */
export const sessionTokenPath = (dataDir: string): string => join(dataDir, 'session-token');

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const newToken = (): string => randomBytes(32).toString('base64url');

/** Written privately beside the target and moved into place: never readable by others, never half-written. */
const writePrivately = async (path: string, token: string): Promise<string> => {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${token}\n`, { mode: 0o600 });
  return temp;
};

/** The token kept in the data dir; made on first use (two servers starting at once agree on one). */
export const loadOrCreateSessionToken = async (dataDir: string): Promise<string> => {
  await mkdir(dataDir, { recursive: true });
  const path = sessionTokenPath(dataDir);
  const existing = await readFile(path, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  if (existing !== undefined && TOKEN.test(existing)) {
    // Someone loosened its mode: tighten it again rather than serve a token others can read.
    if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
    return existing;
  }
  const temp = await writePrivately(path, newToken());
  try {
    if (existing === undefined) {
      // link fails if another process created it meanwhile: then theirs is the token.
      await link(temp, path).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    } else {
      await rename(temp, path); // an unreadable or damaged token is replaced
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return (await readFile(path, 'utf8')).trim();
};

/** Replaces the token; the old one stops working when the server next starts. */
export const rotateSessionToken = async (dataDir: string): Promise<string> => {
  const token = newToken();
  const path = sessionTokenPath(dataDir);
  await rename(await writePrivately(path, token), path);
  return token;
};
