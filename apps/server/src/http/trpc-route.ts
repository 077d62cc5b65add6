import type { IncomingMessage } from 'node:http';
import { appRouter, type ApiContext } from '@trainyard/api';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { Route } from './http-host';

/** `context` builds each request's context from the request (its authenticated caller). */
export const trpcRoute = (context: (request: IncomingMessage) => ApiContext, maxBodyBytes: number): Route => {
  const handler = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: ({ req }) => context(req),
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
