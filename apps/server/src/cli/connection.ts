import { resolve } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { type ClientEnv, loadClientEnv } from '../config';
import { readSessionFile } from '../runtime/session-file';
import { CliError } from './cli-error';
import { EXIT } from './exit-codes';

export interface GlobalOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
  debug?: boolean;
}

export interface Connection {
  url: string;
  token: string;
  client: TrainyardClient;
  /** Plain HTTP to the same server (blob and import routes) with the token attached. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

export const dataDirOf = (options: GlobalOptions, env: ClientEnv = loadClientEnv()): string => resolve(options.dataDir ?? env.dataDir ?? './.trainyard');

/**
 * Where to connect: `--url`/`TRAINYARD_URL` with `--token`/`TRAINYARD_TOKEN`, or else the
 * local server found through `<data dir>/session.json` (written by `trainyard serve`, 0600).
 */
export const connect = async (options: GlobalOptions, env: ClientEnv = loadClientEnv()): Promise<Connection> => {
  const explicitUrl = options.url ?? env.url;
  const explicitToken = options.token ?? env.token;
  let url: string;
  let token: string;
  if (explicitUrl) {
    if (!/^https?:\/\//.test(explicitUrl)) throw new CliError(`--url must start with http:// or https://, got ${explicitUrl}`, EXIT.USAGE);
    if (!explicitToken) throw new CliError(`No token for ${explicitUrl}: pass --token or set TRAINYARD_TOKEN.`, EXIT.AUTH);
    url = explicitUrl.replace(/\/+$/, '');
    token = explicitToken;
  } else {
    const dataDir = dataDirOf(options, env);
    const session = await readSessionFile(dataDir);
    if (!session) {
      throw new CliError(
        `No Trainyard server is running for ${dataDir}. Start one with \`npm start\` (or \`npx trainyard serve\`), or pass --url and --token.`,
        EXIT.UNREACHABLE,
      );
    }
    url = session.url;
    token = explicitToken ?? session.token;
  }
  const authorization = `Bearer ${token}`;
  return {
    url,
    token,
    client: createTrainyardClient({ url, token }),
    fetch: (path, init = {}) => fetch(`${url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization } }),
  };
};
