import type { AppRouter } from '@trainyard/api';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';

export interface TrainyardClientOptions {
  /** Server base URL, e.g. http://127.0.0.1:4777 */
  url: string;
  token: string;
  fetch?: typeof fetch;
}

/**
 * A typed client for any Node or browser app; every call is checked against the server's
 * router. Subscriptions (live job events) use Server-Sent Events; the `eventsource` package
 * is used so the bearer token travels in a header, never in the URL.
 */
export const createTrainyardClient = (options: TrainyardClientOptions) => {
  const base = `${options.url.replace(/\/$/, '')}/trpc`;
  const authorization = `Bearer ${options.token}`;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: base,
          transformer: superjson,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) => fetchImpl(input, { ...init, headers: { ...init?.headers, authorization } }),
          },
        }),
        false: httpBatchLink({
          url: base,
          transformer: superjson,
          headers: () => ({ authorization }),
          fetch: fetchImpl,
        }),
      }),
    ],
  });
};

export type TrainyardClient = ReturnType<typeof createTrainyardClient>;
