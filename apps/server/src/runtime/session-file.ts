import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SessionInfo {
  url: string;
  token: string;
  pid: number;
}

export const sessionFilePath = (dataDir: string): string => join(dataDir, 'session.json');

/** Written to a private temp file and renamed, so the token is never readable by others, even briefly. */
export const writeSessionFile = async (dataDir: string, session: SessionInfo): Promise<void> => {
  const path = sessionFilePath(dataDir);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, path);
};

export const removeSessionFile = (dataDir: string): Promise<void> => rm(sessionFilePath(dataDir), { force: true });

/** The running local server's URL and token, or undefined when none has written its session file. */
export const readSessionFile = (dataDir: string): Promise<SessionInfo | undefined> =>
  readFile(sessionFilePath(dataDir), 'utf8').then(
    (text) => JSON.parse(text) as SessionInfo,
    () => undefined,
  );
