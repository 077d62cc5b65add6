import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@trainyard/core';
import { loadConfig } from '../config';
import { type RunningServer, startServer } from '../start-server';

export interface SharedServer {
  server: RunningServer;
  url: string;
  port: number;
  /** The server's data directory (job directories live in `<dataDir>/jobs`). */
  dataDir: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const quiet = { info: () => undefined, error: () => undefined };

/**
 * A shared server as teams run it: PostgreSQL + an S3 bucket (or its own disk when no
 * endpoint is given), API tokens only. `restart` stops it and starts it again on the same port.
 */
export const startSharedServer = async (options: {
  databaseUrl: string;
  s3?: { endpoint: string; bucket: string };
  port?: number;
  env?: Record<string, string>;
  /** Where the server logs (default: nowhere). */
  logger?: Logger;
}): Promise<SharedServer> => {
  // The AWS SDK reads credentials from the environment; s3rver accepts these.
  process.env['AWS_ACCESS_KEY_ID'] ??= 'S3RVER';
  process.env['AWS_SECRET_ACCESS_KEY'] ??= 'S3RVER';
  const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-shared-'));
  const env = (port: number): Record<string, string> => ({
    TRAINYARD_DATA_DIR: dataDir,
    DATABASE_URL: options.databaseUrl,
    PORT: String(port),
    ...options.env,
    ...(options.s3 ? { ARTIFACT_STORE: `s3://${options.s3.bucket}/shared`, S3_ENDPOINT: options.s3.endpoint, S3_FORCE_PATH_STYLE: 'true' } : {}),
  });
  const shared = { dataDir } as SharedServer;
  const start = async (port: number): Promise<void> => {
    shared.server = await startServer(loadConfig(env(port)), options.logger ?? quiet);
    shared.url = shared.server.url;
    shared.port = shared.server.port;
  };
  await start(options.port ?? 0);
  shared.restart = async () => {
    await shared.server.close();
    await start(shared.port);
  };
  shared.stop = async () => {
    await shared.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return shared;
};
