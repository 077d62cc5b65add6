import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinProxy {
  url: string;
  /** How many requests each target (by index) was sent. */
  served(): number[];
  close(): Promise<void>;
}

/**
 * A load balancer in front of several server instances, as simple as they come: each HTTP
 * request (not each connection, which keep-alive would pin to one instance) goes to the next
 * target in turn. Bodies stream both ways; the Host header is passed on unchanged.
 */
export const startRoundRobinProxy = async (targets: readonly string[]): Promise<RoundRobinProxy> => {
  if (targets.length === 0) throw new Error('a round-robin proxy needs at least one target');
  const counts = targets.map(() => 0);
  let next = 0;
  const server = createServer((incoming, outgoing) => {
    const index = next;
    next = (next + 1) % targets.length;
    counts[index] = (counts[index] ?? 0) + 1;
    const target = new URL(incoming.url ?? '/', targets[index]);
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
    served: () => [...counts],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
