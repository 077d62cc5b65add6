import { openDatabase } from '@trainyard/db';
import { loadConfig } from '../config';
import { acquireDataDirLock } from '../runtime/data-dir-lock';
import { exitWithError } from './exit-with-error';

export const runMigrateCommand = async (): Promise<void> => {
  try {
    const config = loadConfig();
    const lock = config.database.kind === 'pglite' ? await acquireDataDirLock(config.dataDir) : undefined;
    const database = await openDatabase(config.database);
    try {
      const result = await database.migrate();
      process.stdout.write(
        result.applied.length > 0
          ? `Applied ${result.applied.length} migration(s): ${result.applied.join(', ')}\n`
          : `Database is up to date (${result.alreadyApplied} migrations applied)\n`,
      );
    } finally {
      await database.close();
      await lock?.release();
    }
  } catch (error) {
    exitWithError(error);
  }
};
