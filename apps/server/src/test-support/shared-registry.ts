import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config';
import { type RunningServer, startServer } from '../start-server';

export interface SharedRegistry {
  server: RunningServer;
  url: string;
  port: number;
  /** The registry's data directory (job directories live in `<dataDir>/jobs`). */
  dataDir: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const quiet = { info: () => undefined, error: () => undefined };

/**
 * A shared registry as teams run it: PostgreSQL + an S3 bucket (or its own disk when no
 * endpoint is given), API tokens only. `restart` stops it and starts it again on the same port.
 */
export const startSharedRegistry = async (options: {
  databaseUrl: string;
  s3?: { endpoint: string; bucket: string };
  port?: number;
  env?: Record<string, string>;
}): Promise<SharedRegistry> => {
  // The AWS SDK reads credentials from the environment; s3rver accepts these.
  process.env['AWS_ACCESS_KEY_ID'] ??= 'S3RVER';
  process.env['AWS_SECRET_ACCESS_KEY'] ??= 'S3RVER';
  const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-registry-'));
  const env = (port: number): Record<string, string> => ({
    TRAINYARD_DATA_DIR: dataDir,
    DATABASE_URL: options.databaseUrl,
    PORT: String(port),
    ...options.env,
    ...(options.s3 ? { ARTIFACT_STORE: `s3://${options.s3.bucket}/registry`, S3_ENDPOINT: options.s3.endpoint, S3_FORCE_PATH_STYLE: 'true' } : {}),
  });
  const registry = { dataDir } as SharedRegistry;
  const start = async (port: number): Promise<void> => {
    registry.server = await startServer(loadConfig(env(port)), quiet);
    registry.url = registry.server.url;
    registry.port = registry.server.port;
  };
  await start(options.port ?? 0);
  registry.restart = async () => {
    await registry.server.close();
    await start(registry.port);
  };
  registry.stop = async () => {
    await registry.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return registry;
};
