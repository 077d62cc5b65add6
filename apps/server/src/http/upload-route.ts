import type { Logger } from '@trainyard/api';
import { isDomainError } from '@trainyard/core';
import type { RegistryExchangeService } from '@trainyard/sync';
import { requestBody, type Route, sendJson } from './http-host';

// Matched on the raw target: our own session id (a UUID) and a part number, nothing else.
const PART_PATH = /^\/uploads\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/([1-9]\d{0,4})$/;
const STATUS_FOR_CODE: Record<string, number> = { INVALID_ARGUMENT: 400, NOT_FOUND: 404, FAILED_PRECONDITION: 409, PAYLOAD_TOO_LARGE: 413, UNAVAILABLE: 507 };

/** PUT /uploads/<session>/<part>: one part of a resumable upload, when blobs live on this server's disk. */
export const uploadRoute = (exchange: RegistryExchangeService, logger: Logger, maxPartBytes: number): Route => ({
  prefix: '/uploads/',
  bodyTypes: ['application/octet-stream'],
  maxBodyBytes: maxPartBytes,
  scopeFor: () => 'write',
  async handle(request, response) {
    const match = PART_PATH.exec(request.url ?? '');
    if (!match?.[1] || !match[2]) return sendJson(response, 400, { error: { message: 'Expected PUT /uploads/<session id>/<part number>' } });
    if (request.method !== 'PUT') return sendJson(response, 405, { error: { message: 'Use PUT' } });
    // Counted against the limit, and never an uncaught 'error' when the client hangs up before
    // receivePart starts reading (it looks the session up first): see requestBody.
    const body = requestBody(request);
    try {
      const etag = await exchange.receivePart(match[1], Number(match[2]), body);
      response.setHeader('etag', etag);
      sendJson(response, 200, { etag });
    } catch (error) {
      if (!request.complete && request.socket.destroyed) return;
      if (!isDomainError(error)) throw error;
      logger.info({ session: match[1], part: match[2], err: error.message }, 'upload part refused');
      response.setHeader('connection', 'close');
      sendJson(response, STATUS_FOR_CODE[error.code] ?? 400, { error: { code: error.code, message: error.message } });
    }
  },
});
