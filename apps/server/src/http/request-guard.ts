import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '@trainyard/api';

export interface GuardPolicy {
  /** Exact `Host` header values accepted (DNS-rebinding defence); null accepts any (shared registry: no ambient credentials). */
  allowedHosts: ReadonlySet<string> | null;
  /** Exact `Origin` values accepted when a browser sends one. */
  allowedOrigins: ReadonlySet<string>;
  /** Who the bearer token belongs to, or undefined when it is not valid. */
  authenticate(token: string): Promise<Principal | undefined>;
}

export type GuardVerdict = { ok: true; principal: Principal } | { ok: false; status: 401 | 403 | 415; message: string };

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const loopbackHosts = (port: number): Set<string> =>
  new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);

export const loopbackOrigins = (port: number): Set<string> =>
  new Set([...loopbackHosts(port)].map((host) => `http://${host}`));

const mediaType = (header: string | undefined): string =>
  (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

const bearerToken = (header: string | undefined): string | undefined => {
  const match = /^Bearer ([\x21-\x7e]{1,1024})$/.exec(header ?? '');
  return match?.[1];
};

/**
 * Every request passes here before any handler runs. `bodyTypes` are the media types the
 * route accepts for requests with a body; none of the CORS-safelisted types (text/plain,
 * form encodings) is ever allowed, so a foreign page cannot post to us without a preflight.
 */
export const checkRequest = async (
  request: { method: string; headers: IncomingHttpHeaders },
  policy: GuardPolicy,
  bodyTypes: readonly string[],
): Promise<GuardVerdict> => {
  const host = request.headers.host;
  if (!host || (policy.allowedHosts && !policy.allowedHosts.has(host.toLowerCase()))) {
    return { ok: false, status: 403, message: 'Forbidden host' };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !policy.allowedOrigins.has(origin.toLowerCase())) {
    return { ok: false, status: 403, message: 'Forbidden origin' };
  }
  const token = bearerToken(request.headers.authorization);
  const principal = token ? await policy.authenticate(token) : undefined;
  if (!principal) {
    return { ok: false, status: 401, message: 'Missing or invalid bearer token' };
  }
  if (BODY_METHODS.has(request.method) && !bodyTypes.includes(mediaType(request.headers['content-type']))) {
    return { ok: false, status: 415, message: `Unsupported content type; expected ${bodyTypes.join(' or ')}` };
  }
  return { ok: true, principal };
};
