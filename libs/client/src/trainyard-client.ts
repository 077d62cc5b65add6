import type { AppRouter } from '@trainyard/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, retryLink, splitLink, TRPCClientError } from '@trpc/client';
import { EventSource } from 'eventsource';
// The transformer alone, not the contracts' schemas: the client package stays small.
import { wireTransformer } from '@trainyard/contracts/wire-transformer';

export interface TrainyardClientOptions {
  /** Server base URL, e.g. http://127.0.0.1:4777 */
  url: string;
  /**
   * Bearer token. Omit it in a browser page served by Trainyard itself: the page signed in
   * through POST /session and its HttpOnly cookie authenticates every call.
   */
  token?: string;
  fetch?: typeof fetch;
  /** Attempts for a query (reads only) that failed on the network or with 502/503/504; default 3. Mutations are never retried. */
  queryAttempts?: number;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

/**
 * A query whose input would make a URL longer than this travels as a POST body instead (the
 * server allows it: `allowMethodOverride`). Node answers 431 once a request's headers pass
 * 16 KiB, so a GET URL must stay well below that; a batch of small GETs is split at the same
 * length.
 */
export const MAX_QUERY_URL_LENGTH = 6_000;

/** Length of the URL-encoded input a GET would carry (what the batch link puts after `input=`). */
const encodedInputLength = (input: unknown): number =>
  input === undefined ? 0 : encodeURIComponent(JSON.stringify({ 0: wireTransformer.serialize(input) })).length;

/**
 * The tRPC code a non-tRPC failure (the guard's answer, a proxy's page) is given, by HTTP status.
 * The client bundles none of the server's code, so this is its own table; for the statuses a
 * domain code answers with it must agree with libs/core's ERROR_CODES (trainyard-client.test.ts).
 */
export const TRPC_CODE_FOR_STATUS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  408: 'TIMEOUT',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

const STATUS_MESSAGE: Record<number, string> = {
  413: 'The request is larger than the server accepts',
  414: 'The request URL is longer than the server accepts',
  431: 'The request is larger than the server accepts (its URL or headers are too long)',
};

/** A tRPC response (or batch of them) as our server sends it, superjson-encoded. */
const isTrpcBody = (body: unknown): boolean => {
  if (Array.isArray(body)) return true;
  if (typeof body !== 'object' || body === null) return false;
  const error = (body as { error?: unknown }).error;
  return 'result' in body || (typeof error === 'object' && error !== null && 'json' in error);
};

/** The code of a network failure (`ECONNREFUSED`, `ENOTFOUND`, …) when the runtime gives one (Node does, browsers do not). */
const networkCode = (error: unknown): string | undefined => {
  for (let cause: unknown = error, depth = 0; cause && depth < 4; cause = (cause as { cause?: unknown }).cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
};

/**
 * A failed response whose body is not a tRPC answer — Node's bare 431, the guard's
 * `{ error: { message } }`, a proxy's HTML error page — would otherwise surface as "Unexpected
 * end of JSON input" or "Unable to transform response from server". It is turned into a tRPC
 * error with a plain message and the HTTP status (so `trainyardErrorInfo` and the retry rule
 * see it). A request that never reached the server ("fetch failed") is said so, with the URL
 * and the network code; it stays a TypeError, so it is still retried as transient.
 */
const withPlainErrors =
  (fetchImpl: typeof fetch, serverUrl: string, tokenSent: boolean): typeof fetch =>
  async (input, init) => {
    let response: Response;
    try {
      response = await fetchImpl(input, init);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      const code = networkCode(error);
      throw new TypeError(`Could not reach the Trainyard server at ${serverUrl}${code ? ` (${code})` : ''}`, { cause: error });
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (isTrpcBody(body)) return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
    const guardMessage = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
    const plainText = /^text\/plain\b/i.test(response.headers.get('content-type') ?? '') && text.length <= 300 && !text.includes('\n') ? text.trim() : '';
    // With a token, a 401 can only mean the token: wrong, revoked or for another server.
    const reason =
      tokenSent && response.status === 401
        ? 'The server refused the token'
        : typeof guardMessage === 'string'
          ? guardMessage
          : plainText || (STATUS_MESSAGE[response.status] ?? `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    const message = `${reason} (HTTP ${response.status})`;
    const code = TRPC_CODE_FOR_STATUS[response.status] ?? (response.status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
    const error = {
      json: { message, code: response.status >= 500 ? -32603 : -32600, data: { code, httpStatus: response.status, domainCode: null, zodIssues: null } },
    };
    const headers = new Headers(response.headers);
    headers.set('content-type', 'application/json');
    headers.delete('content-length');
    return new Response(JSON.stringify({ error }), { status: response.status, statusText: response.statusText, headers });
  };

/** True when a failure says nothing about the request itself: the server was unreachable or briefly unavailable. */
export const isTransientError = (error: unknown): boolean => {
  if (!(error instanceof TRPCClientError)) return false;
  const status = (error.data as { httpStatus?: number } | undefined)?.httpStatus;
  return status === undefined ? error.cause instanceof TypeError : RETRYABLE_STATUS.has(status);
};

/**
 * A typed client for any Node or browser app; every call is checked against the server's
 * router. Queries are retried with backoff on transient failures (they are reads, so
 * repeating them is safe); mutations are not — use an idempotency key where the API has one.
 * Subscriptions (live job events) use Server-Sent Events; the `eventsource` package is used so
 * the bearer token travels in a header, never in the URL.
 */
export const createTrainyardClient = (options: TrainyardClientOptions) => {
  const base = `${options.url.replace(/\/$/, '')}/trpc`;
  const authorization: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  // Wrapped: a browser's fetch called with another `this` throws "Illegal invocation".
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const callFetch = withPlainErrors(fetchImpl, options.url.replace(/\/$/, ''), Boolean(options.token));
  // With a cookie the browser's own EventSource does; with a token the package sends it as a header.
  const browserEventSource = (globalThis as unknown as { EventSource?: typeof EventSource }).EventSource;
  const attempts = options.queryAttempts ?? 3;
  return createTRPCClient<AppRouter>({
    links: [
      retryLink({
        retry: ({ op, error, attempts: made }) => op.type === 'query' && made < attempts && isTransientError(error),
        retryDelayMs: (attempt) => Math.min(2_000, 100 * 2 ** attempt),
      }),
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: base,
          transformer: wireTransformer,
          ...(options.token || !browserEventSource
            ? {
                EventSource,
                eventSourceOptions: {
                  fetch: (input: string | URL, init?: RequestInit) => fetchImpl(input, { ...init, headers: { ...init?.headers, ...authorization } }),
                },
              }
            : { EventSource: browserEventSource }),
        }),
        false: splitLink({
          // A query with a large input (long texts to score) goes alone, as a POST with a JSON body.
          condition: (op) => op.type === 'query' && op.path.length + encodedInputLength(op.input) > MAX_QUERY_URL_LENGTH,
          true: httpLink({ url: base, transformer: wireTransformer, methodOverride: 'POST', headers: () => authorization, fetch: callFetch }),
          false: httpBatchLink({
            url: base,
            transformer: wireTransformer,
            // The server refuses batches of more than 50 calls (400); larger ones are split here.
            maxItems: 50,
            // GET batches are split before their URL gets long enough for a 431.
            maxURLLength: MAX_QUERY_URL_LENGTH + 2_000,
            headers: () => authorization,
            fetch: callFetch,
          }),
        }),
      }),
    ],
  });
};

export type TrainyardClient = ReturnType<typeof createTrainyardClient>;

export interface TrainyardErrorInfo {
  /** tRPC code: BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, CONFLICT, PRECONDITION_FAILED, ... */
  code: string | null;
  httpStatus: number | null;
  /** The domain's own code (NOT_FOUND, CONFLICT, INVALID_ARGUMENT, INTEGRITY, ...), when the failure came from it. */
  domainCode: string | null;
  /** The domain error's details (e.g. `{ missing: [...] }`), when the failure came from it. */
  details: Record<string, unknown> | null;
  /** Field-level problems of a refused input. */
  issues: Array<{ path: string[]; message: string }>;
  message: string;
}

/** What went wrong with a call, in a shape a program can branch on. */
export const trainyardErrorInfo = (error: unknown): TrainyardErrorInfo => {
  if (!(error instanceof TRPCClientError))
    return { code: null, httpStatus: null, domainCode: null, details: null, issues: [], message: String((error as Error)?.message ?? error) };
  const data = (error.data ?? {}) as {
    code?: string;
    httpStatus?: number;
    domainCode?: string | null;
    details?: Record<string, unknown> | null;
    zodIssues?: Array<{ path: string[]; message: string }> | null;
  };
  // The server's guard (token, host, content type) answers before tRPC does: only the HTTP status is known then.
  const httpStatus = data.httpStatus ?? (error.meta?.['response'] as Response | undefined)?.status ?? null;
  return {
    code: data.code ?? (httpStatus === 401 ? 'UNAUTHORIZED' : httpStatus === 403 ? 'FORBIDDEN' : null),
    httpStatus,
    domainCode: data.domainCode ?? null,
    details: data.details ?? null,
    issues: data.zodIssues ?? [],
    message: error.message,
  };
};

/** What each procedure returns, e.g. `TrainyardOutputs['jobs']['get']`. */
export type TrainyardOutputs = inferRouterOutputs<AppRouter>;
export type TrainyardInputs = inferRouterInputs<AppRouter>;
