import { randomBytes } from 'node:crypto';
import type { ApiContext, Logger } from '@trainyard/api';
import { constantTimeEquals } from '@trainyard/core';
import { openDatabase } from '@trainyard/db';
import type { ServerConfig } from './config';
import { blobRoute } from './http/blob-route';
import { createHttpHost } from './http/http-host';
import { importRoute } from './http/import-route';
import { type GuardPolicy, loopbackHosts, loopbackOrigins } from './http/request-guard';
import { trpcRoute } from './http/trpc-route';
import { acquireDataDirLock } from './runtime/data-dir-lock';
import { createStderrLogger } from './runtime/logger';
import { removeSessionFile, writeSessionFile } from './runtime/session-file';
import { createServices } from './wiring';

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** The composition root: the only place concrete adapters are wired together. */
export const startServer = async (config: ServerConfig, logger: Logger = createStderrLogger()): Promise<RunningServer> => {
  const lock = config.database.kind === 'pglite' ? await acquireDataDirLock(config.dataDir) : undefined;
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
    await lock?.release();
  };
  try {
    const database = await openDatabase(config.database);
    cleanups.push(() => database.close());
    const migration = await database.migrate();
    if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'migrations applied');

    const token = config.token ?? randomBytes(32).toString('base64url');
    const services = await createServices(config, database, logger);
    cleanups.push(() => services.stop());
    const context: ApiContext = { services, logger, actor: 'local' };
    const policyForPort = (port: number): GuardPolicy => ({
      allowedHosts: loopbackHosts(port),
      allowedOrigins: loopbackOrigins(port),
      authenticate: (candidate) => constantTimeEquals(candidate, token),
    });
    const host = createHttpHost(
      [
        trpcRoute(() => context, config.maxBodyBytes),
        blobRoute(services.blobs, logger, config.maxBlobBytes),
        importRoute(database, config.maxBlobBytes),
      ],
      policyForPort,
    );
    const port = await host.listen(config.port, config.host);
    cleanups.push(() => host.close());
    const url = `http://${urlHost(config.host)}:${port}`;
    await writeSessionFile(config.dataDir, { url, token, pid: process.pid });
    cleanups.push(() => removeSessionFile(config.dataDir));
    services.startBackgroundWork();
    return { url, port, token, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
};
