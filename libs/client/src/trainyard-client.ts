import type { AppRouter } from '@trainyard/api';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import superjson from 'superjson';

export interface TrainyardClientOptions {
  /** Server base URL, e.g. http://127.0.0.1:4777 */
  url: string;
  token: string;
  fetch?: typeof fetch;
}

/** A typed client for any Node or browser app; every call is checked against the server's router. */
export const createTrainyardClient = (options: TrainyardClientOptions) =>
  createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${options.url.replace(/\/$/, '')}/trpc`,
        transformer: superjson,
        headers: () => ({ authorization: `Bearer ${options.token}` }),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    ],
  });

export type TrainyardClient = ReturnType<typeof createTrainyardClient>;
