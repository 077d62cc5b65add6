import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import type { RemoteSecrets } from './remote-server.port';

/** Tokens of remotes in one JSON file, written privately (0600) and atomically. */
export const createFileRemoteSecrets = (path: string): RemoteSecrets => {
  const read = async (): Promise<Record<string, string>> =>
    readFile(path, 'utf8').then(
      (text) => JSON.parse(text) as Record<string, string>,
      () => ({}),
    );
  let writing: Promise<unknown> = Promise.resolve();
  const update = (change: (tokens: Record<string, string>) => void): Promise<void> => {
    const next = writing.then(async () => {
      const tokens = await read();
      change(tokens);
      const temp = `${path}.${process.pid}.tmp`;
      await writeFile(temp, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
      await chmod(temp, 0o600);
      await rename(temp, path);
    });
    writing = next.catch(() => undefined);
    return next;
  };
  return {
    get: async (remoteId) => (await read())[remoteId],
    set: (remoteId, token) =>
      update((tokens) => {
        tokens[remoteId] = token;
      }),
    delete: (remoteId) =>
      update((tokens) => {
        delete tokens[remoteId];
      }),
  };
};
