import { join } from 'node:path';

/** The only place the desktop shell reads the environment: TRAINYARD_DATA_DIR overrides where its data lives. */
export const desktopDataDir = (userDataPath: string, env: NodeJS.ProcessEnv = process.env): string => env['TRAINYARD_DATA_DIR'] ?? join(userDataPath, 'data');
