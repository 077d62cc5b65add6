import { type ApiContext, createApiContext, type Principal } from '@trainyard/api';
import { createApiTokenService, JOB_TOKEN_PREFIX } from '@trainyard/auth';
import { constantTimeEquals, type Logger } from '@trainyard/core';
import { sessionCookieName } from '@trainyard/contracts';
import { openDatabase } from '@trainyard/db';
import type { ServerConfig } from './config';
import { backupRoute } from './http/backup-route';
import { blobBatchReadRoute, blobBatchRoute } from './http/blob-batch-route';
import { blobRoute } from './http/blob-route';
import { type Admission, createHttpHost, principalOf } from './http/http-host';
import { createRateLimiter } from './http/rate-limit';
import { importRoute } from './http/import-route';
import { runnerRoute } from './http/runner-route';
import { type GuardPolicy, loopbackHosts, loopbackOrigins } from './http/request-guard';
import { trpcCallCount, trpcRoute } from './http/trpc-route';
import { uploadRoute } from './http/upload-route';
import { sessionRoute } from './http/session-route';
import { staticRoute } from './http/static-route';
import { removeStaleBackupStaging } from './backup/write-backup';
import { acquireDataDirLock } from './runtime/data-dir-lock';
import { createStderrLogger } from './runtime/logger';
import { removeSessionFile, writeSessionFile } from './runtime/session-file';
import { loadOrCreateSessionToken } from './runtime/session-token';
import { createServices, startBackground } from './wiring';

export interface RunningServer {
  url: string;
  port: number;
  /** The session token (local mode); empty for a shared server, which takes API tokens only. */
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
    if (lock) await removeStaleBackupStaging(config.dataDir);
    const migration = await database.migrate();
    if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'migrations applied');

    const shared = config.mode === 'shared';
    const token = shared ? '' : (config.token ?? (await loadOrCreateSessionToken(config.dataDir)));
    let url = '';
    const services = await createServices(config, database, logger, () => url);
    const background = await startBackground(services, config, logger);
    cleanups.push(() => background.stop());
    const apiTokens = createApiTokenService(database);
    const session: Principal = { actor: 'local', scope: 'admin' };
    // Local: only this run's session token. Shared: only API tokens (scoped, revocable).
    const authenticateUser = shared
      ? (candidate: string) => apiTokens.authenticate(candidate)
      : async (candidate: string) => (constantTimeEquals(candidate, token) ? session : undefined);
    // In either mode, also the job tokens of runners (docs/runner.md): the host lets them reach the runner and blob routes only.
    const authenticate = async (candidate: string): Promise<Principal | undefined> => {
      if (!candidate.startsWith(JOB_TOKEN_PREFIX)) return authenticateUser(candidate);
      const scope = await services.runners.tokens.authenticate(candidate);
      return scope && { actor: `job:${scope.jobId}`, scope: 'read', tokenId: scope.tokenId, job: scope };
    };
    const policyForPort = (port: number): GuardPolicy => ({
      allowedHosts: shared ? null : loopbackHosts(port),
      allowedOrigins: loopbackOrigins(port),
      authenticate,
      sessionCookie: sessionCookieName(port),
    });
    const contextFor = (request: import('node:http').IncomingMessage): ApiContext => createApiContext(services, principalOf(request), logger);
    // Shared server: each API token gets a token bucket; a batch costs one per call, an upload one.
    const limiter = shared && config.rateLimit ? createRateLimiter(config.rateLimit) : undefined;
    const admit: Admission | undefined =
      limiter &&
      ((request, principal) => {
        if (!principal.tokenId) return undefined;
        const path = request.url ?? '';
        const wait = limiter.take(principal.tokenId, path.startsWith('/trpc/') ? trpcCallCount(path) : 1);
        return wait === 0
          ? undefined
          : {
              retryAfterSeconds: wait,
              message: `Too many requests for this token (limit ${config.rateLimit?.perSecond}/s, burst ${config.rateLimit?.burst}); retry after ${wait} s`,
            };
      });
    // The sign-in cookie is named for the port actually bound (PORT=0 picks one at listen).
    let boundPort = 0;
    const host = createHttpHost(
      [
        trpcRoute(contextFor, config.maxBodyBytes),
        blobRoute(services.blobs, logger, config.maxBlobBytes),
        runnerRoute(services.runners.hub, logger),
        importRoute(database, config.maxBlobBytes),
        uploadRoute(services.exchange, logger, 1024 ** 3),
        // Before /blob-batches, which would claim its path by prefix.
        blobBatchReadRoute(services.exchange, logger),
        blobBatchRoute(services.exchange, logger),
        // A local data dir only: a shared server's PostgreSQL and S3 are backed up with their own tools.
        ...(!shared && config.database.kind === 'pglite' && config.artifactStore.kind === 'filesystem'
          ? [backupRoute({ database, blobRoot: config.artifactStore.root, dataDir: config.dataDir }, logger)]
          : []),
        // A browser signs in with the session token or an API token, never a job token.
        sessionRoute(authenticateUser, () => sessionCookieName(boundPort)),
        // Last: it answers every path no other route claims.
        staticRoute(config.webDir),
      ],
      policyForPort,
      admit,
    );
    const port = await host.listen(config.port, config.host);
    boundPort = port;
    cleanups.push(() => host.close());
    url = `http://${urlHost(config.host)}:${port}`;
    if (!shared) {
      await writeSessionFile(config.dataDir, { url, token, pid: process.pid });
      cleanups.push(() => removeSessionFile(config.dataDir));
    }
    background.afterListen();
    return { url, port, token, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
};
