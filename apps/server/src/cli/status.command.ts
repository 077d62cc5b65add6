import { createTrainyardClient } from '@trainyard/client';
import type { Command } from 'commander';
import { dataDirOf, type GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { readSessionFile } from '../runtime/session-file';

export const runStatusCommand = async (_options: unknown, command: Command): Promise<void> => {
  const options = command.optsWithGlobals<GlobalOptions>();
  const dataDir = dataDirOf(options);
  const session = await readSessionFile(dataDir);
  if (!session) {
    if (options.json) process.stdout.write(`${JSON.stringify({ running: false })}\n`);
    else process.stdout.write(`No server is running for ${dataDir}. Start one with: npm start\n`);
    process.exit(EXIT.UNREACHABLE);
  }
  try {
    const health = await createTrainyardClient({ url: session.url, token: session.token }).system.health.query();
    if (options.json) process.stdout.write(`${JSON.stringify({ running: true, url: session.url, ...health })}\n`);
    else process.stdout.write(`Trainyard ${health.version} is running at ${session.url} (database: ${health.database})\n`);
  } catch (error) {
    process.stderr.write(`A session file exists but the server at ${session.url} did not answer: ${(error as Error).message}\n`);
    process.exit(EXIT.UNREACHABLE);
  }
};
