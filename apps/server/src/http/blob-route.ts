import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '@trainyard/artifacts';
import { isDomainError, type Logger } from '@trainyard/core';
import { parseByteRange } from './byte-range';
import { principalOf, requestBody, type Route, sendDomainError, sendJson } from './http-host';

// Matched against the raw request target, before any URL normalisation: `..`, encoded
// slashes, double encoding, backslashes, query strings and fragments all simply fail to match.
const BLOB_PATH = /^\/blobs\/sha256\/([0-9a-f]{64})$/;

const blobHeaders = (sha256: string, length: number): Record<string, string | number> => ({
  'content-type': 'application/octet-stream',
  'content-length': length,
  'accept-ranges': 'bytes',
  etag: `"${sha256}"`,
  'cache-control': 'private, max-age=31536000, immutable',
});

const put = async (blobs: BlobStore, sha256: string, request: IncomingMessage, response: ServerResponse): Promise<void> => {
  // The store reads `requestBody`, not the request itself: a rejected body must not destroy the
  // socket before the client has been told why, a chunked body is counted against the limit,
  // and a client hanging up while the store has not started reading (it may first wait for the
  // index, or for another upload of the same hash) is no uncaught 'error'.
  const body = requestBody(request);
  const result = await blobs.put(body, { expectedSha256: sha256 });
  sendJson(response, result.created ? 201 : 200, result);
};

const get = async (blobs: BlobStore, sha256: string, request: IncomingMessage, response: ServerResponse, logger: Logger): Promise<void> => {
  const info = await blobs.stat(sha256);
  if (!info) return sendJson(response, 404, { error: { message: `Blob ${sha256} not found` } });
  const range = parseByteRange(request.headers.range, info.size);
  if (range.kind === 'unsatisfiable') {
    response.writeHead(416, { 'content-range': `bytes */${info.size}` });
    return void response.end();
  }
  const partial = range.kind === 'partial' ? range.range : undefined;
  const length = partial ? partial.end - partial.start + 1 : info.size;
  // Opened before the headers: a blob already known to be corrupt fails here (INTEGRITY → 422),
  // which a client can tell apart from a dropped connection.
  const body =
    request.method === 'HEAD'
      ? undefined
      : await blobs.read(sha256, partial).catch((error: unknown) => {
          if (isDomainError(error) && error.code === 'INTEGRITY') logger.error({ sha256, err: error }, 'corrupt blob detected on read');
          throw error;
        });
  response.writeHead(partial ? 206 : 200, {
    ...blobHeaders(sha256, length),
    ...(partial ? { 'content-range': `bytes ${partial.start}-${partial.end}/${info.size}` } : {}),
  });
  if (!body) return void response.end();
  // Status and length go out now: a client of a corrupt blob then sees a 200/206 that ends
  // short of Content-Length (curl exits 18), not an empty reply, even if the blob is one chunk.
  response.flushHeaders();
  try {
    // The store holds the last chunk back until the whole blob has hashed right: a corrupt
    // blob ends short of Content-Length, then the connection is destroyed.
    await pipeline(body, response);
  } catch (error) {
    // Headers are gone; cutting the connection short is how the client learns the bytes were bad.
    if (isDomainError(error) && error.code === 'INTEGRITY') logger.error({ sha256, err: error }, 'corrupt blob detected on read');
    response.destroy();
  }
};

export const blobRoute = (blobs: BlobStore, logger: Logger, maxBlobBytes: number): Route => ({
  prefix: '/blobs/',
  bodyTypes: ['application/octet-stream'],
  scopeFor: (method) => (method === 'GET' || method === 'HEAD' ? 'read' : 'write'),
  // A runner reads its job's input channels here and uploads its outputs (docs/runner.md).
  acceptsJobTokens: true,
  maxBodyBytes: maxBlobBytes,
  async handle(request, response) {
    const match = BLOB_PATH.exec(request.url ?? '');
    if (!match?.[1]) {
      return sendJson(response, 400, { error: { message: 'Invalid blob address: expected /blobs/sha256/<64 lowercase hex characters>' } });
    }
    const sha256 = match[1];
    // A job token reads only its job's inputs; it may upload (its outputs are registered, and checked, on the runner route).
    const job = principalOf(request).job;
    if (job && request.method !== 'PUT' && !job.readableBlobs.includes(sha256)) {
      return sendJson(response, 403, { error: { message: 'This job token may read only its job’s input blobs' } });
    }
    try {
      if (request.method === 'PUT') return await put(blobs, sha256, request, response);
      if (request.method === 'GET' || request.method === 'HEAD') return await get(blobs, sha256, request, response, logger);
      response.setHeader('allow', 'GET, HEAD, PUT');
      return sendJson(response, 405, { error: { message: 'Method not allowed' } });
    } catch (error) {
      if (!request.complete && request.socket.destroyed) return; // the client went away mid-upload
      if (isDomainError(error)) return sendDomainError(response, error);
      throw error;
    }
  },
});
