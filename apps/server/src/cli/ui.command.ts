import type { Command } from 'commander';
import { dataDirOf, type GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { readSessionFile } from '../runtime/session-file';

/** Where the running server's web UI is and the token to sign in with (read from session.json, owner-only). */
export const runUiCommand = async (_options: unknown, command: Command): Promise<void> => {
  const dataDir = dataDirOf(command.optsWithGlobals<GlobalOptions>());
  const session = await readSessionFile(dataDir);
  if (!session) {
    process.stderr.write(`No server is running for ${dataDir}. Start one with: npm start\n`);
    process.exit(EXIT.UNREACHABLE);
  }
  process.stdout.write(`Open ${session.url}/ and sign in with this session token:\n${session.token}\n`);
};
