import { Readable } from 'node:stream';
import { json } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { BLOB_BATCH_LIMITS, blobBatchReadInput } from '@trainyard/contracts';
import { DomainError, isDomainError, type Logger } from '@trainyard/core';
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

/**
 * POST /blob-batches/read: the bytes of up to BLOB_BATCH_LIMITS.maxBlobs small blobs, one after
 * another in the order asked (JSON `{ hashes }`), each verified before it is sent. A blob found
 * corrupt mid-way cuts the answer short of its Content-Length, as GET /blobs does.
 */
export const blobBatchReadRoute = (exchange: ExchangeService, logger: Logger): Route => ({
  prefix: '/blob-batches/read',
  bodyTypes: ['application/json'],
  maxBodyBytes: BLOB_BATCH_LIMITS.manifestBytes,
  scopeFor: () => 'read',
  async handle(request, response) {
    if (request.url !== '/blob-batches/read') return sendJson(response, 404, { error: { message: 'Expected POST /blob-batches/read' } });
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      return sendJson(response, 405, { error: { message: 'Use POST' } });
    }
    let blobs: AsyncIterable<Buffer>;
    try {
      const parsed = blobBatchReadInput.safeParse(await json(requestBody(request)).catch(() => undefined));
      if (!parsed.success) throw new DomainError('INVALID_ARGUMENT', `Expected { hashes: [1 to ${BLOB_BATCH_LIMITS.maxBlobs} sha256 hashes] }`);
      const batch = await exchange.readBlobBatch(parsed.data.hashes);
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': batch.length });
      blobs = batch.blobs;
    } catch (error) {
      if (!request.complete && request.socket.destroyed) return;
      if (!isDomainError(error)) throw error;
      return sendDomainError(response, error);
    }
    try {
      await pipeline(Readable.from(blobs), response);
    } catch (error) {
      // Headers are gone: cutting the answer short is how the client learns the bytes were bad.
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'blob batch read cut short');
      response.destroy();
    }
  },
});
