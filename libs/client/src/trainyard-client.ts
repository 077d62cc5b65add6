import type { AppRouter } from '@trainyard/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, retryLink, splitLink, TRPCClientError } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';

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
          transformer: superjson,
          ...(options.token || !browserEventSource
            ? { EventSource, eventSourceOptions: { fetch: (input: string | URL, init?: RequestInit) => fetchImpl(input, { ...init, headers: { ...init?.headers, ...authorization } }) } }
            : { EventSource: browserEventSource }),
        }),
        false: httpBatchLink({
          url: base,
          transformer: superjson,
          // The server refuses batches of more than 50 calls (400); larger ones are split here.
          maxItems: 50,
          headers: () => authorization,
          fetch: fetchImpl,
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
  /** Field-level problems of a refused input. */
  issues: Array<{ path: string[]; message: string }>;
  message: string;
}

/** What went wrong with a call, in a shape a program can branch on. */
export const trainyardErrorInfo = (error: unknown): TrainyardErrorInfo => {
  if (!(error instanceof TRPCClientError)) return { code: null, httpStatus: null, domainCode: null, issues: [], message: String((error as Error)?.message ?? error) };
  const data = (error.data ?? {}) as { code?: string; httpStatus?: number; domainCode?: string | null; zodIssues?: Array<{ path: string[]; message: string }> | null };
  // The server's guard (token, host, content type) answers before tRPC does: only the HTTP status is known then.
  const httpStatus = data.httpStatus ?? (error.meta?.['response'] as Response | undefined)?.status ?? null;
  return {
    code: data.code ?? (httpStatus === 401 ? 'UNAUTHORIZED' : httpStatus === 403 ? 'FORBIDDEN' : null),
    httpStatus,
    domainCode: data.domainCode ?? null,
    issues: data.zodIssues ?? [],
    message: error.message,
  };
};

/** What each procedure returns, e.g. `TrainyardOutputs['jobs']['get']`. */
export type TrainyardOutputs = inferRouterOutputs<AppRouter>;
export type TrainyardInputs = inferRouterInputs<AppRouter>;
