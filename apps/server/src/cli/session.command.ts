import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { dataDirOf, type GlobalOptions } from './connection';
import { readSessionFile } from '../runtime/session-file';
import { rotateSessionToken, sessionTokenPath } from '../runtime/session-token';

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `trainyard session rotate`: a new session token for the local server in the data dir. */
export const registerSessionCommands = (program: Command): void => {
  const session = program.command('session').description("the local server's session token (kept in <data dir>/session-token, mode 0600)");
  session
    .command('rotate')
    .description('replace the session token; signed-in browsers and clients need the new one')
    .action(async (_options: unknown, command: Command) => {
      const dataDir = dataDirOf(command.optsWithGlobals<GlobalOptions>());
      await mkdir(dataDir, { recursive: true });
      await rotateSessionToken(dataDir);
      const running = await readSessionFile(dataDir);
      process.stdout.write(`New session token written to ${sessionTokenPath(dataDir)}.\n`);
      if (running && isAlive(running.pid)) {
        process.stdout.write(`The server running now (pid ${running.pid}) keeps accepting the old token until it restarts; then only the new one works.\n`);
      } else {
        process.stdout.write('The server uses it from its next start; `trainyard ui` prints it then.\n');
      }
    });
};
