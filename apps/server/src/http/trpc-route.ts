import type { IncomingMessage } from 'node:http';
import { appRouter, type ApiContext } from '@trainyard/api';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { type Route, sendJson } from './http-host';

/** The most calls one batched request may carry (our client splits larger batches: `maxItems`). */
export const MAX_BATCH_CALLS = 50;

/** How many calls a `/trpc/a,b,c?batch=1` request carries (1 when it is not a batch). */
export const trpcCallCount = (url: string | undefined): number => {
  const [path = '', query = ''] = (url ?? '').split('?');
  return new URLSearchParams(query).get('batch') === '1' ? path.split(',').length : 1;
};

/** `context` builds each request's context from the request (its authenticated caller). */
export const trpcRoute = (context: (request: IncomingMessage) => ApiContext, maxBodyBytes: number): Route => {
  const handler = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: ({ req }) => context(req),
    // Enforced while streaming too, so a chunked body without Content-Length is still capped.
    maxBodySize: maxBodyBytes,
    maxBatchSize: MAX_BATCH_CALLS,
    // Queries may come as POST: our client sends those with a large input (texts to score) in a
    // JSON body, since a GET URL over Node's 16 KiB header limit is refused with 431. A POST still
    // needs application/json (the guard) and, on a browser session, our Origin.
    allowMethodOverride: true,
  });
  return {
    prefix: '/trpc/',
    bodyTypes: ['application/json'],
    maxBodyBytes,
    handle: (request, response) => {
      const calls = trpcCallCount(request.url);
      // tRPC's own maxBatchSize (above) answers a bare "Batch call exceeds maximum size"; this says what to do.
      if (calls > MAX_BATCH_CALLS) {
        response.setHeader('connection', 'close');
        return sendJson(response, 400, {
          error: { message: `A batch request may carry at most ${MAX_BATCH_CALLS} calls; this one has ${calls}. Send them in smaller batches.` },
        });
      }
      return handler(request, response);
    },
  };
};
