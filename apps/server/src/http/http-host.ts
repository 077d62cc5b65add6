import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Readable, Transform } from 'node:stream';
import type { Principal } from '@trainyard/api';
import { scopeAllows, type TokenScope } from '@trainyard/contracts';
import { DomainError, httpStatusOf } from '@trainyard/core';
import { checkRequest, type GuardPolicy } from './request-guard';

export interface Route {
  /** Path prefix, e.g. `/trpc/` or `/blobs/`. */
  prefix: string;
  /** Media types accepted for requests with a body. */
  bodyTypes: readonly string[];
  /**
   * Requests whose declared length is larger get 413 before a byte is read; a body without a
   * declared length (chunked) is counted as it arrives by `requestBody`.
   */
  maxBodyBytes: number;
  /** No credentials needed (static UI files, sign-in); Host, Origin and body type are still checked. */
  isPublic?: boolean;
  /**
   * Whether a job-scoped token (a runner's) may call this route at all; the route then checks
   * what it may do itself (principal.job). Every other route refuses such a token with 403.
   */
  acceptsJobTokens?: boolean;
  /** The token scope a request needs (not asked of a job token); tRPC checks per procedure itself. */
  scopeFor?(method: string): TokenScope;
  /** Routes read the raw request target themselves: normalising it is how traversal sneaks in. */
  handle(request: IncomingMessage, response: ServerResponse): void | Promise<void>;
}

const principals = new WeakMap<IncomingMessage, Principal>();
/** The authenticated caller of a request that passed the guard. */
export const principalOf = (request: IncomingMessage): Principal => {
  const principal = principals.get(request);
  if (!principal) throw new Error('request did not pass the guard');
  return principal;
};

const bodyLimits = new WeakMap<IncomingMessage, number>();

/**
 * The request body for a route to read instead of the request itself. It counts bytes as they
 * arrive and fails with PAYLOAD_TOO_LARGE past the route's `maxBodyBytes` — a chunked body
 * declares no length, so the check before reading cannot catch it — and fails when the client
 * hangs up mid-body. It never emits an unhandled 'error' (a client going away must not crash
 * the server); whoever reads it still sees the failure. The route answers PAYLOAD_TOO_LARGE
 * with 413 and `connection: close`, so the rest of the body is never read.
 */
export const requestBody = (request: IncomingMessage): Readable => {
  const limit = bodyLimits.get(request) ?? Number.POSITIVE_INFINITY;
  let received = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received <= limit) return done(null, chunk);
      request.unpipe(body);
      done(new DomainError('PAYLOAD_TOO_LARGE', `Request body larger than ${limit} bytes`, { limit }));
    },
  });
  body.on('error', () => undefined);
  request.on('error', (error) => body.destroy(error));
  const hungUp = (): void => {
    if (!request.complete) body.destroy(new Error('client disconnected mid-body'));
  };
  // The client may have gone while the guard was still checking its token (a database query on a
  // shared server): 'close' has fired already, and a body left waiting would hold every later upload
  // of the same hash (they run one at a time) forever.
  if (request.destroyed || request.socket.destroyed) hungUp();
  else request.on('close', hungUp);
  request.pipe(body);
  return body;
};

/** True when `error` is the body limit of `requestBody` tripping. */
export const isBodyTooLarge = (error: unknown): boolean => error instanceof DomainError && error.code === 'PAYLOAD_TOO_LARGE';

export const sendJson = (response: ServerResponse, status: number, body: unknown): void => {
  const payload = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  response.end(payload);
};

/**
 * A route's DomainError as JSON: the status from libs/core's ERROR_CODES, and `{ error: { code,
 * message, details } }`. A full disk (UNAVAILABLE, reason `disk_full`) is 507 Insufficient
 * Storage here, as it always was on these storage routes. The connection is closed: the rest of
 * a refused upload is not read.
 */
export const sendDomainError = (response: ServerResponse, error: DomainError): void => {
  const status = error.code === 'UNAVAILABLE' && error.details['reason'] === 'disk_full' ? 507 : httpStatusOf(error.code);
  response.setHeader('connection', 'close');
  sendJson(response, status, { error: { code: error.code, message: error.message, details: error.details } });
};

const reject = (response: ServerResponse, status: number, message: string): void => {
  // The body is not read; closing keeps a client from pushing the rest of a large upload at us.
  response.setHeader('connection', 'close');
  sendJson(response, status, { error: { message } });
};

/** Whether an authenticated request may go ahead now, or in how many seconds it may be retried (429). */
export type Admission = (request: IncomingMessage, principal: Principal) => { retryAfterSeconds: number; message: string } | undefined;

export interface HttpHost {
  server: Server;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Node's HTTP server with the security guard in front of every route. No CORS headers, ever.
 * The policy depends on the port actually bound (PORT=0 picks a random one).
 */
export const createHttpHost = (routes: readonly Route[], policyForPort: (port: number) => GuardPolicy, admit?: Admission): HttpHost => {
  let policy: GuardPolicy | undefined;
  const server = createServer((request, response) => {
    if (!policy) return reject(response, 503, 'Server is starting');
    // Routed on the raw target, so `/blobs/../trpc` is not silently normalised into another route.
    const rawPath = (request.url ?? '/').split('?')[0] ?? '/';
    const route = routes.find((candidate) => rawPath.startsWith(candidate.prefix));
    const activePolicy = policy;
    const handle = async (): Promise<void> => {
      const verdict = await checkRequest({ method: request.method ?? 'GET', headers: request.headers }, activePolicy, {
        bodyTypes: route?.bodyTypes ?? ['application/json'],
        isPublic: route?.isPublic ?? false,
      });
      if (!verdict.ok) return reject(response, verdict.status, verdict.message);
      if (!route) return reject(response, 404, 'Not found');
      const job = verdict.principal?.job;
      if (job && !route.acceptsJobTokens) return reject(response, 403, 'A job token may only be used by its job’s runner (the runner and blob routes)');
      const needed = job ? undefined : route.scopeFor?.(request.method ?? 'GET');
      const held = verdict.principal?.scope;
      if (needed && (!held || !scopeAllows(held, needed))) return reject(response, 403, `This token's scope (${held}) does not allow this; it needs ${needed}`);
      const refused = verdict.principal && admit?.(request, verdict.principal);
      if (refused) {
        response.setHeader('retry-after', String(refused.retryAfterSeconds));
        return reject(response, 429, refused.message);
      }
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > route.maxBodyBytes) return reject(response, 413, `Request body larger than ${route.maxBodyBytes} bytes`);
      if (verdict.principal) principals.set(request, verdict.principal);
      bodyLimits.set(request, route.maxBodyBytes);
      await route.handle(request, response);
    };
    handle().catch((error: unknown) => {
      if (!response.headersSent) reject(response, 500, 'Internal server error');
      else response.destroy(error instanceof Error ? error : undefined);
    });
  });
  server.headersTimeout = 30_000;
  // Long uploads and SSE streams must not be cut by Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  return {
    server,
    listen: (port, host) =>
      new Promise((resolvePort, fail) => {
        server.once('error', fail);
        server.listen(port, host, () => {
          const bound = (server.address() as AddressInfo).port;
          policy = policyForPort(bound);
          resolvePort(bound);
        });
      }),
    close: () =>
      new Promise((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
};
