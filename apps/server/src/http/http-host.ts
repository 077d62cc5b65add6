import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Principal } from '@trainyard/api';
import type { TokenScope } from '@trainyard/contracts';
import { checkRequest, type GuardPolicy } from './request-guard';

export interface Route {
  /** Path prefix, e.g. `/trpc/` or `/blobs/`. */
  prefix: string;
  /** Media types accepted for requests with a body. */
  bodyTypes: readonly string[];
  /** Requests whose declared length is larger get 413 before a byte is read. */
  maxBodyBytes: number;
  /** No credentials needed (static UI files, sign-in); Host, Origin and body type are still checked. */
  isPublic?: boolean;
  /** The token scope a request needs; tRPC checks per procedure itself. */
  scopeFor?(method: string): TokenScope;
  /** Routes read the raw request target themselves: normalising it is how traversal sneaks in. */
  handle(request: IncomingMessage, response: ServerResponse): void | Promise<void>;
}

const SCOPE_RANK: Record<TokenScope, number> = { read: 1, write: 2, admin: 3 };
export const scopeAllows = (held: TokenScope, needed: TokenScope): boolean => SCOPE_RANK[held] >= SCOPE_RANK[needed];

const principals = new WeakMap<IncomingMessage, Principal>();
/** The authenticated caller of a request that passed the guard. */
export const principalOf = (request: IncomingMessage): Principal => {
  const principal = principals.get(request);
  if (!principal) throw new Error('request did not pass the guard');
  return principal;
};

export const sendJson = (response: ServerResponse, status: number, body: unknown): void => {
  const payload = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  response.end(payload);
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
      const needed = route.scopeFor?.(request.method ?? 'GET');
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
