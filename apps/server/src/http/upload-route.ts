import { isDomainError, type Logger } from '@trainyard/core';
import type { ExchangeService } from '@trainyard/exchange';
import { requestBody, type Route, sendDomainError, sendJson } from './http-host';

// Matched on the raw target: our own session id (a UUID) and a part number, nothing else.
const PART_PATH = /^\/uploads\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/([1-9]\d{0,4})$/;

/** PUT /uploads/<session>/<part>: one part of a resumable upload, when blobs live on this server's disk. */
export const uploadRoute = (exchange: ExchangeService, logger: Logger, maxPartBytes: number): Route => ({
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
      sendDomainError(response, error);
    }
  },
});
