import { pipeline } from 'node:stream/promises';
import { isDomainError, type Logger } from '@trainyard/core';
import { backupSummary } from '../backup/backup-manifest';
import { type BackupSource, prepareBackup } from '../backup/write-backup';
import { type Route, sendDomainError, sendJson } from './http-host';

/** The header carrying the backup's counts (tables, rows, blobs, bytes), known before the archive streams. */
export const BACKUP_SUMMARY_HEADER = 'x-trainyard-backup-summary';

/**
 * GET /backup: a backup of this local server's data dir, streamed as a tar archive (`trainyard
 * backup` downloads it while the server runs; the data dir is locked to this process). Admin
 * scope; the request names nothing, so nothing from it reaches a path.
 */
export const backupRoute = (source: BackupSource, logger: Logger): Route => ({
  prefix: '/backup',
  scopeFor: () => 'admin',
  bodyTypes: [],
  maxBodyBytes: 0,
  async handle(request, response) {
    if (request.url !== '/backup') return sendJson(response, 404, { error: { message: 'Not found' } });
    if (request.method !== 'GET') return sendJson(response, 405, { error: { message: 'Use GET' } });
    let prepared;
    try {
      prepared = await prepareBackup(source);
    } catch (error) {
      if (isDomainError(error)) return sendDomainError(response, error);
      throw error;
    }
    response.writeHead(200, {
      'content-type': 'application/x-tar',
      'cache-control': 'no-store',
      [BACKUP_SUMMARY_HEADER]: JSON.stringify(backupSummary(prepared.manifest)),
    });
    // A failure mid-stream cuts the response short: the client sees an incomplete body, never a short archive as complete.
    await pipeline(prepared.archive, response).catch((err: unknown) => {
      logger.error({ err }, 'backup stream failed');
      response.destroy();
    });
  },
});
