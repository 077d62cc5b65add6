import { appRouter, type ApiContext } from '@trainyard/api';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { Route } from './http-host';

export const trpcRoute = (context: () => ApiContext, maxBodyBytes: number): Route => {
  const handler = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: context,
    // Enforced while streaming too, so a chunked body without Content-Length is still capped.
    maxBodySize: maxBodyBytes,
  });
  return {
    prefix: '/trpc/',
    bodyTypes: ['application/json'],
    maxBodyBytes,
    handle: (request, response) => handler(request, response),
  };
};
