import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy: each request goes to the server `targetOf` names for it (which may
 * also watch the request, its body included), bodies stream both ways, the Host header is
 * passed on unchanged. A client gone early cancels the upstream request.
 */
export const startHttpProxy = async (targetOf: (incoming: IncomingMessage) => string): Promise<HttpProxy> => {
  const server = createServer((incoming, outgoing) => {
    const target = new URL(incoming.url ?? '/', targetOf(incoming));
    const upstream = httpRequest(target, { method: incoming.method, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
      answer.pipe(outgoing);
    });
    upstream.on('error', () => (outgoing.headersSent ? outgoing.destroy() : outgoing.writeHead(502).end()));
    incoming.on('aborted', () => upstream.destroy());
    incoming.pipe(upstream);
  });
  // The default (5 s) would cut clients that keep a connection idle between pushes.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
