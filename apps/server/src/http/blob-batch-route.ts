import { BLOB_BATCH_LIMITS } from '@trainyard/contracts';
import { isDomainError, type Logger } from '@trainyard/core';
import type { ExchangeService } from '@trainyard/exchange';
import { requestBody, type Route, sendDomainError, sendJson } from './http-host';

/**
 * POST /blob-batches: many small blobs in one request (a manifest line, then their bytes; see
 * BLOB_BATCH_LIMITS in libs/contracts). The body limit is the manifest's plus the batch's bytes.
 */
export const blobBatchRoute = (exchange: ExchangeService, logger: Logger): Route => ({
  prefix: '/blob-batches',
  bodyTypes: ['application/octet-stream'],
  maxBodyBytes: BLOB_BATCH_LIMITS.manifestBytes + 1 + BLOB_BATCH_LIMITS.maxBytes,
  scopeFor: () => 'write',
  async handle(request, response) {
    if (request.url !== '/blob-batches') return sendJson(response, 404, { error: { message: 'Expected POST /blob-batches' } });
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      return sendJson(response, 405, { error: { message: 'Use POST' } });
    }
    // Counted against the limit, and never an uncaught 'error' when the client hangs up: see requestBody.
    const body = requestBody(request);
    try {
      sendJson(response, 200, await exchange.receiveBlobBatch(body));
    } catch (error) {
      if (!request.complete && request.socket.destroyed) return; // the client went away mid-batch
      if (!isDomainError(error)) throw error;
      logger.info({ err: error.message }, 'blob batch refused');
      sendDomainError(response, error);
    }
  },
});
